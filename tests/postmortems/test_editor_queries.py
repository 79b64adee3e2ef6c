"""Saving the editor with many changed action items: each costs its own writes and nothing more
(the items are read and locked together, an owner or team left as it was is not looked up again)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actions.models import ActionItemChange, Notification
from tests.factories import ActionItemFactory

from .conftest import editor_data

pytestmark = pytest.mark.django_db

ITEMS = 6
# What one more changed item adds, by what changes:
# - its title: its savepoint, its UPDATE, its history row's INSERT, the savepoint's release;
# - its owner: those four, the new owner looked up (the form's choice, checked again by the one
#   write path), and the new owner's email: the ledger's duplicate check, its savepoint, INSERT
#   and release.
PER_ITEM = {"title": 4, "owner": 9}


def _save(client, draft, people, change: str, places: range) -> int:
    """Save the editor with the items at ``places`` (in the editor's order) changed; the queries."""
    if change == "title":
        changes = {f"actions-{n}-title": f"Changed title {n}" for n in places}
    else:
        changes = {f"actions-{n}-owner": str(people.member.pk) for n in places}
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("postmortems:edit", args=[draft.pk]), editor_data(draft, **changes))
    assert response.status_code == 302, response.text
    draft.refresh_from_db()
    return len(queries)


@pytest.mark.parametrize("change", PER_ITEM)
def test_each_changed_item_adds_only_its_own_writes(client, people, draft, change):
    for _ in range(ITEMS):
        ActionItemFactory(postmortem=draft, owner=people.author)
    client.force_login(people.facilitator)
    client.get(reverse("postmortems:edit", args=[draft.pk]))  # warm the session and the content types
    one = _save(client, draft, people, change, range(1))
    several = _save(client, draft, people, change, range(1, 1 + ITEMS))  # six not changed before
    assert several - one <= (ITEMS - 1) * PER_ITEM[change], (one, several)
    # Every changed item was written, with its history (and its new owner emailed).
    assert ActionItemChange.objects.filter(item__postmortem=draft, created=False).count() == 1 + ITEMS
    if change == "owner":
        assert Notification.objects.filter(kind="assigned", recipient=people.member).count() == 1 + ITEMS
