"""Writes that touch incidents and their history."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import dateformat, timezone

from actions.models import Notification
from actions.notifications import absolute_url, notify
from postmortems.models import Postmortem

from . import repeats
from .models import Incident, RepeatLink, Severity, SeverityChange, TimelineEvent


@transaction.atomic
def incident_save_with_severity_history(
    *, incident: Incident, previous: Severity | None, user, reason: str
) -> Incident:
    """Save ``incident``; when its severity differs from ``previous``, record who changed it and why.
    A new incident is checked for earlier ones it repeats once the transaction commits."""
    created = incident.pk is None
    incident.save()
    if created:
        schedule_repeat_detection(incident)
    if previous is not None and previous.pk != incident.severity_id:
        SeverityChange.objects.create(
            incident=incident, from_severity=previous, to_severity=incident.severity, changed_by=user, reason=reason
        )
    return incident


# Statuses an incident leaves for "monitoring" once user impact stops.
BEFORE_MITIGATION = [Incident.Status.INVESTIGATING, Incident.Status.IDENTIFIED, Incident.Status.MITIGATING]


def _require_incident_edit(incident: Incident, user) -> None:
    if not Incident.objects.editable_by(user).filter(pk=incident.pk).exists():
        raise PermissionDenied("Only the incident's responders, its services' teams and admins edit it.")


def _locked(incident: Incident) -> Incident:
    """The incident's row as stored now, locked until the transaction ends."""
    return Incident.objects.select_for_update().get(pk=incident.pk)


def _save_times(incident: Incident, current: Incident, changes: dict) -> Incident:
    """Check ``changes`` on ``current`` (the locked row) with the incident's own rules (the
    lifecycle's order among them), then write them with one UPDATE and refresh ``incident``;
    raise ``ValidationError``, saving nothing, when a rule breaks."""
    for name, value in changes.items():
        setattr(current, name, value)
    unchanged = [field.name for field in Incident._meta.fields if field.name not in changes]
    current.full_clean(exclude=unchanged, validate_unique=False, validate_constraints=False)
    Incident.objects.filter(pk=current.pk).update(updated_at=timezone.now(), **changes)
    incident.refresh_from_db()
    return incident


def _already(incident: Incident, what: str, when: datetime) -> ValidationError:
    local = dateformat.format(timezone.localtime(when), "j M Y H:i T")
    return ValidationError(f"{incident.reference} was already {what} at {local}.")


@transaction.atomic
def incident_mark_mitigated(*, incident: Incident, user, at: datetime | None = None) -> Incident:
    """Set when user impact stopped: now ("Mitigated now"), or ``at`` (a Mitigation event's
    time, which replaces any earlier one). An incident still being investigated, identified or
    mitigated moves to Monitoring. The time stays editable in the incident's form.

    Raises PermissionDenied unless ``user`` may edit the incident; ValidationError when "now"
    finds it already mitigated (a double click sets it once) or the time breaks the lifecycle's
    order (e.g. before detection, after resolution).
    """
    _require_incident_edit(incident, user)
    current = _locked(incident)
    if at is None and current.mitigated_at is not None:
        raise _already(incident, "mitigated", current.mitigated_at)
    changes: dict = {"mitigated_at": at or timezone.now()}
    if current.status in BEFORE_MITIGATION:
        changes["status"] = Incident.Status.MONITORING
    return _save_times(incident, current, changes)


@transaction.atomic
def incident_mark_resolved(*, incident: Incident, user) -> Incident:
    """Resolve the incident now. An incident already resolved keeps its time (a double click or
    two responders at once resolve it once).

    Raises PermissionDenied unless ``user`` may edit it, ValidationError when it is already
    resolved or now breaks the lifecycle's order.
    """
    _require_incident_edit(incident, user)
    current = _locked(incident)
    if current.resolved_at is not None:
        raise _already(incident, "resolved", current.resolved_at)
    return _save_times(incident, current, {"resolved_at": timezone.now(), "status": Incident.Status.RESOLVED})


