"""Reads behind the pages and the API."""

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from actions.models import ActionItem
from postmortems.models import Postmortem
from postmortems.selectors import awaiting_review
from trackers.selectors import with_tracker_issue

from .models import Incident


def home_for(user, *, limit: int = 10) -> dict:
    """The signed-in user's home page: their open items (overdue first), the postmortems awaiting
    their review, those they facilitate that are not yet published, and recent incidents they may
    see. A fixed number of queries, whatever the number of rows."""
    today = timezone.localdate()
    items = (
        with_tracker_issue(ActionItem.objects.open().filter(owner=user).for_list())
        .annotate(
            overdue_first=Case(When(due_date__lt=today, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        .order_by("overdue_first", "due_date", "id")[:limit]
    )
    postmortems = (
        Postmortem.objects.filter(facilitator=user)
        .exclude(status=Postmortem.Status.PUBLISHED)
        .for_list()
        .order_by("due_date", "id")[:limit]
    )
    incidents = Incident.objects.visible_to(user).for_list()[:limit]
    return {
        "my_items": items,
        "awaiting_my_review": awaiting_review(user, limit=limit),
        "my_postmortems": postmortems,
        "recent_incidents": incidents,
        "today": today,
    }
