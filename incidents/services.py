"""Writes that touch incidents and their history."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from actions.models import Notification
from actions.notifications import absolute_url, notify
from postmortems.models import Postmortem

from . import repeats
from .models import Incident, RepeatLink, Severity, SeverityChange


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
    incident = repeats.for_scoring(Incident.objects.filter(pk=incident.pk)).get()
    later = repeats.incident_doc(incident)
    decided = set(
        RepeatLink.objects.filter(incident=incident)
        .exclude(state=RepeatLink.State.SUGGESTED)
        .values_list("earlier_id", flat=True)
    )
    suggested = []
    for earlier in repeats.repeat_candidates(incident):
        if earlier.pk in decided:
            continue
        result = repeats.score_pair(repeats.incident_doc(earlier), later)
        if result.repeat:
            suggested.append(_suggest(incident, earlier, result))
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
