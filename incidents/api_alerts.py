"""Alerts in: a firing alert opens an incident (or joins the open one of its group), a
resolved one is recorded on the timeline.

The webhooks (``incidents.api``) turn Alertmanager's and the generic payload into an
``AlertGroup`` and call ``alert_group_receive``. What it does:

- The incident is found by the group key (Alertmanager's ``groupKey``, or the generic
  ``group_key``): the open incident of the group, else a new one with ``detected_at`` from
  the earliest alert's start, the ``service`` label's service and the severity mapped
  from the ``severity`` label through ``settings.ALERT_SEVERITY_MAP``.
- Each alert adds a *detection* event when it fires and a *resolution* event when it
  resolves, once: an event is identified by its kind, time and the alert's fingerprint,
  so the same delivery twice (Alertmanager repeats them) adds nothing.
- A later, more severe alert raises the incident's severity (with a severity change);
  alerts never lower it.
- When every alert recorded on the incident has resolved, ``mitigated_at`` is set to the
  last alert's end, if not set yet. Resolving the incident stays with people: an alert
  going quiet does not mean the cause is understood, and the postmortem clock starts at
  resolution.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from .models import Incident, Service, Severity, TimelineEvent
from .services import incident_save_with_severity_history

logger = logging.getLogger(__name__)

FIRING, RESOLVED = "firing", "resolved"
_FINGERPRINT = re.compile(r"\[alert ([^\]]+)\]$")
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    status: str
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    description: str = ""
    labels: dict = field(default_factory=dict)
    url: str = ""


@dataclass
class AlertGroup:
    key: str
    source: str
    alerts: list[Alert]


@dataclass
class AlertOutcome:
    incident: Incident | None
    created: bool = False
    events_added: int = 0


def stored_group_key(key: str) -> str:
    """The key as stored: itself when it fits, else a digest of it."""
    key = key.strip()
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def severity_for(label: str) -> Severity:
    """The severity the ``severity`` label maps to; a severity's own name also works; else the default."""
    name = settings.ALERT_SEVERITY_MAP.get(label.strip().lower()) or label.strip()
    severities = {s.name.lower(): s for s in Severity.objects.all()}
    found = severities.get(name.lower()) or severities.get(settings.ALERT_DEFAULT_SEVERITY.lower())
    if found is None:
        logger.warning("Alert severity %r maps to no severity; using the least severe.", label)
        found = max(severities.values(), key=lambda s: s.level)
    return found


def _event_text(alert: Alert, source: str, status: str) -> str:
    verb = "fired" if status == FIRING else "resolved"
    link = f" {alert.url}" if alert.url else ""
    return f"{source} alert {verb}: {alert.title}{link} [alert {alert.fingerprint}]"


def _alert_events(incident: Incident):
    return incident.timeline_events.filter(author__isnull=True, text__contains="[alert ")


def _has_event(incident: Incident, kind: str, at: datetime, fingerprint: str) -> bool:
    return _alert_events(incident).filter(kind=kind, occurred_at=at, text__endswith=f"[alert {fingerprint}]").exists()


def _find_incident(key: str, group: AlertGroup) -> Incident | None:
    """The group's open incident; or its latest one when that already recorded every firing
    alert delivered (a repeat delivery after people resolved it); else None."""
    latest = Incident.objects.select_for_update().filter(alert_group_key=key).order_by("-declared_at", "-id").first()
    if latest is None or latest.status != Incident.Status.RESOLVED:
        return latest
    firing = [a for a in group.alerts if a.status == FIRING]
    if all(_has_event(latest, TimelineEvent.Kind.DETECTION, a.starts_at, a.fingerprint) for a in firing):
        return latest
    return None


def _services(alerts: list[Alert]) -> list[Service]:
    names = {a.labels.get("service", "").strip() for a in alerts} - {""}
    if not names:
        return []
    return list(Service.objects.filter(Q(slug__in=names) | Q(name__in=names)))


def _most_severe(alerts: list[Alert]) -> Severity:
    return min((severity_for(a.labels.get("severity", "")) for a in alerts), key=lambda s: s.level)


