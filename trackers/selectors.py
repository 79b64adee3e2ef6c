"""Reads that put an item's tracker issue beside it."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist

from .models import TrackerIssue


def with_tracker_issue(items):
    """``items`` with each one's tracker issue (and its connection) joined into the same query,
    so a list shows the issue key of every row without a query per row."""
    return items.select_related("tracker_issue__connection")


def tracker_issue_of(item) -> TrackerIssue | None:
    """``item``'s tracker issue, or None (read from the join of ``with_tracker_issue`` when there)."""
    try:
        return item.tracker_issue
    except ObjectDoesNotExist:
        return None
