"""Alerts in: Alertmanager's webhook (version 4) and the generic shape."""

import copy

import pytest
from rest_framework.test import APIClient

from incidents.models import Incident, SeverityChange, TimelineEvent
from tests.factories import ServiceFactory, severity

pytestmark = pytest.mark.django_db

SECRET = "s3cret-webhook"
AM = "/api/v1/webhooks/alertmanager/"
GENERIC = "/api/v1/webhooks/generic/"
GROUP_KEY = '{}/{severity=~"critical|warning"}:{alertname="CheckoutErrors"}'

# What Alertmanager 0.27 posts for a group of two alerts (trimmed of nothing but whitespace).
FIRING = {
    "receiver": "postmortem-tracker",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "CheckoutErrors",
                "instance": "web-1",
                "service": "checkout",
                "severity": "warning",
            },
            "annotations": {"summary": "Checkout error rate above 5%", "description": "5xx on /pay for 5 minutes."},
            "startsAt": "2026-03-02T10:05:00.123Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=rate",
            "fingerprint": "a1b2c3d4e5f60718",
        },
        {
            "status": "firing",
            "labels": {
                "alertname": "CheckoutErrors",
                "instance": "web-2",
                "service": "checkout",
                "severity": "warning",
            },
            "annotations": {"summary": "Checkout error rate above 5%"},
            "startsAt": "2026-03-02T10:06:30Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=rate",
            "fingerprint": "0f1e2d3c4b5a6978",
        },
    ],
    "groupLabels": {"alertname": "CheckoutErrors"},
    "commonLabels": {"alertname": "CheckoutErrors", "service": "checkout", "severity": "warning"},
    "commonAnnotations": {"summary": "Checkout error rate above 5%"},
    "externalURL": "http://alertmanager:9093",
    "version": "4",
    "groupKey": GROUP_KEY,
    "truncatedAlerts": 0,
}


def resolved_payload() -> dict:
    payload = copy.deepcopy(FIRING)
    payload["status"] = "resolved"
    for alert, ends in zip(payload["alerts"], ["2026-03-02T10:40:00Z", "2026-03-02T10:42:00Z"], strict=True):
        alert["status"], alert["endsAt"] = "resolved", ends
    return payload


@pytest.fixture
def sender(settings):
    settings.ALERT_WEBHOOK_SECRET = SECRET
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {SECRET}")


@pytest.fixture
def checkout(db):
    return ServiceFactory(name="Checkout", slug="checkout")


def test_firing_then_resolved_makes_one_incident_with_the_right_times(sender, checkout):
    response = sender.post(AM, FIRING, format="json")
    assert response.status_code == 201
    assert response.json()["created"] is True and response.json()["events_added"] == 2
    incident = Incident.objects.get()
    assert incident.title == "Checkout error rate above 5%"
    assert incident.detected_at.isoformat() == "2026-03-02T10:05:00.123000+00:00"
    assert incident.severity.name == "SEV3" and list(incident.services.all()) == [checkout]
    assert incident.status == "investigating" and incident.mitigated_at is None
    assert "5xx on /pay" in incident.summary

    response = sender.post(AM, resolved_payload(), format="json")
    assert response.status_code == 200
    assert response.json() == {"incident": incident.pk, "reference": incident.reference, "created": False,
                               "events_added": 2}  # fmt: skip
    incident.refresh_from_db()
    assert Incident.objects.count() == 1
    assert incident.mitigated_at.isoformat() == "2026-03-02T10:42:00+00:00"
    assert incident.status == "investigating" and incident.resolved_at is None  # people resolve it
    kinds = list(incident.timeline_events.values_list("kind", "occurred_at__minute"))
    assert kinds == [("detection", 5), ("detection", 6), ("resolution", 40), ("resolution", 42)]


def test_the_same_delivery_twice_changes_nothing(sender, checkout):
    sender.post(AM, FIRING, format="json")
    again = sender.post(AM, FIRING, format="json")
    assert again.status_code == 200 and again.json()["events_added"] == 0
    sender.post(AM, resolved_payload(), format="json")
    assert sender.post(AM, resolved_payload(), format="json").json()["events_added"] == 0
    assert Incident.objects.count() == 1 and TimelineEvent.objects.count() == 4


def test_a_repeat_after_people_resolved_it_opens_nothing_new(sender, checkout):
    sender.post(AM, FIRING, format="json")
    incident = Incident.objects.get()
    incident.status, incident.resolved_at = "resolved", incident.detected_at.replace(hour=12)
    incident.save()
    assert sender.post(AM, FIRING, format="json").status_code == 200
    assert Incident.objects.count() == 1
    # A new firing of the group (a new start) is a new incident.
    later = copy.deepcopy(FIRING)
    later["alerts"] = later["alerts"][:1]
    later["alerts"][0]["startsAt"] = "2026-03-05T08:00:00Z"
    assert sender.post(AM, later, format="json").status_code == 201
    assert Incident.objects.count() == 2


def test_a_more_severe_alert_raises_the_severity(sender, checkout):
    sender.post(AM, FIRING, format="json")
    worse = copy.deepcopy(FIRING)
    worse["alerts"][0]["labels"]["severity"] = "critical"
    sender.post(AM, worse, format="json")
    incident = Incident.objects.get()
    assert incident.severity.name == "SEV2"
    change = SeverityChange.objects.get(incident=incident)
    assert (change.from_severity.name, change.to_severity.name) == ("SEV3", "SEV2")
    assert "critical" in change.reason


