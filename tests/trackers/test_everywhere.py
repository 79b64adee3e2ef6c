"""The issue key and link show on the item everywhere (the item lists, the postmortem page, home,
the API), with no query per row; and the postmortem editor offers "Create GitHub issue" without
submitting, or losing, the postmortem being edited."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import UserFactory
from trackers.models import TrackerConnection, TrackerIssue

from .conftest import linked, make_org

pytestmark = pytest.mark.django_db

OVERDUE = date(2026, 1, 5)


@pytest.fixture
def org(db):
    return make_org()


def queries_at(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def list_urls(org) -> dict[str, str]:
    return {
        "my items": reverse("actions:mine"),
        "team items": reverse("actions:team", args=[org.team.slug]),
        "overdue board": reverse("actions:board"),
        "postmortem page": reverse("postmortems:detail", args=[org.postmortem.pk]),
        "home": reverse("home"),
    }


def test_every_item_list_shows_the_issue_key_as_a_link_with_no_query_per_row(org, client):
    linked(org, org.item(title="Add a lock timeout", due_date=OVERDUE), number=7)
    client.force_login(org.owner)
    few = {name: queries_at(client, url) for name, url in list_urls(org).items()}
    for number in range(8, 14):
        linked(org, org.item(due_date=OVERDUE), number=number)
    pending = org.item(due_date=OVERDUE)
    TrackerIssue.objects.create(item=pending, connection=org.connection, requested_by=org.owner)
    for name, url in list_urls(org).items():
        page = client.get(url).content.decode()
        assert '<a class="tracker-key small text-nowrap" href="https://github.com/acme/payments/issues/7"' in page, name
        assert "acme/payments#13" in page, name
        assert "GitHub issue being created" in page, name  # the pending one says so
        # the issue is joined into the rows' query: eight items more cost nothing more
        assert queries_at(client, url) == few[name], name


def test_the_api_shows_each_items_tracker_key_url_and_state_without_a_query_per_row(org, client):
    client.force_login(org.owner)
    plain = org.item()
    linked(org, org.item(), number=21)
    url = "/api/v1/action-items/"
    few = queries_at(client, url)
    for number in range(22, 30):
        linked(org, org.item(), number=number)
    rows = {row["reference"]: row for row in client.get(url, {"page_size": 100}).json()["results"]}
    assert rows[plain.reference]["tracker"] is None
    by_key = {row["tracker"]["key"]: row["tracker"] for row in rows.values() if row["tracker"]}
    assert by_key["acme/payments#21"] == {
        "key": "acme/payments#21", "url": "https://github.com/acme/payments/issues/21", "state": "linked"
    }  # fmt: skip
    assert len(by_key) == 9
    assert queries_at(client, url) == few
    detail = client.get(f"/api/v1/action-items/{plain.pk}/").json()
    assert detail["tracker"] is None
    pm_url = f"/api/v1/postmortems/{org.postmortem.pk}/action-items/"
    assert {row["tracker"]["key"] for row in client.get(pm_url).json()["results"] if row["tracker"]} == set(by_key)


def draft(org):
    org.postmortem.status, org.postmortem.published_at = "draft", None  # the editor edits drafts
    org.postmortem.save()
    return reverse("postmortems:edit", args=[org.postmortem.pk])


def editor_parts(page: str) -> tuple[str, str]:
    """The editor's form, and what follows it (a nested form would end the editor's early)."""
    start = page.index('id="pm-editor"')
    end = page.index("</form>", start)
    return page[start:end], page[end:]


def test_the_editor_offers_create_to_whoever_may_change_the_item_through_a_form_outside_its_own(org, client):
    item = org.item(title="Add a lock timeout")
    done = org.item()
    linked(org, done, number=5)
    url = draft(org)
    client.force_login(org.facilitator)
    inside, after = editor_parts(client.get(url).content.decode())
    button = f'<button type="submit" form="tracker-create-{item.reference}"'
    assert button in inside and "Create GitHub issue" in inside
    assert f'form="tracker-create-{done.reference}"' not in inside  # it has its issue: the key shows
    assert "acme/payments#5" in inside
    assert f'action="/trackers/items/{item.reference}/create/" id="tracker-create-{item.reference}"' in after
    assert f'value="{url}"' in after  # and it comes back to the editor
    assert "<form" not in inside.split(">", 1)[1]  # no form nested in the editor's


def test_an_author_who_may_not_change_the_item_and_a_team_without_tracker_get_no_button(org, client):
    item = org.item()
    url = draft(org)
    author = UserFactory(username="author")
    org.postmortem.authors.add(author)
    client.force_login(author)
    page = client.get(url).content.decode()
    assert item.reference in page and "Create GitHub issue" not in page
    TrackerConnection.objects.all().delete()
    client.force_login(org.facilitator)
    page = client.get(url).content.decode()
    assert item.reference in page and "Create GitHub issue" not in page and "tracker-create-" not in page


def test_the_editors_buttons_cost_a_fixed_number_of_queries(org, client):
    org.item()
    url = draft(org)
    client.force_login(org.facilitator)
    few = queries_at(client, url)
    for _ in range(6):
        org.item()
    assert queries_at(client, url) == few
    assert client.get(url).content.decode().count("Create GitHub issue") == 7


def test_without_javascript_create_posts_and_comes_back_to_the_editor_with_a_message(org, client):
    item = org.item()
    url = draft(org)
    version = org.postmortem.version
    client.force_login(org.facilitator)
    response = client.post(reverse("trackers:create", args=[item.reference]), {"next": url}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    page = response.content.decode()
    assert f"Creating the GitHub issue for {item.reference}" in page
    assert "GitHub issue: being created" in page and "Create GitHub issue" not in page
    assert TrackerIssue.objects.get(item=item).state == "pending"
    org.postmortem.refresh_from_db()
    assert org.postmortem.version == version  # the postmortem was not submitted


def test_create_goes_back_only_to_this_site(org, client):
    item = org.item()
    client.force_login(org.facilitator)
    response = client.post(reverse("trackers:create", args=[item.reference]), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == item.get_absolute_url()


def editor_data(response) -> dict:
    """What the editor's form sends as loaded, unchanged."""
    form, formset = response.context["form"], response.context["formset"]
    data = {}
    for part in (form, formset.management_form, *formset.forms):
        for field in part:
            value = field.value()
            if value not in (None, False):
                data[field.html_name] = value
    return data


def test_an_editor_shown_again_with_unsaved_text_disables_the_button_saying_why(org, client):
    item = org.item()
    url = draft(org)
    client.force_login(org.facilitator)
    data = editor_data(client.get(url))
    data.update(summary="Typed but not saved yet", preview="1")
    page = client.post(url, data).content.decode()
    assert "Not saved yet" in page and "Typed but not saved yet" in page
    button = page[page.index(f'form="tracker-create-{item.reference}"') :].split(">", 1)[0]
    assert "disabled" in button
    hint = page[page.index(f'id="tracker-hint-{item.reference}"') :].split(">", 1)[0]
    assert "hidden" not in hint and "Save your changes first" in page
