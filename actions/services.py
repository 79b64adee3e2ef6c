"""Writes that touch action items: the rules for changing one, and its history.

Pages, the admin and the REST API call these, so the rules hold everywhere:

- only those ``ActionItem.objects.editable_by(user)`` admits change an item;
- done needs a resolution note (and may carry an evidence link); won't-do needs a reason;
- ``completed_at`` is set on completion and cleared on reopening (``ActionItem.save``);
- moving a due date needs a reason, kept in the history with the change;
- every change is one ``ActionItemChange`` row: who, when, each field's old and new value;
  a new item's first row says "created" and holds its initial values;
- an item's new owner is emailed (unless they assigned it to themselves or opted out).
"""

from __future__ import annotations

import copy

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import access

from .models import ActionItem, ActionItemChange, ActionItemComment, Notification, NotificationPreference
from .notifications import absolute_url, notify

# The fields whose changes the history keeps.
TRACKED_FIELDS = (
    "title",
    "description",
    "kind",
    "priority",
    "owner_id",
    "team_id",
    "due_date",
    "status",
    "resolution_note",
    "evidence_url",
    "external_url",
)
# What action_item_update accepts.
EDITABLE_FIELDS = (
    "title",
    "description",
    "kind",
    "priority",
    "owner",
    "team",
    "due_date",
    "status",
    "resolution_note",
    "evidence_url",
    "external_url",
)
CLOSED_STATUSES = (ActionItem.Status.DONE, ActionItem.Status.WONT_DO)


def _display(value) -> str | None:
    return None if value is None else str(value)


# No savepoint of its own: a failure rolls back to the caller's (one per item the editor saves).
@transaction.atomic(savepoint=False)
def action_item_record_changes(
    *, item: ActionItem, before: ActionItem, user, fields=TRACKED_FIELDS, note: str = ""
) -> ActionItemChange | None:
    """Record one history row with each field that differs between ``before`` and ``item``."""
    changes = {
        field.removesuffix("_id"): [_display(getattr(before, field)), _display(getattr(item, field))]
        for field in fields
        if getattr(before, field) != getattr(item, field)
    }
    if not changes and not note:
        return None
    return ActionItemChange.objects.create(item=item, changed_by=user, changes=changes, note=note)


def action_item_record_created(*, item: ActionItem, user) -> ActionItemChange:
    """Record a new item's first history row: "created", with each initial value that is set."""
    changes = {
        field.removesuffix("_id"): [None, _display(getattr(item, field))]
        for field in TRACKED_FIELDS
        if getattr(item, field) not in (None, "")
    }
    return ActionItemChange.objects.create(item=item, changed_by=user, changes=changes, created=True)


def action_item_notify_assigned(*, item: ActionItem, assigned_by, change: ActionItemChange) -> Notification | None:
    """Email ``item``'s owner that it is theirs now, once per history row that assigned it.

    Nobody is emailed about assigning an item to themselves, nor when they turned it off.
    """
    owner = item.owner
    if owner is None or not owner.is_active or owner.pk == getattr(assigned_by, "pk", None):
        return None
    if not preferences_for(owner).email_assigned:
        return None
    link = absolute_url(item.get_absolute_url())
    return notify(
        kind=Notification.Kind.ASSIGNED,
        recipient=owner,
        recipient_email=owner.email,
        subject_key=item.reference,
        period_key=f"change-{change.pk}",
        template="emails/assigned",
        context={"item": item, "owner": owner, "assigned_by": assigned_by, "link": link},
        item=item,
    )


@transaction.atomic(savepoint=False)
def action_item_saved(*, item: ActionItem, before: ActionItem | None, user, note: str = "") -> ActionItemChange | None:
    """After ``user`` saved ``item``: record its history ("created" when ``before`` is None,
    else each changed field) and, when its owner changed, email the new owner (after commit)."""
    if before is None:
        change = action_item_record_created(item=item, user=user)
    else:
        change = action_item_record_changes(item=item, before=before, user=user, note=note)
    if change is not None and "owner" in change.changes and item.owner_id:
        action_item_notify_assigned(item=item, assigned_by=user, change=change)
    return change


def due_date_move_problem(before, after, note: str) -> str | None:
    """What is wrong with moving a due date from ``before`` to ``after`` with ``note``: moving
    or clearing a set due date needs a reason, wherever it happens (item page, editor, API)."""
    if before and after != before and not note.strip():
        return "Say why the due date moves."
    return None


def _check_rules(item: ActionItem, before: ActionItem | None, note: str) -> None:
    """Raise one ValidationError with every broken rule: the item's own (``ActionItem.clean``
    and its fields) and, for a change, the due date's move (which needs ``note``). An owner or
    team left as it was is not looked up again (a query per item when the editor saves many)."""
    errors: dict[str, list[str]] = {}
    if before is not None and (problem := due_date_move_problem(before.due_date, item.due_date, note)):
        errors["note"] = [problem]
    unchanged = [
        name for name in ("owner", "team") if before and getattr(before, f"{name}_id") == getattr(item, f"{name}_id")
    ]
    try:
        item.full_clean(exclude=["postmortem", *unchanged], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)


