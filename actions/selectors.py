"""Reads behind the action-item pages (and, later, the API)."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Case, F, IntegerField, Prefetch, Value, When
from django.http import Http404
from django.utils import timezone

from incidents.models import Team

from .models import ActionItem, ActionItemChange, ActionItemComment, Notification


def action_items_for(user):
    """Items ``user`` may read, with ``can_edit`` and ``postmortem_visible`` and what lists show."""
    return ActionItem.objects.visible_to(user).with_access(user).for_list()


def with_urgency(items, today: date | None = None):
    """Order overdue first, then due soon, then the rest (each by due date)."""
    today = today or timezone.localdate()
    soon = today + timedelta(days=settings.ACTION_DUE_SOON_DAYS)
    urgency = Case(
        When(status__in=["done", "wont_do"], then=Value(3)),
        When(due_date__lt=today, then=Value(0)),
        When(due_date__lte=soon, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return items.annotate(urgency=urgency).order_by("urgency", F("due_date").asc(nulls_last=True), "pk")


def my_action_items(user, today: date | None = None):
    """The user's open items, most urgent first."""
    return with_urgency(action_items_for(user).open().filter(owner=user), today)


def team_action_items(team: Team, user, today: date | None = None):
    """A team's open items that ``user`` may read, most urgent first."""
    return with_urgency(action_items_for(user).open().filter(team=team), today)


def overdue_board(user, today: date | None = None):
    """Overdue items across the organisation that ``user`` may read, oldest first."""
    return action_items_for(user).overdue(today).order_by("due_date", "pk")


def action_item_detail(user, reference: str) -> ActionItem:
    """One item with its history and comments, or 404 when ``user`` may not read it."""
    changes = ActionItemChange.objects.select_related("changed_by").order_by("changed_at", "pk")
    comments = ActionItemComment.objects.select_related("author").order_by("created_at", "pk")
    queryset = (
        action_items_for(user)
        .select_related("postmortem__facilitator")
        .prefetch_related(Prefetch("changes", queryset=changes), Prefetch("comments", queryset=comments))
    )
    try:
        return queryset.get(reference=reference)
    except ActionItem.DoesNotExist:
        raise Http404("No such action item") from None


CHOICE_FIELDS = ("kind", "priority", "status")


def readable_history(item: ActionItem) -> list[dict]:
    """Each change with owner and team ids shown as names (two queries at most) and choices
    as their labels; an item's first row (``created``) holds its initial values."""
    changes = list(item.changes.all())
    wanted = {"owner": set(), "team": set()}
    for change in changes:
        for field in wanted:
            wanted[field].update(v for v in change.changes.get(field, []) if v)
    names = {"owner": {}, "team": {}}
    if wanted["owner"]:
        users = get_user_model().objects.filter(pk__in=wanted["owner"])
        names["owner"] = {str(u.pk): u.get_full_name() or u.username for u in users}
    if wanted["team"]:
        names["team"] = {str(t.pk): t.name for t in Team.objects.filter(pk__in=wanted["team"])}
    # Choices are stored as values ("in_progress") and shown as labels ("In progress").
    names.update({field: dict(ActionItem._meta.get_field(field).choices) for field in CHOICE_FIELDS})
    rows = []
    for change in changes:
        fields = []
        for field, (old, new) in change.changes.items():
            lookup = names.get(field, {})
            fields.append({"name": field.replace("_", " "), "old": lookup.get(old, old), "new": lookup.get(new, new)})
        rows.append({"change": change, "created": change.created, "fields": fields})
    return rows


def outbox():
    """The ledger for the staff's outbox page, newest first (no joins: the row holds what is shown)."""
    return Notification.objects.defer("claim_token").order_by("-created_at", "-id")
