"""Action items and notifications over the API: the same read and change rules as the pages."""

from datetime import date

import pytest

from actions.models import ActionItem, ActionItemChange, Notification

pytestmark = pytest.mark.django_db

URL = "/api/v1/action-items/"


def item_of(postmortem) -> ActionItem:
    return postmortem.action_items.get()


def detail(item) -> str:
    return f"{URL}{item.pk}/"


@pytest.mark.parametrize(
    ("role", "restricted_too"),
    [("reader", False), ("owner", True), ("facilitator", True), ("member", True), ("admin", True)],
)
def test_who_reads_items(api, people, org_published, restricted, role, restricted_too):
    client = api(getattr(people, role))
    ids = {row["id"] for row in client.get(URL).json()["results"]}
    assert item_of(org_published).pk in ids
    assert (item_of(restricted).pk in ids) is restricted_too
    assert client.get(detail(item_of(restricted))).status_code == (200 if restricted_too else 404)


def test_anonymous_reads_no_items(api, org_published):
    assert api(None).get(URL).status_code == 403


@pytest.mark.parametrize(
    ("role", "status"),
    [("reader", 403), ("member", 403), ("owner", 200), ("facilitator", 200), ("admin", 200)],
)
def test_who_changes_an_item(api, people, org_published, role, status):
    item = item_of(org_published)
    response = api(getattr(people, role)).patch(detail(item), {"status": "in_progress"})
    assert response.status_code == status
    item.refresh_from_db()
    assert (item.status == "in_progress") is (status == 200)
    if status == 200:
        assert response.json()["status"] == "in_progress" and response.json()["can_edit"] is True
        assert ActionItemChange.objects.filter(item=item, changes__status=["open", "in_progress"]).exists()


def test_the_items_team_lead_changes_it(api, people, org_published):
    item = item_of(org_published)
    item.team = people.team
    item.save()
    assert api(people.lead).patch(detail(item), {"priority": "p1"}).status_code == 200


def test_moving_a_due_date_needs_a_reason(api, people, org_published):
    client = api(people.owner)
    item = item_of(org_published)
    response = client.patch(detail(item), {"due_date": "2026-05-01"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"note": ["Say why the due date moves."]}
    response = client.patch(detail(item), {"due_date": "2026-05-01", "note": "Waiting on the vendor"})
    assert response.status_code == 200 and response.json()["due_date"] == "2026-05-01"


def test_complete_needs_a_resolution_note_then_reopen(api, people, org_published):
    client = api(people.owner)
    item = item_of(org_published)
    response = client.post(f"{detail(item)}complete/", {})
    assert response.status_code == 400 and "resolution_note" in response.json()["errors"]
    response = client.post(
        f"{detail(item)}complete/", {"resolution_note": "Shipped", "evidence_url": "https://git.example/pr/1"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done" and body["completed_at"] and body["evidence_url"] == "https://git.example/pr/1"
    response = client.post(f"{detail(item)}reopen/", {"note": "Regressed"})
    assert response.status_code == 200
    assert response.json()["status"] == "open" and response.json()["completed_at"] is None


def test_a_reader_cannot_complete(api, people, org_published):
    item = item_of(org_published)
    assert api(people.reader).post(f"{detail(item)}complete/", {"resolution_note": "x"}).status_code == 403
    item.refresh_from_db()
    assert item.status == "open"


def test_closing_through_patch_follows_the_same_rules(api, people, org_published):
    response = api(people.owner).patch(detail(item_of(org_published)), {"status": "wont_do"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"resolution_note": ["Give the reason it will not be done."]}


def test_items_are_not_created_or_deleted_here(api, people, org_published):
    assert api(people.admin).post(URL, {"title": "x"}).status_code == 405
    assert api(people.admin).delete(detail(item_of(org_published))).status_code == 405


def test_notifications_are_the_users_own(api, people, org_published):
    mine = Notification.objects.create(
        recipient=people.owner,
        recipient_email="owner@example.com",
        kind="reminder",
        subject_key="AI-0001",
        period_key=str(date(2026, 3, 20)),
        subject="AI-0001 is overdue",
        body_text="Owen, AI-0001 is overdue.",
    )
    theirs = Notification.objects.create(
        recipient=people.reader, recipient_email="reader@example.com", kind="digest", period_key="2026-W12",
        body_text="Rita's digest",
    )  # fmt: skip
    client = api(people.owner)
    listing = client.get("/api/v1/notifications/")
    assert [row["id"] for row in listing.json()["results"]] == [mine.pk]
    assert "body_text" not in listing.json()["results"][0]
    assert client.get(f"/api/v1/notifications/{mine.pk}/").json()["body_text"] == "Owen, AI-0001 is overdue."
    assert client.get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404
    assert "Rita" not in client.get("/api/v1/notifications/").content.decode()
    assert api(people.admin).get("/api/v1/notifications/").json()["count"] == 0
    assert client.post("/api/v1/notifications/", {}).status_code == 405
