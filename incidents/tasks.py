"""Celery tasks for incidents: repeat-class detection; password reset mail."""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from django.db import OperationalError
from django.db.models import Q
from django.utils import timezone

from . import accounts, services
from .models import Incident

# How far back the nightly scan looks for changed incidents: two nights, so one missed run loses nothing.
NIGHTLY_LOOKBACK = timedelta(days=2)
NIGHTLY_CHUNK = 200


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=30, max_retries=5)
def detect_repeats(incident_id: int) -> int:
    """Find the earlier incidents ``incident_id`` repeats; returns how many were suggested."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return 0
    return len(services.repeat_detect(incident=incident))


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=60, max_retries=3)
def detect_repeats_nightly() -> int:
    """Run repeat detection for every incident (or its postmortem) changed recently, in chunks.

    Overlapping runs are harmless: each pair is one row and each email one ledger entry.
    """
    return detect_recent_repeats()


def detect_recent_repeats(now: datetime | None = None) -> int:
    """The nightly job's work (also ``manage.py run_job repeats``): repeat detection for the
    incidents changed in the two nights before ``now``; returns how many links were suggested."""
    since = (now or timezone.now()) - NIGHTLY_LOOKBACK
    changed = (
        Incident.objects.filter(Q(updated_at__gte=since) | Q(postmortem__updated_at__gte=since))
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    count, last_pk = 0, 0
    while True:
        chunk = list(changed.filter(pk__gt=last_pk)[:NIGHTLY_CHUNK])
        if not chunk:
            return count
        for incident in Incident.objects.filter(pk__in=chunk).order_by("pk"):
            count += len(services.repeat_detect(incident=incident))
        last_pk = chunk[-1]


# smtplib's errors and refused connections are OSErrors.
@shared_task(acks_late=True, autoretry_for=(OperationalError, OSError), retry_backoff=30, max_retries=5)
def send_password_reset(email: str) -> None:
    """Mail a password reset link to the accounts with ``email`` (nothing when there is none).

    Queued by the reset page, so the page takes as long for an unknown address as for a known one.
    """
    accounts.password_reset_send(email=email)
