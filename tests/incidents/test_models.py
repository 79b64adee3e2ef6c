"""The incident model's rules: timestamp order, durations, references."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, close_old_connections, connection, transaction

from incidents.models import Incident
from tests.factories import T0, IncidentFactory, severity

pytestmark = pytest.mark.django_db


def test_resolved_before_detected_is_rejected_with_a_clear_message():
    incident = IncidentFactory.build(severity=severity(), resolved_at=T0 + timedelta(minutes=1))
    incident.mitigated_at = None
    with pytest.raises(ValidationError) as caught:
        incident.full_clean()
    assert caught.value.message_dict["resolved_at"] == ["Resolved time cannot be before detected time."]


def test_each_out_of_order_pair_names_the_later_field():
    incident = IncidentFactory.build(
        severity=severity(),
        started_at=T0,
        detected_at=T0 - timedelta(minutes=1),
        acknowledged_at=T0 - timedelta(minutes=2),
        mitigated_at=None,
        resolved_at=T0 + timedelta(hours=1),
    )
    with pytest.raises(ValidationError) as caught:
        incident.full_clean()
    errors = caught.value.message_dict
    assert errors["detected_at"] == ["Detected time cannot be before the time impact started."]
    assert errors["acknowledged_at"] == ["Acknowledged time cannot be before detected time."]
    assert "resolved_at" not in errors


def test_the_database_refuses_out_of_order_timestamps_too():
    incident = IncidentFactory()
    incident.resolved_at = incident.detected_at - timedelta(minutes=1)
    incident.mitigated_at = None
    with pytest.raises(IntegrityError), transaction.atomic():
        incident.save()


def test_resolved_status_needs_a_resolved_time():
    incident = IncidentFactory.build(severity=severity(), resolved_at=None)
    with pytest.raises(ValidationError) as caught:
        incident.full_clean()
    assert caught.value.message_dict["resolved_at"] == ["A resolved incident needs its resolved time."]


def test_durations_are_the_gaps_between_lifecycle_timestamps():
    incident = IncidentFactory()
    assert incident.time_to_detect == timedelta(minutes=5)
    assert incident.time_to_acknowledge == timedelta(minutes=3)
    assert incident.time_to_mitigate == timedelta(minutes=40)
    assert incident.time_to_resolve == timedelta(minutes=115)


def test_a_missing_timestamp_leaves_that_duration_empty_not_zero():
    incident = IncidentFactory(started_at=None, acknowledged_at=None)
    assert incident.time_to_detect is None
    assert incident.time_to_acknowledge is None
    assert incident.time_to_resolve == timedelta(minutes=115)


def test_the_database_computes_the_same_durations():
    IncidentFactory(acknowledged_at=None)
    row = Incident.objects.with_durations().get()
    assert row.ttd == timedelta(minutes=5)
    assert row.tta is None
    assert row.ttm == timedelta(minutes=40)
    assert row.ttr == timedelta(minutes=115)


def test_references_count_up_per_year():
    first = IncidentFactory(declared_at=T0)
    second = IncidentFactory(declared_at=T0)
    next_year = IncidentFactory(
        declared_at=T0.replace(year=2027),
        started_at=None,
        detected_at=None,
        acknowledged_at=None,
        mitigated_at=None,
        resolved_at=None,
        status=Incident.Status.INVESTIGATING,
    )
    assert (first.reference, second.reference, next_year.reference) == (
        "INC-2026-0001",
        "INC-2026-0002",
        "INC-2027-0001",
    )


def test_a_reference_survives_later_saves():
    incident = IncidentFactory()
    reference = incident.reference
    incident.title = "Renamed"
    incident.save()
    incident.refresh_from_db()
    assert incident.reference == reference


@pytest.mark.django_db(transaction=True)
def test_references_stay_unique_under_concurrent_creation():
    """Eight threads create incidents at once: every reference is distinct and the numbers have no gaps."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises all writers; the concurrent case needs PostgreSQL")
    sev = severity()
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def create_some() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                Incident.objects.create(title="Concurrent", severity=sev, declared_at=T0)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=create_some) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    references = sorted(Incident.objects.values_list("reference", flat=True))
    assert references == [f"INC-2026-{n:04d}" for n in range(1, 41)]