def _open_incident(key: str, group: AlertGroup, firing: list[Alert]) -> Incident:
    first = min(firing, key=lambda a: a.starts_at)
    summary = "\n\n".join(dict.fromkeys(a.description for a in firing if a.description))
    incident = Incident(
        title=first.title[:200],
        summary=summary,
        severity=_most_severe(firing),
        detected_at=first.starts_at,
        alert_group_key=key,
    )
    incident_save_with_severity_history(incident=incident, previous=None, user=None, reason="")
    incident.services.set(_services(firing))
    return incident


def _recorded(incident: Incident) -> set[tuple[str, datetime, str]]:
    """(kind, time, fingerprint) of every alert event on the incident, read once per delivery."""
    recorded = set()
    for kind, at, text in _alert_events(incident).values_list("kind", "occurred_at", "text"):
        if text.endswith("]"):  # "... [alert <fingerprint>]", whatever characters the fingerprint holds
            recorded.add((kind, at, text.rpartition("[alert ")[2][:-1]))
    return recorded


def _record(incident: Incident, group: AlertGroup) -> int:
    added, recorded = 0, _recorded(incident)
    for alert in group.alerts:
        steps = [(TimelineEvent.Kind.DETECTION, alert.starts_at, FIRING)]
        if alert.status == RESOLVED and alert.ends_at:
            steps.append((TimelineEvent.Kind.RESOLUTION, alert.ends_at, RESOLVED))
        for kind, at, status in steps:
            if (kind, at, alert.fingerprint) not in recorded:
                TimelineEvent.objects.create(
                    incident=incident, occurred_at=at, kind=kind, text=_event_text(alert, group.source, status)
                )
                recorded.add((kind, at, alert.fingerprint))
                added += 1
    return added


def _escalate(incident: Incident, firing: list[Alert]) -> None:
    worst = _most_severe(firing)
    if worst.level >= incident.severity.level:
        return
    previous = incident.severity
    incident.severity = worst
    labels = ", ".join(sorted({a.labels.get("severity", "") for a in firing} - {""}))
    reason = f"An alert of the group fired with severity {labels or worst.name}."
    incident_save_with_severity_history(incident=incident, previous=previous, user=None, reason=reason)


def _mitigate_when_all_resolved(incident: Incident) -> None:
    """Set ``mitigated_at`` once every alert recorded on the incident has resolved."""
    if incident.mitigated_at or incident.status == Incident.Status.RESOLVED:
        return
    fired, resolved, last_end = set(), set(), None
    for kind, at, text in _alert_events(incident).values_list("kind", "occurred_at", "text"):
        match = _FINGERPRINT.search(text)
        if not match:
            continue
        if kind == TimelineEvent.Kind.DETECTION:
            fired.add(match.group(1))
        elif kind == TimelineEvent.Kind.RESOLUTION:
            resolved.add(match.group(1))
            last_end = max(at, last_end) if last_end else at
    if not fired or fired - resolved or last_end is None:
        return
    if incident.detected_at and last_end < incident.detected_at:
        return
    Incident.objects.filter(pk=incident.pk, mitigated_at__isnull=True).update(mitigated_at=last_end)
    incident.mitigated_at = last_end


@transaction.atomic
def alert_group_receive(*, group: AlertGroup) -> AlertOutcome:
    """Open or update the incident of ``group`` and record its alerts on the timeline.

    Idempotent: delivering the same group again changes nothing. Returns the incident
    (None for resolved alerts of a group that never opened one).
    """
    key = stored_group_key(group.key)
    firing = [a for a in group.alerts if a.status == FIRING]
    incident, created = _find_incident(key, group), False
    if incident is None:
        if not firing:
            return AlertOutcome(incident=None)
        try:
            with transaction.atomic():
                incident, created = _open_incident(key, group, firing), True
        except IntegrityError:  # another delivery of the group opened it a moment ago
            incident = _find_incident(key, group)
            if incident is None:
                raise
    elif firing and incident.status != Incident.Status.RESOLVED:
        _escalate(incident, firing)
    added = _record(incident, group)
    _mitigate_when_all_resolved(incident)
    return AlertOutcome(incident=incident, created=created, events_added=added)
