"""Writes that touch incidents and their history."""

from __future__ import annotations

from datetime import datetime

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import dateformat, timezone

from accounts import access
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


SEVERITY_REASON_MISSING = "Say why the severity changed."


def severity_reason_problem(*, previous: Severity | None, severity: Severity | None, reason: str) -> str | None:
    """Why a severity change cannot be saved (it says nothing of why), or None."""
    changed = previous is not None and severity is not None and severity.pk != previous.pk
    return SEVERITY_REASON_MISSING if changed and not (reason or "").strip() else None


def _require_declare(user) -> None:
    # Anyone signed in declares an incident.
    access.require(access.is_active_user(user), "Sign in to declare an incident.")


def _set_relations(incident: Incident, *, services, tags, failure_classes) -> None:
    """Set the many-to-many relations given (None leaves one as it is)."""
    if services is not None:
        incident.services.set(services)
    if failure_classes is not None:
        incident.failure_classes.set(failure_classes)
    if tags is not None:
        incident.tags.set(list(tags))


@transaction.atomic
def incident_create(*, by, services=(), tags=(), **fields) -> Incident:
    """Declare an incident with ``fields`` (model fields, ``failure_classes`` among them), declared
    by ``by``; once committed it is checked for earlier incidents it repeats.

    Raises PermissionDenied unless ``by`` is an active user, ValidationError (saving nothing)
    when a field or the lifecycle's order is wrong.
    """
    _require_declare(by)
    failure_classes = fields.pop("failure_classes", ())
    fields.pop("severity_reason", None)  # a new incident's severity has no history yet
    incident = Incident(**fields, created_by=by)
    incident.full_clean(exclude=["reference"], validate_unique=False, validate_constraints=False)
    incident.save()
    _set_relations(incident, services=services, tags=tags, failure_classes=failure_classes)
    schedule_repeat_detection(incident)
    return incident


def _validate_changes(row: models.Model, changes: dict) -> None:
    """Check ``row``, with ``changes`` applied, by the changed fields' validators and the model's
    ``clean`` (which sees every field); raise ``ValidationError`` when a rule breaks."""
    unchanged = [field.name for field in row._meta.fields if field.name not in changes]
    row.full_clean(exclude=unchanged, validate_unique=False, validate_constraints=False)


def _stored(value):
    return value.pk if isinstance(value, models.Model) else value


def _field_changes(current: Incident, fields: dict) -> dict:
    """The entries of ``fields`` that differ from the stored row ``current``."""
    changes = {}
    for name, value in fields.items():
        attname = Incident._meta.get_field(name).attname
        if getattr(current, attname) != _stored(value):
            changes[name] = value
    return changes


def _relation_changes(current: Incident, *, services, tags, failure_classes) -> dict:
    """The relations given that differ from the stored ones, by name (None: not given)."""
    stored = {
        "services": lambda: set(current.services.values_list("pk", flat=True)),
        "failure_classes": lambda: set(current.failure_classes.values_list("pk", flat=True)),
        "tags": lambda: set(current.tags.names()),
    }
    given = {"services": services, "failure_classes": failure_classes, "tags": tags}
    changes = {}
    for name, values in given.items():
        if values is None:
            continue
        wanted = {_stored(value) for value in values}
        if wanted != stored[name]():
            changes[name] = list(values)
    return changes


