"""Postmortems over the API: who reads what (restricted hidden, internal sections redacted),
who edits (with the version check), and the review workflow as actions."""

import pytest

from postmortems.models import Postmortem, PostmortemEvent, Review
from tests.api.conftest import INTERNAL_TEXT
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/postmortems/"


def detail(pm) -> str:
    return f"{URL}{pm.pk}/"


def listed(client) -> set[int]:
    return {row["id"] for row in client.get(URL).json()["results"]}


# Reading -----------------------------------------------------------------------------------

# (role, sees it, reads the internal section)
ORG_MATRIX = [
    ("reader", True, False),
    ("owner", True, False),
    ("facilitator", True, True),
    ("member", True, True),
    ("admin", True, True),
]


@pytest.mark.parametrize(("role", "sees", "full"), ORG_MATRIX)
def test_internal_sections_are_null_for_readers_outside_the_teams(api, people, org_published, role, sees, full):
    client = api(getattr(people, role))
    response = client.get(detail(org_published))
    assert response.status_code == 200
    body = response.json()
    if full:
        assert body["root_cause"] == INTERNAL_TEXT and body["redacted_sections"] == []
    else:
        assert body["root_cause"] is None and body["redacted_sections"] == ["root_cause"]
        assert INTERNAL_TEXT not in response.content.decode()
        assert INTERNAL_TEXT not in client.get(URL).content.decode()
        assert INTERNAL_TEXT not in client.get(URL, {"q": "failover"}).content.decode()
    assert body["summary"] == org_published.summary


@pytest.mark.parametrize(
    ("role", "sees"),
    [("reader", False), ("owner", False), ("facilitator", True), ("member", True), ("admin", True)],
)
def test_restricted_postmortems_are_hidden_from_outsiders(api, people, restricted, role, sees):
    client = api(getattr(people, role))
    assert (restricted.pk in listed(client)) is sees
    assert client.get(detail(restricted)).status_code == (200 if sees else 404)
    # Its incident is hidden the same way (the rule the incident pages use).
    assert client.get(f"/api/v1/incidents/{restricted.incident_id}/").status_code == (200 if sees else 404)


@pytest.mark.parametrize(
    ("role", "sees"),
    [("reader", False), ("owner", False), ("member", False), ("facilitator", True), ("admin", True)],
)
def test_drafts_are_read_by_the_people_working_on_them(api, people, draft, role, sees):
    assert api(getattr(people, role)).get(detail(draft)).status_code == (200 if sees else 404)


def test_anonymous_reads_nothing(api, org_published):
    assert api(None).get(detail(org_published)).status_code == 403


def test_the_detail_carries_reviews(api, people, in_review):
    Review.objects.create(postmortem=in_review, reviewer=people.reviewer, decision="approve", postmortem_version=1)
    body = api(people.facilitator).get(detail(in_review)).json()
    assert [(r["reviewer"], r["decision"]) for r in body["reviews"]] == [(people.reviewer.pk, "approve")]


# Starting and editing ---------------------------------------------------------------------


def test_the_incidents_own_people_start_its_postmortem(api, people):
    incident = IncidentFactory()
    incident.services.add(people.service)
    assert api(people.reader).post(URL, {"incident": incident.pk}).status_code == 403  # sees it, may not edit it
    response = api(people.member).post(URL, {"incident": incident.pk})
    assert response.status_code == 201
    assert response.json()["facilitator"] == people.member.pk and response.json()["status"] == "draft"
    again = api(people.lead).post(URL, {"incident": incident.pk})
    assert again.status_code == 400
    assert again.json()["detail"] == "This incident already has a postmortem."


@pytest.mark.parametrize(
    ("role", "status"),
    [("reader", 404), ("owner", 404), ("member", 404), ("reviewer", 403), ("author", 200), ("facilitator", 200),
     ("admin", 200)],
)  # fmt: skip
def test_who_edits_a_draft(api, people, draft, role, status):
    response = api(getattr(people, role)).patch(detail(draft), {"version": 1, "impact": "Checkout down 40 min."})
    assert response.status_code == status
    draft.refresh_from_db()
    assert (draft.impact == "Checkout down 40 min.") is (status == 200)
    if status == 200:
        assert response.json()["version"] == 2 == draft.version
        assert response.json()["impact"] == "Checkout down 40 min."


def test_a_stale_version_is_a_409_and_changes_nothing(api, people, draft):
    client = api(people.author)
    assert client.patch(detail(draft), {"version": 1, "lessons": "First"}).status_code == 200
    response = api(people.facilitator).patch(detail(draft), {"version": 1, "lessons": "Second"})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict" and response.json()["current_version"] == 2
    assert "version 2" in response.json()["detail"]
    draft.refresh_from_db()
    assert draft.lessons == "First" and draft.version == 2


