"""Action items added and removed through the API, as the postmortem editor does it: one
``postmortems.services.postmortem_update`` call, so the same rights (the postmortem's editors),
history ("created" with its values), new-owner email and amendment rule (a published postmortem
needs a note saying what changed) apply.

The editor sends the version it loaded; a script adding one item has no edit to lose, so these
lock the postmortem's row and update from the version they find.

(These belong in ``postmortems/services.py``, whose owner is busy with it this week.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from actions.models import ActionItem

from .models import Postmortem
from .services import ACTION_ITEM_FIELDS, postmortem_update


def _update_items(*, postmortem: Postmortem, user, items: list[dict], amendment_note: str) -> Postmortem:
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    return postmortem_update(
        postmortem=locked,
        user=user,
        data={},
        expected_version=locked.version,
        action_items=items,
        amendment_note=amendment_note,
    )


@transaction.atomic
def action_item_add(*, postmortem: Postmortem, user, fields: Mapping[str, Any], amendment_note: str = "") -> ActionItem:
    """Add an action item with ``fields`` (any of ``ACTION_ITEM_FIELDS``) to ``postmortem`` as
    ``user``; return it. Raises PermissionDenied or ValidationError as ``postmortem_update`` does."""
    item = {"id": None, **{name: fields[name] for name in ACTION_ITEM_FIELDS if name in fields}}
    _update_items(postmortem=postmortem, user=user, items=[item], amendment_note=amendment_note)
    # The postmortem's row stays locked until commit, so the newest item is the one just added.
    return postmortem.action_items.order_by("-pk").first()


@transaction.atomic
def action_item_remove(*, item: ActionItem, user, amendment_note: str = "") -> None:
    """Delete ``item`` from its postmortem as ``user`` (one of the postmortem's editors)."""
    items = [{"id": item.pk, "delete": True}]
    _update_items(postmortem=item.postmortem, user=user, items=items, amendment_note=amendment_note)
