"""In Chromium at desktop and phone widths: the item page offers "Create GitHub issue", and once
the issue exists it shows its key as a link; the editor's card shows the key too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import browser, browser_context_args, page, sign_in  # noqa: F401 (fixtures)
from tests.browser.seen import WIDTHS, assert_accessible, assert_usable
from tests.factories import ensure_taxonomies
from trackers import services, tasks
from trackers.models import TrackerIssue

from .conftest import make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(target, name: str, **options) -> None:
    """Keep a screenshot of ``target`` (a page or an element) as an artefact in var/screenshots/."""
    folder = Path(os.environ.get("SCREENSHOTS_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(folder / f"{name}.png"), **options)


@pytest.mark.parametrize("width", WIDTHS)
def test_an_owner_creates_the_github_issue_from_the_item_page_and_sees_its_key(
    page,  # noqa: F811 (the fixture)
    live_server,
    sign_in,  # noqa: F811 (the fixture)
    github_api,
    monkeypatch,
    width,
):
    ensure_taxonomies()
    monkeypatch.setattr(tasks.create_tracker_issue, "delay", lambda issue_id: None)  # the test plays the worker
    page.set_viewport_size(WIDTHS[width])
    org = make_org(github_api)
    item = org.item(title="Add a lock timeout to migrations")
    sign_in(org.owner, next=item.get_absolute_url())

    button = page.get_by_role("button", name="Create GitHub issue")
    assert_usable(page, "main .tracker-issue button, main .tracker-issue input:not([type=hidden])")
    assert_accessible(page)
    shot(page, f"trackers-item-before-{width}", full_page=True)
    button.click()
    page.wait_for_selector("text=Creating the GitHub issue")

    services.create_issue(TrackerIssue.objects.get(item=item).pk)
    page.reload()
    link = page.get_by_role("link", name="acme/payments#1347")
    box = link.bounding_box()
    assert box and box["width"] >= 40 and box["height"] >= 10
    assert link.get_attribute("href") == "https://github.com/octocat/Hello-World/issues/1347"
    assert page.get_by_role("button", name="Create GitHub issue").count() == 0
    assert_accessible(page)
    shot(page, f"trackers-item-linked-{width}", full_page=True)

    org.postmortem.status, org.postmortem.published_at = "draft", None  # the editor edits drafts
    org.postmortem.save()
    page.context.clear_cookies()
    sign_in(org.facilitator, next=f"/postmortems/{org.postmortem.pk}/edit/")
    card = page.locator(f'.action-item-row[aria-label="{item.reference}"]')
    assert card.get_by_role("link", name="acme/payments#1347").is_visible()
    assert_accessible(page)
    shot(page, f"trackers-editor-{width}", full_page=True)
    card.screenshot(
        path=str(Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots")) / f"trackers-editor-card-{width}.png")
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_facilitator_creates_the_issue_from_the_editor_and_unsaved_edits_hold_the_button_back(
    page,  # noqa: F811 (the fixture)
    live_server,
    sign_in,  # noqa: F811 (the fixture)
    monkeypatch,
    width,
):
    ensure_taxonomies()
    monkeypatch.setattr(tasks.create_tracker_issue, "delay", lambda issue_id: None)  # no tracker call here
    page.set_viewport_size(WIDTHS[width])
    org = make_org()
    org.postmortem.status, org.postmortem.published_at = "draft", None  # the editor edits drafts
    org.postmortem.save()
    item = org.item(title="Add a lock timeout to migrations")
    editor = f"/postmortems/{org.postmortem.pk}/edit/"
    sign_in(org.facilitator, next=editor)
    card = page.locator(f'.action-item-row[aria-label="{item.reference}"]')
    button = card.get_by_role("button", name="Create GitHub issue")
    assert button.is_enabled()
    assert not card.get_by_text("Save your changes first").is_visible()
    assert_usable(page, f'.action-item-row[aria-label="{item.reference}"] button.tracker-create')
    assert_accessible(page)
    card.scroll_into_view_if_needed()
    shot(card, f"trackers-editor-create-card-{width}")
    shot(page, f"trackers-editor-create-{width}", full_page=True)

    page.fill("#id_summary", "A summary typed and not saved yet")  # an unsaved change holds the button back
    assert button.is_disabled()
    assert card.get_by_text("Save your changes first").is_visible()
    assert_accessible(page)
    shot(card, f"trackers-editor-create-held-{width}")

    page.reload()  # the typed text is dropped by the reload, not by the button
    page.locator(f'.action-item-row[aria-label="{item.reference}"]').get_by_role(
        "button", name="Create GitHub issue"
    ).click()
    page.wait_for_selector(f"text=Creating the GitHub issue for {item.reference}")
    assert page.url == f"{live_server.url}{editor}"
    assert card.get_by_text("GitHub issue: being created").is_visible()
    assert TrackerIssue.objects.get(item=item).requested_by == org.facilitator
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_owners_item_list_shows_the_issue_key_as_a_link(
    page,  # noqa: F811 (the fixture)
    live_server,
    sign_in,  # noqa: F811 (the fixture)
    width,
):
    from .conftest import linked

    ensure_taxonomies()
    page.set_viewport_size(WIDTHS[width])
    org = make_org()
    linked(org, org.item(title="Add a lock timeout to migrations"), number=1347)
    org.item(title="Page the database team on replication lag")
    sign_in(org.owner, next="/actions/")
    link = page.get_by_role("link", name="acme/payments#1347 (GitHub issue)")
    assert link.is_visible()
    assert link.get_attribute("href") == "https://github.com/acme/payments/issues/1347"
    assert_accessible(page)
    shot(page, f"trackers-my-items-{width}", full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_an_editor_sees_why_the_tracker_refused_the_items_last_change_and_tries_again(
    page,  # noqa: F811 (the fixture)
    live_server,
    sign_in,  # noqa: F811 (the fixture)
    monkeypatch,
    width,
):
    from django.utils import timezone

    from .conftest import linked

    ensure_taxonomies()
    pushed = []
    monkeypatch.setattr(tasks.push_tracker_issue, "delay", pushed.append)  # the test plays the worker
    page.set_viewport_size(WIDTHS[width])
    org = make_org()
    item = org.item(title="Add a lock timeout to migrations", status="done", resolution_note="Shipped in #41.")
    refusal = '422 from the tracker: {"message": "Validation Failed", "errors": [{"code": "invalid"}]}'
    issue = linked(org, item, synced_closed=False, push_error=refusal, push_error_at=timezone.now())
    sign_in(org.owner, next=item.get_absolute_url())

    alert = page.locator("main .tracker-push-error")
    assert alert.is_visible()
    assert "GitHub refused this item's last change" in alert.inner_text()
    assert "acme/payments#1347 does not show it" in alert.inner_text()
    assert "Validation Failed" in alert.inner_text()
    assert_usable(page, "main .tracker-push-error button")
    assert_accessible(page)
    alert.scroll_into_view_if_needed()
    shot(page, f"trackers-push-refused-{width}", full_page=True)

    alert.get_by_role("button", name="Try again").click()
    page.wait_for_selector(f"text=Sending {item.reference}'s changes to acme/payments#1347 again.")
    assert pushed == [issue.pk]
    assert page.locator("main .tracker-push-error").count() == 0
    assert_accessible(page)
    shot(page, f"trackers-push-retried-{width}", full_page=True)

    page.context.clear_cookies()
    sign_in(org.outsider, next=item.get_absolute_url())  # may read the item, not change it
    TrackerIssue.objects.filter(pk=issue.pk).update(push_error=refusal)
    page.reload()
    assert page.locator("main .tracker-push-error").count() == 0