def test_the_version_is_required(api, people, draft):
    response = api(people.facilitator).patch(detail(draft), {"lessons": "x"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"version": ["This field is required."]}


def test_restricting_needs_teams_and_a_partial_edit_keeps_the_saved_ones(api, people, draft):
    client = api(people.facilitator)
    response = client.patch(detail(draft), {"version": 1, "visibility": "restricted", "teams": []})
    assert response.status_code == 400 and "teams" in response.json()["errors"]
    response = client.patch(detail(draft), {"version": 1, "visibility": "restricted"})
    assert response.status_code == 200
    assert response.json()["visibility"] == "restricted" and response.json()["teams"] == [people.team.pk]


def test_put_replaces_sections_and_people(api, people, draft):
    body = {"version": 1, "summary": "New summary", "reviewers": [people.reviewer.pk, people.member.pk]}
    response = api(people.facilitator).put(detail(draft), body)
    assert response.status_code == 200
    assert response.json()["summary"] == "New summary"
    assert set(response.json()["reviewers"]) == {people.reviewer.pk, people.member.pk}


def test_unknown_internal_sections_are_field_errors(api, people, draft):
    response = api(people.facilitator).patch(detail(draft), {"version": 1, "internal_sections": ["secrets"]})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["internal_sections"]


def test_amending_a_published_postmortem_needs_a_note(api, people, org_published):
    client = api(people.facilitator)
    response = client.patch(detail(org_published), {"version": 1, "lessons": "More"})
    assert response.status_code == 400 and "amendment_note" in response.json()["errors"]
    response = client.patch(detail(org_published), {"version": 1, "lessons": "More", "amendment_note": "Typo"})
    assert response.status_code == 200
    assert org_published.events.filter(kind=PostmortemEvent.Kind.AMENDED, note="Typo").exists()


# The workflow --------------------------------------------------------------------------------


def test_submit_approve_publish(api, people, draft):
    assert api(people.author).post(f"{detail(draft)}submit/").json()["status"] == "in_review"
    response = api(people.reviewer).post(f"{detail(draft)}approve/", {"comment": "Good"})
    assert response.status_code == 200
    assert response.json()["reviews"][0]["decision"] == "approve"
    response = api(people.facilitator).post(f"{detail(draft)}publish/")
    assert response.status_code == 200
    assert response.json()["status"] == "published" and response.json()["published_at"]


def test_submit_needs_a_reviewer_and_a_draft(api, people, draft, in_review):
    draft.reviewers.clear()
    response = api(people.facilitator).post(f"{detail(draft)}submit/")
    assert response.status_code == 400
    assert response.json()["detail"] == "Add at least one reviewer before submitting for review."
    response = api(people.facilitator).post(f"{detail(in_review)}submit/")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


@pytest.mark.parametrize(
    ("role", "status"),
    [("reader", 404), ("owner", 404), ("member", 404), ("facilitator", 403), ("reviewer", 200), ("admin", 403)],
)
def test_only_reviewers_review(api, people, in_review, role, status):
    response = api(getattr(people, role)).post(f"{detail(in_review)}approve/", {})
    assert response.status_code == status
    assert Review.objects.filter(postmortem=in_review).exists() is (status == 200)


def test_requesting_changes_needs_a_comment(api, people, in_review):
    client = api(people.reviewer)
    response = client.post(f"{detail(in_review)}request-changes/", {})
    assert response.status_code == 400 and "comment" in response.json()["errors"]
    response = client.post(f"{detail(in_review)}request-changes/", {"comment": "Name the lock."})
    assert response.status_code == 200
    assert response.json()["reviews"][0]["decision"] == "request_changes"


def test_publish_says_what_is_missing(api, people, in_review):
    response = api(people.facilitator).post(f"{detail(in_review)}publish/")
    assert response.status_code == 400
    assert "No reviewer has approved this version (v1) yet." in response.json()["detail"]
    assert Postmortem.objects.get(pk=in_review.pk).status == "in_review"


@pytest.mark.parametrize(("role", "status"), [("author", 403), ("reviewer", 403), ("facilitator", 200), ("admin", 200)])
def test_the_facilitator_or_an_admin_publishes(api, people, in_review, role, status):
    Review.objects.create(postmortem=in_review, reviewer=people.reviewer, decision="approve", postmortem_version=1)
    assert api(getattr(people, role)).post(f"{detail(in_review)}publish/").status_code == status
