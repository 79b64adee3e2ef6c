"""Incidents, their timeline and the taxonomies over the API."""

import pytest

from incidents.models import Incident, SeverityChange, TimelineEvent
from tests.factories import T0, IncidentFactory, TimelineEventFactory, cause, severity

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/"


def test_the_taxonomies_and_people_are_listed(api, people):
    client = api(people.reader)
    assert [s["name"] for s in client.get("/api/v1/severities/").json()["results"]] == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert "deploy" in {c["slug"] for c in client.get("/api/v1/cause-categories/").json()["results"]}
    team = client.get(f"/api/v1/teams/{people.team.pk}/").json()
    assert team["slug"] == "payments" and set(team["members"]) == {people.member.pk, people.lead.pk}
    assert client.get("/api/v1/services/", {"team": "payments"}).json()["results"][0]["slug"] == "checkout"
    users = client.get("/api/v1/users/", {"q": "Fay"}).json()["results"]
    assert users == [
        {"id": people.facilitator.pk, "username": "facilitator", "name": "Fay " + people.facilitator.last_name}
    ]


def test_the_taxonomies_are_read_only(api, people):
    assert api(people.admin).post("/api/v1/severities/", {"name": "SEV5"}).status_code == 405


def test_an_incident_carries_its_timeline_and_severity_history(api, people, org_published):
    incident = org_published.incident
    TimelineEventFactory(incident=incident, text="Paged the on-call")
    SeverityChange.objects.create(
        incident=incident, from_severity=severity("SEV3"), to_severity=severity("SEV2"), reason="Spread"
    )
    incident.tags.add("database")
    body = api(people.reader).get(f"{URL}{incident.pk}/").json()
    assert body["reference"] == incident.reference and body["postmortem"] == org_published.pk
    assert body["services"] == [people.service.pk] and body["tags"] == ["database"]
    assert [e["text"] for e in body["timeline_events"]] == ["Paged the on-call"]
    assert [(c["from_severity"], c["reason"]) for c in body["severity_changes"]] == [(severity("SEV3").pk, "Spread")]
    # Lists stay light: no nested history.
    assert "timeline_events" not in api(people.reader).get(URL).json()["results"][0]


def test_anyone_signed_in_declares_an_incident(api, people):
    body = {
        "title": "Search is slow",
        "severity": severity("SEV3").pk,
        "services": [people.service.pk],
        "tags": ["search", "latency"],
        "detected_at": "2026-03-02T10:05:00Z",
        "commander": people.reader.pk,
    }
    response = api(people.reader).post(URL, body)
    assert response.status_code == 201
    created = response.json()
    assert created["reference"].startswith("INC-") and created["created_by"] == people.reader.pk
    assert sorted(created["tags"]) == ["latency", "search"] and created["services"] == [people.service.pk]
    assert api(None).post(URL, body).status_code == 403


def test_timestamps_out_of_order_are_field_errors(api, people):
    body = {"title": "x", "severity": severity().pk, "started_at": "2026-03-02T11:00:00Z",
            "detected_at": "2026-03-02T10:00:00Z"}  # fmt: skip
    response = api(people.reader).post(URL, body)
    assert response.status_code == 400
    assert response.json()["errors"] == {"detected_at": ["Detected time cannot be before the time impact started."]}
    assert response.json()["detail"] == "detected_at: Detected time cannot be before the time impact started."


@pytest.mark.parametrize(
    ("role", "status"),
    [("reader", 403), ("owner", 403), ("facilitator", 403), ("member", 200), ("lead", 200), ("admin", 200)],
)
def test_who_edits_an_incident(api, people, org_published, role, status):
    incident = org_published.incident
    response = api(getattr(people, role)).patch(f"{URL}{incident.pk}/", {"title": "Checkout down"})
    assert response.status_code == status
    incident.refresh_from_db()
    assert (incident.title == "Checkout down") is (status == 200)