def test_the_severity_map_comes_from_settings(sender, settings, checkout):
    settings.ALERT_SEVERITY_MAP = {"warning": "SEV1"}
    sender.post(AM, FIRING, format="json")
    assert Incident.objects.get().severity == severity("SEV1")


def test_webhooks_are_off_without_a_secret(settings, checkout):
    settings.ALERT_WEBHOOK_SECRET = ""
    response = APIClient(HTTP_AUTHORIZATION="Bearer anything").post(AM, FIRING, format="json")
    assert response.status_code == 404 and "ALERT_WEBHOOK_SECRET" in response.json()["detail"]


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Token {SECRET}", SECRET])
def test_a_wrong_or_missing_secret_is_refused(sender, header):
    client = APIClient(HTTP_AUTHORIZATION=header) if header else APIClient()
    response = client.post(AM, FIRING, format="json")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert not Incident.objects.exists()


def test_a_bad_payload_is_a_400_naming_the_problem(sender):
    payload = copy.deepcopy(FIRING)
    del payload["groupKey"]
    payload["alerts"][1]["startsAt"] = "yesterday"
    response = sender.post(AM, payload, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["groupKey"] == ["This field is required."]
    assert "startsAt" in errors["alerts"]["1"]
    assert "alerts[1].startsAt: Datetime has wrong format" in response.json()["detail"]
    assert "groupKey" in response.json()["detail"]
    assert sender.post(AM, {**FIRING, "version": "3"}, format="json").status_code == 400
    assert sender.post(AM, "not json", content_type="application/json").status_code == 400
    assert not Incident.objects.exists()


def test_the_generic_shape(sender, checkout):
    alert = {
        "id": "pingdom-42",
        "title": "Checkout page down",
        "service": "checkout",
        "severity": "SEV1",
        "started_at": "2026-03-02T10:05:00Z",
    }
    response = sender.post(GENERIC, alert, format="json")
    assert response.status_code == 201
    incident = Incident.objects.get()
    assert (incident.severity.name, incident.detected_at.minute, incident.alert_group_key) == (
        "SEV1",
        5,
        "generic:pingdom-42",
    )
    assert sender.post(GENERIC, alert, format="json").json()["events_added"] == 0
    resolved = {**alert, "status": "resolved", "ended_at": "2026-03-02T10:30:00Z"}
    assert sender.post(GENERIC, resolved, format="json").json()["events_added"] == 1
    incident.refresh_from_db()
    assert incident.mitigated_at.minute == 30
    bad = sender.post(GENERIC, {"id": "x", "title": "t", "started_at": "2026-03-02T10:05:00Z",
                                "ended_at": "2026-03-02T10:00:00Z"}, format="json")  # fmt: skip
    assert bad.status_code == 400 and bad.json()["errors"] == {"ended_at": ["An alert cannot end before it started."]}


def test_resolved_alerts_of_an_unknown_group_open_nothing(sender):
    response = sender.post(AM, resolved_payload(), format="json")
    assert response.status_code == 200 and response.json()["incident"] is None
    assert not Incident.objects.exists()


@pytest.mark.parametrize("starts_at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z"])
def test_start_times_out_of_range_are_refused(sender, checkout, starts_at):
    payload = copy.deepcopy(FIRING)
    payload["alerts"][0]["startsAt"] = starts_at
    response = sender.post(AM, payload, format="json")
    assert response.status_code == 400
    assert "startsAt" in response.json()["errors"]["alerts"]["0"]
    generic = {"id": "pingdom-42", "title": "Checkout page down", "started_at": starts_at}
    response = sender.post(GENERIC, generic, format="json")
    assert response.status_code == 400 and "started_at" in response.json()["errors"]
    assert not Incident.objects.exists()
    assert sender.get("/api/v1/incidents/").status_code in (200, 403)


def test_an_end_time_in_year_9999_is_refused_but_alertmanagers_zero_time_means_not_ended(sender, checkout):
    payload = resolved_payload()
    payload["alerts"][0]["endsAt"] = "9999-12-31T23:59:59Z"
    response = sender.post(AM, payload, format="json")
    assert response.status_code == 400 and "endsAt" in response.json()["errors"]["alerts"]["0"]
    assert sender.post(AM, FIRING, format="json").status_code == 201  # endsAt 0001-01-01: still firing


def _many_alerts(count: int) -> dict:
    payload = copy.deepcopy(FIRING)
    alert = payload["alerts"][0]
    payload["alerts"] = [{**alert, "fingerprint": f"{n:016x}"} for n in range(count)]
    return payload


def test_a_delivery_of_5000_alerts_is_refused_quickly_with_a_hint(sender, checkout):
    response = sender.post(AM, _many_alerts(5000), format="json")
    assert response.status_code == 400
    assert "At most 500 alerts per delivery: set max_alerts: 500" in response.json()["detail"]
    assert not Incident.objects.exists()


def test_a_delivery_of_500_alerts_is_recorded(sender, checkout):
    response = sender.post(AM, _many_alerts(500), format="json")
    assert response.status_code == 201 and response.json()["events_added"] == 500


def test_a_repeat_of_an_alert_whose_id_holds_brackets_adds_nothing(sender, checkout):
    alert = {"id": "check[eu] [1]", "title": "Checkout page down", "started_at": "2026-03-02T10:05:00Z"}
    assert sender.post(GENERIC, alert, format="json").json()["events_added"] == 1
    assert sender.post(GENERIC, alert, format="json").json()["events_added"] == 0