def _check_fields(data) -> None:
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")


@transaction.atomic
def action_item_write(
    *, user, data, item: ActionItem | None = None, postmortem=None, note: str = "", locked: bool = False
) -> ActionItem:
    """The one write of an item's fields: a new item of ``postmortem`` (``item`` None) or a
    change to ``item``, with ``data`` (field -> value, any of ``EDITABLE_FIELDS``).

    The caller has checked ``user``'s right (the editor's comes from editing the postmortem,
    the item page's from ``may_change_action_item``). Every rule is checked here: the item's own,
    and a moved due date needs ``note``; a broken one raises ``ValidationError`` and saves
    nothing. A change that changes nothing writes nothing. The history gets one row ("created",
    or each changed field with ``note``), a new owner is emailed, and a change of state, title or
    due date reaches the item's tracker issue after commit (``trackers.services.item_written``).
    ``item`` is updated in place.
    ``locked`` says ``item`` is the row as stored, read ``select_for_update`` in this transaction
    by the caller (the editor locks all its items in one query).
    """
    _check_fields(data)
    if item is None:
        before, current = None, ActionItem(postmortem=postmortem, **data)
    else:
        # Compare with the row as stored (locked until commit), not a page's stale copy.
        before = copy.copy(item) if locked else ActionItem.objects.select_for_update().get(pk=item.pk)
        current = copy.copy(before)
        for name, value in data.items():
            setattr(current, name, value)
        if not note.strip() and all(getattr(before, f) == getattr(current, f) for f in TRACKED_FIELDS):
            return item  # nothing changes: nothing is written, no history
    _check_rules(current, before, note)
    current.save()
    action_item_saved(item=current, before=before, user=user, note=note.strip())
    if item is None:
        return current
    from trackers.services import item_written  # trackers builds on this module

    item_written(item=current, changed={f for f in TRACKED_FIELDS if getattr(before, f) != getattr(current, f)})
    item.__dict__.update(current.__dict__)
    return item


def action_item_update(*, item: ActionItem, user, data: dict, note: str = "") -> ActionItem:
    """Change ``item`` as ``user`` (the item page, the API, the admin): ``action_item_write``
    for those ``may_change_action_item`` admits, else ``PermissionDenied``."""
    _check_fields(data)
    access.require(access.may_change_action_item(user, item), access.CHANGE_ACTION_ITEM_REFUSED)
    return action_item_write(item=item, user=user, data=data, note=note)


def action_item_set_status(*, item: ActionItem, user, status: str, note: str = "") -> ActionItem:
    """The inline status change: closing takes ``note`` as the resolution note (or the reason)."""
    data: dict = {"status": status}
    if status in CLOSED_STATUSES and note.strip():
        data["resolution_note"] = note.strip()
    return action_item_update(item=item, user=user, data=data, note="" if "resolution_note" in data else note)


def action_item_complete(*, item: ActionItem, user, resolution_note: str, evidence_url: str = "") -> ActionItem:
    """Mark ``item`` done with how it was done and, optionally, a link proving it shipped."""
    data = {"status": ActionItem.Status.DONE, "resolution_note": resolution_note}
    if evidence_url:
        data["evidence_url"] = evidence_url
    return action_item_update(item=item, user=user, data=data)


def action_item_wont_do(*, item: ActionItem, user, reason: str) -> ActionItem:
    return action_item_update(
        item=item, user=user, data={"status": ActionItem.Status.WONT_DO, "resolution_note": reason}
    )


def action_item_reopen(*, item: ActionItem, user, note: str = "") -> ActionItem:
    """Open a done or won't-do item again; its completion time is cleared."""
    return action_item_update(item=item, user=user, data={"status": ActionItem.Status.OPEN}, note=note)


def action_item_move_due_date(*, item: ActionItem, user, due_date, reason: str) -> ActionItem:
    return action_item_update(item=item, user=user, data={"due_date": due_date}, note=reason)


def action_item_comment(*, item: ActionItem, user, text: str) -> ActionItemComment:
    """Add a note to ``item``; anyone who may read the item may comment."""
    access.require(access.may_read_action_item(user, item), access.READ_ACTION_ITEM_REFUSED)
    if not text.strip():
        raise ValidationError({"text": "Write something."})
    return ActionItemComment.objects.create(item=item, author=user, text=text.strip())


def preferences_for(user) -> NotificationPreference:
    """The user's notification preferences (defaults until they save them)."""
    try:
        return user.notification_preference
    except NotificationPreference.DoesNotExist:
        return NotificationPreference(user=user)


PREFERENCE_FIELDS = ("time_zone", "digest_opt_out", "email_assigned", "email_review", "email_published")


def preferences_update(*, user, **values) -> NotificationPreference:
    """Save ``user``'s preferences: any of ``PREFERENCE_FIELDS``; the others keep their value."""
    unknown = set(values) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ValueError(f"Not a preference: {', '.join(sorted(unknown))}")
    preference = preferences_for(user)
    for name, value in values.items():
        setattr(preference, name, value)
    preference.full_clean()
    preference.save()
    return preference