def test_a_commander_edits_and_a_severity_change_needs_a_reason(api, people):
    incident = IncidentFactory(commander=people.reader, severity=severity("SEV3"))
    client = api(people.reader)
    response = client.patch(f"{URL}{incident.pk}/", {"severity": severity("SEV1").pk})
    assert response.status_code == 400
    assert response.json()["errors"] == {"severity_reason": ["Say why the severity changed."]}
    response = client.patch(f"{URL}{incident.pk}/", {"severity": severity("SEV1").pk, "severity_reason": "Spread"})
    assert response.status_code == 200
    change = SeverityChange.objects.get(incident=incident)
    assert (change.from_severity.name, change.to_severity.name, change.changed_by, change.reason) == (
        "SEV3", "SEV1", people.reader, "Spread",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("role", "status"),
    [("reader", 403), ("owner", 403), ("facilitator", 201), ("member", 201), ("admin", 201)],
)
def test_who_writes_the_timeline(api, people, org_published, role, status):
    body = {"incident": org_published.incident_id, "occurred_at": "2026-03-02T10:20:00Z", "text": "Rolled back"}
    response = api(getattr(people, role)).post("/api/v1/timeline-events/", body)
    assert response.status_code == status
    assert TimelineEvent.objects.filter(text="Rolled back").exists() is (status == 201)
    if status == 201:
        assert response.json()["author"] == getattr(people, role).pk and response.json()["kind"] == "note"


def test_timeline_events_are_changed_and_deleted_by_its_editors_only(api, people, org_published):
    event = TimelineEventFactory(incident=org_published.incident, occurred_at=T0, text="Paged")
    url = f"/api/v1/timeline-events/{event.pk}/"
    assert api(people.reader).patch(url, {"text": "Nope"}).status_code == 403
    assert api(people.member).patch(url, {"text": "Paged the on-call", "kind": "escalation"}).status_code == 200
    event.refresh_from_db()
    assert (event.text, event.kind) == ("Paged the on-call", "escalation")
    assert api(people.member).patch(url, {"incident": IncidentFactory().pk}).status_code == 400
    assert api(people.reader).delete(url).status_code == 403
    assert api(people.facilitator).delete(url).status_code == 204
    assert not TimelineEvent.objects.filter(pk=event.pk).exists()


def test_the_timeline_of_a_hidden_incident_is_neither_read_nor_written(api, people, restricted):
    TimelineEventFactory(incident=restricted.incident, text="Secret step")
    client = api(people.reader)
    assert "Secret step" not in client.get("/api/v1/timeline-events/").content.decode()
    body = {"incident": restricted.incident_id, "occurred_at": "2026-03-02T10:20:00Z", "text": "x"}
    response = client.post("/api/v1/timeline-events/", body)
    assert response.status_code == 400 and "incident" in response.json()["errors"]


def test_incident_filters(api, people):
    deploy = IncidentFactory(title="Deploy broke login", cause_category=cause("deploy"), severity=severity("SEV1"))
    deploy.services.add(people.service)
    deploy.tags.add("login", "auth")
    open_one = IncidentFactory(title="Queue backlog", status="monitoring", resolved_at=None, commander=people.lead)
    client = api(people.reader)

    def refs(**params):
        return {row["reference"] for row in client.get(URL, params).json()["results"]}

    assert refs(severity="SEV1") == {deploy.reference}
    assert refs(service="checkout") == refs(team="payments") == {deploy.reference}
    assert refs(cause_category="deploy") == {deploy.reference}
    assert refs(tags="login,auth") == {deploy.reference} and refs(tags="login,nope") == set()
    assert refs(open="true") == refs(status="monitoring") == refs(commander="lead") == {open_one.reference}
    assert refs(q="broke") == {deploy.reference}
    assert refs(resolved_after="2026-03-02", resolved_before="2026-03-02") == {deploy.reference}
    assert refs(resolved_after="2026-03-03") == set()
    assert refs(created_after="2000-01-01") == {deploy.reference, open_one.reference}
    rows = client.get(URL, {"ordering": "severity"}).json()["results"]
    assert rows[0]["reference"] == deploy.reference
    response = client.get(URL, {"severity": "SEV99", "ordering": "nope"})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"severity", "ordering"}


def test_lists_are_paginated(api, people):
    IncidentFactory.create_batch(52)
    first = api(people.reader).get(URL).json()
    assert first["count"] == 52 and len(first["results"]) == 50 and first["next"].endswith("?page=2")
    assert len(api(people.reader).get(URL, {"page": 2}).json()["results"]) == 2
    assert api(people.reader).get(URL, {"page": 9}).status_code == 404


def test_incidents_of_a_restricted_postmortem_are_filtered_out_of_lists(api, people, restricted):
    assert restricted.incident.reference not in api(people.reader).get(URL).content.decode()
    assert Incident.objects.count() == 1
