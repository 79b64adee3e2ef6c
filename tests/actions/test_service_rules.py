"""actions.services holds the due date's rule and ActionItem.clean the item's own: one update
reports every broken rule at once, and an update that changes nothing writes nothing."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from actions import services
from actions.models import ActionItem
from tests.factories import T0, ActionItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item():
    return ActionItemFactory(due_date=(T0 + timedelta(days=7)).date())


def test_one_update_names_every_broken_rule_and_saves_nothing(item):
    admin = item.postmortem.facilitator
    with pytest.raises(ValidationError) as caught:
        services.action_item_update(
            item=item, user=admin, data={"status": "done", "due_date": (T0 + timedelta(days=30)).date()}
        )
    assert caught.value.message_dict == {
        "note": ["Say why the due date moves."],
        "resolution_note": ["Say how it was done (a link to the change helps)."],
    }
    stored = ActionItem.objects.get(pk=item.pk)
    assert (stored.status, stored.due_date) == ("open", item.due_date)
    assert not stored.changes.exists()


def test_an_update_to_the_same_values_writes_nothing(item):
    before = ActionItem.objects.get(pk=item.pk).updated_at
    services.action_item_update(
        item=item, user=item.postmortem.facilitator, data={"title": item.title, "due_date": item.due_date}
    )
    assert ActionItem.objects.get(pk=item.pk).updated_at == before
    assert not item.changes.exists()
