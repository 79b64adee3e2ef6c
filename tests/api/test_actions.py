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


@pytest.mark.parametrize(
    ("role", "status"),
    [("reader", 403), ("owner", 403), ("member", 403), ("facilitator", 201), ("author", 201), ("admin", 201)],
)
def test_the_postmortems_editors_add_items(api, people, org_published, role, status):
    body = {
        "postmortem": org_published.pk,
        "title": "Page on failover",
        "owner": people.owner.pk,
        "due_date": "2026-05-01",
        "amendment_note": "Missed in review.",
    }
    response = api(getattr(people, role)).post(URL, body)
    assert response.status_code == status, response.json()
    assert org_published.action_items.filter(title="Page on failover").exists() is (status == 201)
    if status == 201:
        item = org_published.action_items.get(title="Page on failover")
        assert response.json()["id"] == item.pk and response.json()["reference"] == item.reference
        assert ActionItemChange.objects.get(item=item).created  # the history says "created"


def test_a_new_item_is_checked_like_the_editors(api, people, draft):
    response = api(people.facilitator).post(URL, {"postmortem": draft.pk, "title": "", "due_date": "1900-01-01"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"title", "due_date"}
    assert draft.action_items.count() == 1


def test_an_item_of_a_postmortem_you_cannot_see_is_refused_without_saying_so(api, people, restricted):
    response = api(people.reader).post(URL, {"postmortem": restricted.pk, "title": "x"})
    assert response.status_code == 400 and "postmortem" in response.json()["errors"]
    assert str(restricted.pk) in response.json()["errors"]["postmortem"][0]  # "does not exist", like any id


def test_adding_to_a_published_postmortem_is_an_amendment(api, people, org_published):
    client = api(people.facilitator)
    refused = client.post(URL, {"postmortem": org_published.pk, "title": "Late item"})
    assert refused.status_code == 400 and "amendment_note" in refused.json()["errors"]
    added = client.post(URL, {"postmortem": org_published.pk, "title": "Late item", "amendment_note": "Found later."})
    assert added.status_code == 201
    assert org_published.events.filter(kind="amended", note="Found later.").exists()


@pytest.mark.parametrize(
    ("role", "status"), [("reader", 404), ("owner", 403), ("facilitator", 204), ("author", 204), ("admin", 204)]
)
def test_the_postmortems_editors_delete_items(api, people, draft, role, status):
    item = item_of(draft)
    response = api(getattr(people, role)).delete(detail(item))
    assert response.status_code == status
    assert draft.action_items.filter(pk=item.pk).exists() is (status != 204)


def test_deleting_from_a_published_postmortem_needs_a_note(api, people, org_published):
    item, client = item_of(org_published), api(people.facilitator)
    refused = client.delete(detail(item))
    assert refused.status_code == 400 and "amendment_note" in refused.json()["errors"]
    assert client.delete(detail(item) + "?amendment_note=Duplicate+of+AI-1").status_code == 204
    assert not org_published.action_items.exists()


def test_only_admins_backdate_a_completion(api, people, org_published):
    item = item_of(org_published)
    done = {"status": "done", "resolution_note": "Shipped", "completed_at": "2025-01-02T03:04:05Z"}
    refused = api(people.owner).patch(detail(item), done)
    assert refused.status_code == 400 and "completed_at" in refused.json()["errors"]
    item.refresh_from_db()
    assert item.status == "open"
    response = api(people.admin).patch(detail(item), done)
    assert response.status_code == 200, response.json()
    assert response.json()["completed_at"] == "2025-01-02T03:04:05Z"
    open_again = api(people.admin).patch(detail(item), {"status": "open", "completed_at": "2025-01-02T03:04:05Z"})
    assert open_again.status_code == 400 and "done" in open_again.json()["errors"]["completed_at"][0]
    cleared = api(people.admin).patch(detail(item), {"completed_at": None}, format="json")
    assert cleared.status_code == 400 and "completed_at" in cleared.json()["errors"]
    # The owner sending back what they read sets nothing and is not refused.
    resent = api(people.owner).patch(detail(item), {"title": "Renamed", "completed_at": "2025-01-02T03:04:05Z"})
    assert resent.status_code == 200 and resent.json()["completed_at"] == "2025-01-02T03:04:05Z"


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


def test_an_open_items_empty_completion_time_can_be_sent_back(api, people, org_published):
    item = item_of(org_published)
    read = api(people.owner).get(detail(item)).json()
    response = api(people.owner).patch(detail(item), {"title": "Reworded", "completed_at": read["completed_at"]})
    assert response.status_code == 200 and response.json()["completed_at"] is None
