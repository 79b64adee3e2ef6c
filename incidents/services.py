"""Writes that touch incidents and their history."""

from django.db import transaction

from .models import Incident, Severity, SeverityChange


@transaction.atomic
def incident_save_with_severity_history(
    *, incident: Incident, previous: Severity | None, user, reason: str
) -> Incident:
    """Save ``incident``; when its severity differs from ``previous``, record who changed it and why."""
    incident.save()
    if previous is not None and previous.pk != incident.severity_id:
        SeverityChange.objects.create(
            incident=incident, from_severity=previous, to_severity=incident.severity, changed_by=user, reason=reason
        )
    return incident
