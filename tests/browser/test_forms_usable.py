"""In a real browser at a laptop's and a phone's size: every control of every form page is
wide enough to use, inside the viewport, and is what a click at its centre reaches.

Each page is also kept as a screenshot (``/tmp/forms-<page>-<width>.png``) to look at.
"""

from datetime import date

import pytest

from postmortems.models import Postmortem
from tests.browser.seen import WIDTHS, assert_accessible, assert_usable
from tests.factories import (
    T0,
    ActionItemFactory,
    IncidentFactory,
    PostmortemFactory,
    ServiceFactory,
    TeamFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = pytest.mark.parametrize("size", WIDTHS.values(), ids=WIDTHS.keys())


@pytest.fixture
def browser_context_args() -> dict:
    return {"timezone_id": "Europe/London", "locale": "en-GB"}


@pytest.fixture
def fay():
    """A facilitator in a team, commanding a resolved incident with a timeline and a draft
    postmortem that has two action items."""
    team = TeamFactory(name="Payments", slug="payments")
    fay = UserFactory(username="fay", first_name="Fay", last_name="Facilitator")
    team.members.add(fay)
    UserFactory(username="owen", first_name="Owen", last_name="Owner-With-A-Long-Surname")
    return fay


@pytest.fixture
def incident(fay):
    incident = IncidentFactory(title="Checkout returns 502", summary="Line one.\nLine two.", commander=fay)
    incident.services.add(ServiceFactory(team=fay.teams.get()))
    TimelineEventFactory(incident=incident, text="5xx alert fired", author=fay)
    return incident


@pytest.fixture
def postmortem(fay, incident):
    postmortem = PostmortemFactory(incident=incident, facilitator=fay)
    postmortem.authors.add(fay)
    ActionItemFactory(postmortem=postmortem, owner=fay, due_date=date(2026, 12, 14), title="Alert on pool saturation")
    ActionItemFactory(postmortem=postmortem, owner=None, due_date=None, title="Load-test the pool settings")
    return postmortem


def seen(page, name: str, size: dict, selector: str | None = None) -> None:
    """Keep a screenshot, then check every control (of ``selector``, else of ``main``)."""
    page.screenshot(path=f"/tmp/forms-{name}-{size['width']}.png", full_page=True)
    if selector:
        assert_usable(page, selector)
    else:
        assert_usable(page)


def controls(scope: str) -> str:
    return ", ".join(f"{scope} {tag}" for tag in ("input:not([type=hidden])", "select", "textarea", "button"))


@SIZES
def test_login(page, live_server, fay, size):
    page.set_viewport_size(size)
    page.goto(f"{live_server.url}/accounts/login/")
    seen(page, "login", size)


@SIZES
def test_declare_an_incident(page, live_server, sign_in, fay, size):
    page.set_viewport_size(size)
    sign_in(fay, next="/incidents/new/")
    seen(page, "declare", size)


@SIZES
def test_edit_an_incident(page, live_server, sign_in, incident, size):
    page.set_viewport_size(size)
    sign_in(incident.commander, next=f"/incidents/{incident.reference}/edit/")
    seen(page, "incident-edit", size)


@SIZES
def test_add_and_edit_a_timeline_event(page, live_server, sign_in, incident, size):
    page.set_viewport_size(size)
    sign_in(incident.commander, next=f"/incidents/{incident.reference}/")
    seen(page, "timeline-add", size, controls("#timeline-add"))
    event = incident.timeline_events.get()
    page.click(f"#event-{event.pk} summary")
    seen(page, "timeline-edit", size, controls(f"#event-{event.pk} form"))


@SIZES
def test_start_a_postmortem(page, live_server, sign_in, incident, size):
    page.set_viewport_size(size)
    sign_in(incident.commander, next=f"/postmortems/start/{incident.reference}/")
    seen(page, "postmortem-start", size)


@SIZES
def test_the_postmortem_editor_with_its_action_items(page, live_server, sign_in, postmortem, size):
    page.set_viewport_size(size)
    sign_in(postmortem.facilitator, next=f"/postmortems/{postmortem.pk}/edit/")
    # Two saved items and the empty one, each with all its fields.
    rows = page.locator("#action-item-rows .action-item-row")
    assert rows.count() == 3
    for index in range(3):
        for field in ("title", "kind", "owner", "team", "due_date", "priority"):
            assert page.locator(f"#id_actions-{index}-{field}").count() == 1
    seen(page, "editor", size)
    assert_accessible(page)
    # A row added by the page's script, and the reason asked for when a due date moves.
    page.click("#add-action-item")
    page.fill("#id_actions-0-due_date", "2027-01-15")
    assert page.locator("#id_actions-0-due_date_reason").is_visible()
    seen(page, "editor-added-row", size, controls("#action-items-editor"))
    page.locator("#action-items-editor").screenshot(path=f"/tmp/forms-editor-items-{size['width']}.png")


@SIZES
def test_the_amendment_page(page, live_server, sign_in, postmortem, size):
    Postmortem.objects.filter(pk=postmortem.pk).update(status="published", published_at=T0)
    page.set_viewport_size(size)
    sign_in(postmortem.facilitator, next=f"/postmortems/{postmortem.pk}/amend/")
    assert page.locator("#action-item-rows .action-item-row").count() == 3
    seen(page, "amend", size)
    assert_accessible(page)


@SIZES
def test_an_action_item(page, live_server, sign_in, postmortem, size):
    item = postmortem.action_items.order_by("id").first()
    page.set_viewport_size(size)
    sign_in(postmortem.facilitator, next=f"/actions/{item.reference}/")
    seen(page, "action-item", size)


@SIZES
def test_email_preferences(page, live_server, sign_in, fay, size):
    page.set_viewport_size(size)
    sign_in(fay, next="/actions/preferences/")
    seen(page, "preferences", size)


@SIZES
def test_a_moved_due_date_asks_why_and_keeps_what_was_typed(page, live_server, sign_in, postmortem, size):
    """The reason box appears once the date moves; saving without a reason shows the error next
    to it, keeps the new date and the other changes, and saves nothing until a reason is given."""
    item = postmortem.action_items.order_by("id").first()
    page.set_viewport_size(size)
    sign_in(postmortem.facilitator, next=f"/postmortems/{postmortem.pk}/edit/")
    assert not page.locator("#id_actions-0-due_date_reason").is_visible()
    page.fill("#id_summary", "A clearer summary.")
    page.fill("#id_actions-0-due_date", "2027-01-15")
    assert page.locator("#id_actions-0-due_date_reason").is_visible()
    with page.expect_navigation():
        page.click("#pm-editor button[name=save]")
    assert "Say why the due date moves." in page.inner_text("#id_actions-0-due_date_reason_errors")
    assert page.input_value("#id_actions-0-due_date") == "2027-01-15"
    assert page.input_value("#id_summary") == "A clearer summary."
    seen(page, "editor-reason-error", size, controls("#action-items-editor"))
    item.refresh_from_db()
    assert item.due_date == date(2026, 12, 14)
    page.fill("#id_actions-0-due_date_reason", "The vendor's fix slipped to January.")
    with page.expect_navigation():
        page.click("#pm-editor button[name=save]")
    assert page.url == f"{live_server.url}/postmortems/{postmortem.pk}/"
    item.refresh_from_db()
    assert item.due_date == date(2027, 1, 15)
    assert item.changes.latest("pk").note == "The vendor's fix slipped to January."