@transaction.atomic
def incident_update(incident: Incident, *, by, services=None, tags=None, **fields) -> Incident:
    """Change ``incident``'s fields (``failure_classes`` and ``severity_reason`` among them; a
    relation left None stays as it is). A new severity needs ``severity_reason`` and is kept in
    the severity history. Nothing given differs from the stored row: nothing is written. New
    failure classes start repeat detection again once the transaction commits.

    Raises PermissionDenied unless ``by`` may edit the incident, ValidationError (saving
    nothing) when a field, the lifecycle's order or the severity's reason is wrong.
    """
    _require_incident_edit(incident, by)
    reason = (fields.pop("severity_reason", "") or "").strip()
    failure_classes = fields.pop("failure_classes", None)
    current = _locked(incident)
    previous = current.severity
    changes = _field_changes(current, fields)
    relations = _relation_changes(current, services=services, tags=tags, failure_classes=failure_classes)
    if not changes and not relations:
        return incident
    for name, value in changes.items():
        setattr(current, name, value)
    problem = severity_reason_problem(previous=previous, severity=current.severity, reason=reason)
    if problem:
        raise ValidationError({"severity_reason": problem})
    _validate_changes(current, changes)
    incident_save_with_severity_history(incident=current, previous=previous, user=by, reason=reason)
    _set_relations(current, **{"services": None, "tags": None, "failure_classes": None, **relations})
    if "failure_classes" in relations:
        # Confirmed classes count fully in the scoring: look again for earlier incidents it repeats.
        schedule_repeat_detection(current)
    incident.refresh_from_db()
    return incident


# Statuses an incident leaves for "monitoring" once user impact stops.
BEFORE_MITIGATION = [Incident.Status.INVESTIGATING, Incident.Status.IDENTIFIED, Incident.Status.MITIGATING]


def _require_incident_edit(incident: Incident, user) -> None:
    access.require(access.may_edit_incident(user, incident), access.EDIT_INCIDENT_REFUSED)


def _locked(incident: Incident) -> Incident:
    """The incident's row as stored now, locked until the transaction ends."""
    return Incident.objects.select_for_update().get(pk=incident.pk)


def _save_times(incident: Incident, current: Incident, changes: dict) -> Incident:
    """Check ``changes`` on ``current`` (the locked row) with the incident's own rules (the
    lifecycle's order among them), then write them with one UPDATE and refresh ``incident``;
    raise ``ValidationError``, saving nothing, when a rule breaks."""
    for name, value in changes.items():
        setattr(current, name, value)
    _validate_changes(current, changes)
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


def _require_timeline_edit(incident: Incident, user) -> None:
    access.require(access.may_edit_timeline(user, incident), access.EDIT_TIMELINE_REFUSED)


@transaction.atomic
def timeline_event_add(*, incident: Incident, user, event: TimelineEvent, set_mitigated: bool = False) -> TimelineEvent:
    """Add ``event`` (unsaved) to the incident's timeline, by ``user``; with ``set_mitigated``,
    a Mitigation event also sets the incident's mitigated time to the event's time (see
    ``incident_mark_mitigated``, whose checks apply: nothing is saved if they fail).

    Raises PermissionDenied unless ``user`` may edit the timeline, ValidationError when a
    field is wrong."""
    _require_timeline_edit(incident, user)
    event.incident = incident
    event.author = user
    event.full_clean(exclude=["incident", "author"])
    event.save()
    if set_mitigated and event.kind == TimelineEvent.Kind.MITIGATION:
        incident_mark_mitigated(incident=incident, user=user, at=event.occurred_at)
    return event


# What ``timeline_event_update`` changes.
TIMELINE_EVENT_FIELDS = ("occurred_at", "kind", "text")


