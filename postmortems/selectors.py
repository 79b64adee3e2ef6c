"""Reads about postmortems behind pages: what awaits a reviewer, who publishes next."""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery

from accounts.access import may_publish

from .models import Postmortem, Review
from .services import current_decisions


def awaiting_review(user, *, limit: int = 10) -> QuerySet[Postmortem]:
    """Postmortems in review where ``user`` is a requested reviewer whose latest decision on the
    current version is not an approval (none yet, or changes requested), oldest submission first.
    One query, whatever the number of rows."""
    latest_decision = (
        Review.objects.filter(postmortem=OuterRef("pk"), reviewer=user, postmortem_version=OuterRef("version"))
        .order_by("-created_at", "-id")
        .values("decision")[:1]
    )
    return (
        Postmortem.objects.reviewable_by(user)
        .filter(status=Postmortem.Status.IN_REVIEW)
        .annotate(my_decision=Subquery(latest_decision))
        .filter(Q(my_decision__isnull=True) | ~Q(my_decision=Review.Decision.APPROVE))
        .for_list()
        .order_by("submitted_at", "id")[:limit]
    )


def publish_next(postmortem: Postmortem, user) -> dict | None:
    """Once the current version is approved (and nobody asks for changes), who publishes it:
    the people ``may_publish`` allows, the facilitator or an admin. ``None`` before that.
    ``you`` says whether ``user`` is one of them."""
    if postmortem.status != Postmortem.Status.IN_REVIEW:
        return None
    decisions = set(current_decisions(postmortem).values())
    if Review.Decision.APPROVE not in decisions or Review.Decision.REQUEST_CHANGES in decisions:
        return None
    return {"facilitator": postmortem.facilitator, "you": may_publish(user, postmortem)}
