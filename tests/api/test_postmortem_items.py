"""A postmortem's action items through /api/v1/postmortems/{id}/action-items/, action items sent
inside a postmortem edit (a 400, never silently dropped), and the historical times only admins set."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry

from tests.api.conftest import INTERNAL_TEXT

pytestmark = pytest.mark.django_db


def items_url(postmortem) -> str:
    return f"/api/v1/postmortems/{postmortem.pk}/action-items/"


def test_the_items_of_a_postmortem_you_read(api, people, org_published, restricted):
    rows = api(people.reader).get(items_url(org_published)).json()["results"]
    assert [row["title"] for row in rows] == ["Alert on failover key expiry"]
    assert rows[0]["incident"] == org_published.incident.pk
    # A restricted postmortem's items are as absent as the postmortem itself.
    assert api(people.reader).get(items_url(restricted)).status_code == 404
    assert api(people.reader).post(items_url(restricted), {"title": "x"}).status_code == 404
    assert api(people.member).get(items_url(restricted)).json()["count"] == 1


def test_the_facilitator_adds_an_item_to_a_draft(api, people, draft):
    response = api(people.facilitator).post(items_url(draft), {"title": "Rotate keys monthly", "priority": "p1"})
    assert response.status_code == 201, response.json()
    assert response.json()["postmortem"] == draft.pk and response.json()["priority"] == "p1"
    assert draft.action_items.filter(title="Rotate keys monthly").exists()
    assert api(people.owner).post(items_url(draft), {"title": "x"}).status_code == 404  # cannot read the draft
    assert api(people.reviewer).post(items_url(draft), {"title": "x"}).status_code == 403


def test_items_inside_a_postmortem_edit_are_a_400_not_ignored(api, people, draft):
    body = {"version": draft.version, "summary": "New summary", "action_items": [{"title": "Sneaked in"}]}
    response = api(people.facilitator).patch(f"/api/v1/postmortems/{draft.pk}/", body, format="json")
    assert response.status_code == 400
    assert "/action-items/" in response.json()["errors"]["action_items"][0]
    draft.refresh_from_db()
    assert draft.summary != "New summary" and draft.action_items.count() == 1


@pytest.mark.parametrize("field", ["published_at", "submitted_at", "due_date"])
def test_only_admins_set_historical_times(api, people, org_published, field):
    value = "2024-02-03" if field == "due_date" else "2024-02-03T04:05:06Z"
    url = f"/api/v1/postmortems/{org_published.pk}/"
    refused = api(people.facilitator).patch(url, {"version": org_published.version, field: value})
    assert refused.status_code == 400
    assert refused.json()["errors"][field] == [
        "Only admins set this (to record history); otherwise the server sets it."
    ]
    response = api(people.admin).patch(url, {"version": org_published.version, field: value})
    assert response.status_code == 200, response.json()
    assert response.json()[field] == value
    assert LogEntry.objects.get(action_flag=CHANGE).change_message == f"Set {field} through the API."


def test_a_published_postmortem_keeps_a_publication_time(api, people, org_published):
    url = f"/api/v1/postmortems/{org_published.pk}/"
    response = api(people.admin).patch(url, {"version": org_published.version, "published_at": None}, format="json")
    assert response.status_code == 400 and "published_at" in response.json()["errors"]
    org_published.refresh_from_db()
    assert org_published.published_at is not None


def test_a_stale_version_is_refused_for_times_too(api, people, org_published):
    url = f"/api/v1/postmortems/{org_published.pk}/"
    body = {"version": org_published.version - 1 or 99, "published_at": "2024-02-03T04:05:06Z"}
    assert api(people.admin).patch(url, body).status_code == 409


def test_new_items_never_show_internal_text(api, people, org_published):
    body = {"title": "Follow up", "amendment_note": "Added."}
    response = api(people.facilitator).post(items_url(org_published), body)
    assert response.status_code == 201
    assert INTERNAL_TEXT not in response.content.decode()
    assert INTERNAL_TEXT not in api(people.reader).get(items_url(org_published)).content.decode()


def test_sending_back_the_stored_times_is_not_setting_them(api, people, org_published):
    url = f"/api/v1/postmortems/{org_published.pk}/"
    client = api(people.facilitator)
    read = client.get(url).json()
    body = {"version": read["version"], "summary": "Edited by a script"}
    body |= {name: read[name] for name in ["due_date", "submitted_at", "published_at"]}
    response = client.patch(url, {**body, "amendment_note": "Typo."})
    assert response.status_code == 200, response.json()
    assert response.json()["summary"] == "Edited by a script"
    assert response.json()["published_at"] == read["published_at"]
    assert not LogEntry.objects.exists()
