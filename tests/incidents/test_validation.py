"""Times and dates outside 1970 .. a day from now are refused everywhere they come in (the
declare form, the API, the admin), and a refused one never reaches the lists."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from actions.models import ActionItem
from incidents.api_auth import api_token_create
from incidents.models import Incident, TimelineEvent
from tests.factories import ActionItemFactory, IncidentFactory, PostmortemFactory, UserFactory, severity

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory(username="carol", first_name="Carol")


def api_as(user) -> APIClient:
    client = APIClient()
    _, key = api_token_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def declare(**times) -> dict:
    return {"title": "Search is slow", "severity": severity("SEV3").pk, "status": "investigating",
            "trigger": "unknown", "declared_at": "2026-03-02T10:00", **times}  # fmt: skip


def test_year_9999_in_a_zone_behind_utc_is_a_form_error_and_the_lists_still_work(client, user):
    client.force_login(user)
    client.cookies["tz"] = "Etc/GMT+12"
    response = client.post(reverse("incidents:declare"), declare(declared_at="9999-12-31T23:59"))
    assert response.status_code == 200
    assert "no later than a day from now" in str(response.context["form"].errors["declared_at"])
    assert not Incident.objects.exists()
    for url in ["/", "/incidents/", "/api/v1/incidents/", "/metrics/"]:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("started_at", "1969-12-31T23:59", "1970 or later"),
        ("detected_at", "0001-01-01T00:00", "1970 or later"),
        ("resolved_at", "9999-12-31T23:59", "no later than a day from now"),
    ],
)
def test_the_declare_form_names_the_bad_time(client, user, field, value, message):
    client.force_login(user)
    response = client.post(reverse("incidents:declare"), declare(**{field: value}))
    assert message in str(response.context["form"].errors[field])
    assert not Incident.objects.exists()


def test_tomorrow_is_still_accepted(client, user):
    client.force_login(user)
    soon = (timezone.now() + timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("incidents:declare"), declare(declared_at=soon))
    assert response.status_code == 302
    assert Incident.objects.count() == 1


@pytest.mark.parametrize("value", ["9999-12-31T23:59:00-12:00", "0001-01-01T00:00:00Z", "1969-07-20T20:17:00Z"])
def test_the_api_refuses_times_out_of_range(user, value):
    client = api_as(user)
    body = {"title": "x", "severity": severity("SEV3").pk, "declared_at": value}
    response = client.post("/api/v1/incidents/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == ["declared_at"]
    del body["declared_at"]
    response = client.post("/api/v1/incidents/", {**body, "started_at": value}, format="json")
    assert response.status_code == 400
    assert "started_at" in response.json()["errors"]
    assert not Incident.objects.exists()


def test_timeline_events_refuse_times_out_of_range(user):
    incident = IncidentFactory(commander=user)
    response = api_as(user).post(
        "/api/v1/timeline-events/",
        {"incident": incident.pk, "occurred_at": "9999-12-31T00:00:00Z", "kind": "note", "text": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert "occurred_at" in response.json()["errors"]
    assert not TimelineEvent.objects.exists()


def test_action_item_due_dates_stay_within_ten_years(user):
    item = ActionItemFactory(postmortem=PostmortemFactory(facilitator=user), owner=user)
    before = item.due_date
    response = api_as(user).patch(
        f"/api/v1/action-items/{item.pk}/", {"due_date": "9999-12-31", "note": "later"}, format="json"
    )
    assert response.status_code == 400
    assert "due_date" in response.json()["errors"]
    assert ActionItem.objects.get(pk=item.pk).due_date == before