@transaction.atomic
def timeline_event_update(event: TimelineEvent, *, by, **fields) -> TimelineEvent:
    """Change a timeline event's ``fields`` (when, kind, text); nothing is written when none
    differs from the stored row. Raises PermissionDenied unless ``by`` may edit the incident's
    timeline, ValidationError (saving nothing) when a field is wrong."""
    unknown = set(fields) - set(TIMELINE_EVENT_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    _require_timeline_edit(event.incident, by)
    current = TimelineEvent.objects.select_for_update().get(pk=event.pk)
    changes = {name: value for name, value in fields.items() if getattr(current, name) != value}
    if not changes:
        return event
    for name, value in changes.items():
        setattr(current, name, value)
    _validate_changes(current, changes)
    current.save(update_fields=list(changes))
    event.refresh_from_db()
    return event


@transaction.atomic
def timeline_event_delete(event: TimelineEvent, *, by) -> None:
    """Remove a timeline event. Raises PermissionDenied unless ``by`` may edit the incident's timeline."""
    _require_timeline_edit(event.incident, by)
    event.delete()


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


@transaction.atomic
def repeat_link_decide(*, link: RepeatLink, user, state: str) -> RepeatLink:
    """Confirm or dismiss a suggestion, recording who decided and when.

    Raises PermissionDenied unless ``user`` may decide (``accounts.access.may_decide_repeat``).
    """
    if state not in (RepeatLink.State.CONFIRMED, RepeatLink.State.DISMISSED):
        raise RepeatDecisionError(f"Cannot set a repeat link to {state!r}.")
    access.require(access.may_decide_repeat(user, link.incident), access.DECIDE_REPEAT_REFUSED)
    if link.state == state:
        return link
    link.state = state
    link.decided_by = user
    link.decided_at = timezone.now()
    link.save(update_fields=["state", "decided_by", "decided_at", "updated_at"])
    return link


# Admin writes the API offers beside the admin site: reference data (teams, services, cause
# categories, failure classes), deleting incidents and postmortems, and setting the historical
# times the server otherwise sets itself. Each leaves an entry in the admin's history (LogEntry:
# who, when, what), the record the admin site writes, so /admin/ shows what the API changed.
# Deleting a postmortem drops its search document through postmortems.search_index's receiver.
def _log(*, user, obj: models.Model, flag: int, message: str) -> LogEntry:
    return LogEntry.objects.create(
        user_id=user.pk,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        action_flag=flag,
        change_message=message,
    )


@transaction.atomic
def reference_data_save(
    *, instance: models.Model, user, data: dict, refusal: str = access.ADMIN_ONLY_REFUSED
) -> models.Model:
    """Create (``instance._state.adding``) or change a team, service, cause category or failure
    class as an admin: apply ``data`` (many-to-many values as lists), validate the row as the
    admin form does, save, and record it in the admin history."""
    access.require(access.is_admin(user), refusal)
    adding = instance._state.adding
    many = {name: data.pop(name) for name in list(data) if instance._meta.get_field(name).many_to_many}
    for name, value in data.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    for name, values in many.items():
        getattr(instance, name).set(values)
    changed = sorted([*data, *many])
    message = "Added through the API." if adding else f"Changed {', '.join(changed) or 'nothing'} through the API."
    _log(user=user, obj=instance, flag=ADDITION if adding else CHANGE, message=message)
    return instance


@transaction.atomic
def audited_delete(*, obj: models.Model, user, refusal: str = access.ADMIN_ONLY_REFUSED) -> None:
    """Delete ``obj`` (and what cascades from it) as an admin, recording who deleted what in
    the admin history first, while the row still names itself."""
    access.require(access.is_admin(user), refusal)
    _log(user=user, obj=obj, flag=DELETION, message="Deleted through the API.")
    obj.delete()


@transaction.atomic
def historical_times_set(*, obj: models.Model, user, times: dict) -> models.Model:
    """Set times the server normally sets itself (``published_at``, ``submitted_at`` and
    ``due_date`` of a postmortem, ``completed_at`` of a done item) as an admin recording history.
    Validated by the fields' own rules and the table's constraints (a published postmortem keeps
    a publication time); recorded in the admin history."""
    if not times:
        return obj
    access.require(access.is_admin(user), access.HISTORICAL_REFUSED)
    for name, value in times.items():
        setattr(obj, name, value)
    others = [field.name for field in obj._meta.fields if field.name not in times]
    obj.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            obj.save(update_fields=list(times))
    except IntegrityError as exc:
        raise ValidationError({name: f"This {name} does not fit the row's state." for name in times}) from exc
    _log(user=user, obj=obj, flag=CHANGE, message=f"Set {', '.join(sorted(times))} through the API.")
    return obj
