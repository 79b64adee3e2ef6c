"""The incident services every caller goes through (form, API, admin): who may write, what is
checked, and that an unchanged save writes nothing."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from incidents.models import Incident, SeverityChange, TimelineEvent
from incidents.services import (
    incident_create,
    incident_update,
    timeline_event_add,
    timeline_event_delete,
    timeline_event_update,
)
from tests.factories import T0, IncidentFactory, ServiceFactory, TimelineEventFactory, UserFactory, severity

pytestmark = pytest.mark.django_db


@pytest.fixture
def commander():
    return UserFactory(username="cora")


@pytest.fixture
def outsider():
    return UserFactory(username="otto")


@pytest.fixture
def incident(commander):
    incident = IncidentFactory(commander=commander, created_by=commander)
    incident.services.add(ServiceFactory())
    incident.tags.set(["checkout"])
    return incident


def _row(incident: Incident) -> dict:
    fresh = Incident.objects.get(pk=incident.pk)
    return {
        "updated_at": fresh.updated_at,
        "severity": fresh.severity_id,
        "services": set(fresh.services.values_list("pk", flat=True)),
        "tags": set(fresh.tags.names()),
        "history": SeverityChange.objects.filter(incident=incident).count(),
    }


def test_create_records_who_declared_it_with_its_services_and_tags(commander):
    service = ServiceFactory()
    incident = incident_create(
        by=commander, title="Search is slow", severity=severity("SEV3"), services=[service], tags=["search", "db"]
    )
    assert incident.reference.startswith("INC-")
    assert incident.created_by == commander
    assert list(incident.services.all()) == [service]
    assert set(incident.tags.names()) == {"search", "db"}


def test_create_refuses_a_broken_lifecycle_and_saves_nothing(commander):
    with pytest.raises(ValidationError) as caught:
        incident_create(
            by=commander,
            title="Search is slow",
            severity=severity("SEV3"),
            started_at=T0,
            detected_at=T0 - timedelta(minutes=5),
        )
    assert "Detected time cannot be before the time impact started." in caught.value.messages
    assert not Incident.objects.exists()


def test_the_same_values_again_write_nothing(incident, commander):
    before = _row(incident)
    incident_update(
        incident,
        by=commander,
        title=incident.title,
        severity=incident.severity,
        started_at=incident.started_at,
        services=list(incident.services.all()),
        tags=["checkout"],
        severity_reason="",
    )
    assert _row(incident) == before


def test_a_new_severity_needs_a_reason_and_is_kept_in_the_history(incident, commander):
    before = _row(incident)
    with pytest.raises(ValidationError) as caught:
        incident_update(incident, by=commander, severity=severity("SEV1"), severity_reason="  ")
    assert caught.value.message_dict == {"severity_reason": ["Say why the severity changed."]}
    assert _row(incident) == before

    incident_update(incident, by=commander, severity=severity("SEV1"), severity_reason="Checkout is down for all.")
    change = SeverityChange.objects.get(incident=incident)
    assert (change.from_severity.name, change.to_severity.name, change.changed_by) == ("SEV2", "SEV1", commander)
    assert change.reason == "Checkout is down for all."
    assert incident.severity.name == "SEV1"


def test_a_relation_left_out_stays_and_one_given_is_replaced(incident, commander):
    services = set(incident.services.all())
    incident_update(incident, by=commander, tags=["payments"])
    assert set(incident.services.all()) == services
    assert set(incident.tags.names()) == {"payments"}


def test_an_outsider_may_neither_edit_nor_touch_the_timeline(incident, outsider):
    event = TimelineEventFactory(incident=incident)
    with pytest.raises(PermissionDenied):
        incident_update(incident, by=outsider, title="Mine now")
    with pytest.raises(PermissionDenied):
        timeline_event_add(incident=incident, user=outsider, event=TimelineEvent(occurred_at=T0, text="Hi"))
    with pytest.raises(PermissionDenied):
        timeline_event_update(event, by=outsider, text="Changed")
    with pytest.raises(PermissionDenied):
        timeline_event_delete(event, by=outsider)
    assert Incident.objects.get(pk=incident.pk).title == incident.title
    assert TimelineEvent.objects.get(pk=event.pk).text == "Something happened"


def test_a_timeline_event_saved_unchanged_stays_as_it_was_and_a_change_is_kept(incident, commander):
    event = TimelineEventFactory(incident=incident, occurred_at=T0 + timedelta(seconds=17))
    timeline_event_update(event, by=commander, occurred_at=event.occurred_at, kind=event.kind, text=event.text)
    assert TimelineEvent.objects.get(pk=event.pk).occurred_at == T0 + timedelta(seconds=17)
    timeline_event_update(event, by=commander, text="Rolled back the deploy.")
    assert TimelineEvent.objects.get(pk=event.pk).text == "Rolled back the deploy."
    timeline_event_delete(event, by=commander)
    assert not TimelineEvent.objects.filter(pk=event.pk).exists()
