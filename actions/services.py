"""Writes that touch action items."""

from django.db import transaction

from .models import ActionItem, ActionItemChange

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
    "external_url",
)


def _display(value) -> str | None:
    return None if value is None else str(value)


@transaction.atomic
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