@transaction.atomic
def timeline_event_add(*, incident: Incident, user, event: TimelineEvent, set_mitigated: bool = False) -> TimelineEvent:
    """Add ``event`` (unsaved) to the incident's timeline, by ``user``; with ``set_mitigated``,
    a Mitigation event also sets the incident's mitigated time to the event's time (see
    ``incident_mark_mitigated``, whose checks apply: nothing is saved if they fail)."""
    event.incident = incident
    event.author = user
    event.save()
    if set_mitigated and event.kind == TimelineEvent.Kind.MITIGATION:
        incident_mark_mitigated(incident=incident, user=user, at=event.occurred_at)
    return event


def schedule_repeat_detection(incident: Incident) -> None:
    """Look for earlier incidents this one repeats, once the current transaction commits."""
    from .tasks import detect_repeats

    transaction.on_commit(lambda: detect_repeats.delay(incident.pk))


def repeat_detect(*, incident: Incident) -> list[RepeatLink]:
    """Score ``incident`` against its earlier candidates and record a suggested ``RepeatLink`` for each
    repeat; tell the postmortem's facilitator about each, once.

    Safe to run again or concurrently: a pair is one row (unique constraint), a decided pair
    (confirmed or dismissed) is never touched, and the ledger sends each email once.
    """
    decided = set(
        RepeatLink.objects.filter(incident=incident)
        .exclude(state=RepeatLink.State.SUGGESTED)
        .values_list("earlier_id", flat=True)
    )
    found = [(pk, result) for pk, result in repeats.repeats_of(incident) if pk not in decided]
    earlier = Incident.objects.in_bulk([pk for pk, _ in found])
    suggested = [_suggest(incident, earlier[pk], result) for pk, result in found]
    for link in suggested:
        repeat_notify_facilitator(link=link)
    return suggested


def _suggest(incident: Incident, earlier: Incident, result: repeats.PairScore) -> RepeatLink:
    link, created = RepeatLink.objects.get_or_create(
        incident=incident, earlier=earlier, defaults={"score": result.score, "reason": result.reason}
    )
    if not created and link.state == RepeatLink.State.SUGGESTED:
        # Refresh a pending suggestion; a decision made meanwhile is left alone.
        RepeatLink.objects.filter(pk=link.pk, state=RepeatLink.State.SUGGESTED).update(
            score=result.score, reason=result.reason
        )
    return link


def repeat_notify_facilitator(*, link: RepeatLink) -> Notification | None:
    """Email the later incident's postmortem facilitator about ``link``, once per link (via the ledger).

    The earlier incident's title, reason and action items are included only when the facilitator may
    see that incident.
    """
    postmortem = Postmortem.objects.select_related("facilitator").filter(incident_id=link.incident_id).first()
    if postmortem is None or not postmortem.facilitator.email:
        return None
    facilitator = postmortem.facilitator
    entries = [e for e in repeats.repeat_links_for(incident=link.incident, user=facilitator) if e.link.pk == link.pk]
    context = {
        "link": link,
        "incident": link.incident,
        "earlier_reference": link.earlier.reference,
        "entry": entries[0] if entries else None,
        "incident_url": absolute_url(link.incident.get_absolute_url()),
        "earlier_url": absolute_url(link.earlier.get_absolute_url()),
        "recipient": facilitator,
    }
    return notify(
        kind=Notification.Kind.REPEAT,
        recipient=facilitator,
        recipient_email=facilitator.email,
        subject_key=link.incident.reference,
        period_key=f"repeat-of-{link.earlier.reference}",
        template="emails/repeat_detected",
        context=context,
        postmortem=postmortem,
    )


class RepeatDecisionError(Exception):
    pass


def repeat_link_decide(*, link: RepeatLink, user, state: str) -> RepeatLink:
    """Confirm or dismiss a suggestion, recording who decided and when.

    Raises PermissionError unless ``user`` may decide (see ``repeats.can_decide``).
    """
    if state not in (RepeatLink.State.CONFIRMED, RepeatLink.State.DISMISSED):
        raise RepeatDecisionError(f"Cannot set a repeat link to {state!r}.")
    if not repeats.can_decide(user, link.incident):
        raise PermissionError("Only the postmortem's editors, the incident commander and admins decide repeats.")
    link.state = state
    link.decided_by = user
    link.decided_at = timezone.now()
    link.save(update_fields=["state", "decided_by", "decided_at", "updated_at"])
    return link
