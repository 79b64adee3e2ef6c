"""Action item rules the model holds: references, completion time, overdue."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from actions.models import ActionItem, Notification
from tests.factories import ActionItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_action_items_get_sequential_references():
    first, second = ActionItemFactory(), ActionItemFactory()
    assert (first.reference, second.reference) == ("AI-0001", "AI-0002")


def test_completion_time_is_set_when_done_and_cleared_on_reopening():
    item = ActionItemFactory()
    item.status = ActionItem.Status.DONE
    item.resolution_note = "Shipped in PR 123"
    item.save()
    assert item.completed_at is not None
    item.status = ActionItem.Status.IN_PROGRESS
    item.save()
    item.refresh_from_db()
    assert item.completed_at is None


def test_done_and_wont_do_need_a_note():
    item = ActionItemFactory.build(status=ActionItem.Status.WONT_DO, resolution_note=" ")
    with pytest.raises(ValidationError) as caught:
        item.clean()
    assert caught.value.message_dict["resolution_note"] == ["Give the reason it will not be done."]


def test_overdue_counts_only_open_items_past_their_due_date():
    today = date(2026, 3, 20)
    late = ActionItemFactory(due_date=today - timedelta(days=3))
    ActionItemFactory(due_date=today)  # due today: not yet overdue
    ActionItemFactory(due_date=today - timedelta(days=9), status=ActionItem.Status.DONE, resolution_note="done")
    assert list(ActionItem.objects.overdue(today)) == [late]
    assert late.days_overdue(today) == 3


def test_the_ledger_holds_each_message_once():
    owner = UserFactory()
    item = ActionItemFactory(owner=owner)
    key = dict(recipient=owner, recipient_email=owner.email, kind="reminder", item=item, subject_key=item.reference)
    Notification.objects.create(period_key="2026-03-20", **key)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(period_key="2026-03-20", **key)
    Notification.objects.create(period_key="2026-03-27", **key)
    assert Notification.objects.count() == 2
