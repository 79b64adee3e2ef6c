"""Celery tasks: create one issue, push an item's change to its issue, read one issue back,
apply a webhook, and the reconcile job."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from actions.tasks import DATABASE_BACKOFF, DATABASE_ERRORS, backoff

from . import services
from .clients import TrackerError

# A tracker that is down or refuses the token: exponential from 30 s up to 30 minutes, with
# full jitter, far below the broker's visibility timeout. Past the retries the reconcile
# job's sweep keeps trying every few minutes, and the error stays on the item.
TRACKER_BACKOFF = {"factor": 30, "maximum": 1800}
MAX_RETRIES = 8
# A push that finds the issue held by another job (a read-back or push takes seconds; a lease
# left by a dead worker ends within services.LEASE) tries again this much later.
BUSY_RETRY = 15


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def create_tracker_issue(self, issue_id: int) -> bool:
    """Create one claimed issue in its tracker; retried with backoff while the tracker fails."""
    wait = backoff(self.request.retries, **TRACKER_BACKOFF)
    try:
        return services.create_issue(issue_id, retry_in=timedelta(seconds=wait))
    except services.TrackerIssue.DoesNotExist:
        return False
    except DATABASE_ERRORS as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries, **DATABASE_BACKOFF)) from exc
    except TrackerError as exc:
        raise self.retry(exc=exc, countdown=wait) from exc


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def push_tracker_issue(self, issue_id: int) -> bool:
    """Send an item's change (state, title, due date) to its issue; retried with backoff while
    the tracker is down, not when it refuses (the refusal shows on the item)."""
    wait = backoff(self.request.retries, **TRACKER_BACKOFF)
    try:
        return services.push_issue(issue_id)
    except services.TrackerIssue.DoesNotExist:
        return False
    except services.LeaseBusy as exc:
        raise self.retry(exc=exc, countdown=BUSY_RETRY) from exc
    except DATABASE_ERRORS as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries, **DATABASE_BACKOFF)) from exc
    except TrackerError as exc:
        raise self.retry(exc=exc, countdown=wait) from exc


@shared_task(acks_late=True)
def sync_tracker_issue(issue_id: int) -> bool:
    """Read one linked issue back and close or reopen its item to match (the reconcile job
    tries again on its next run when the tracker fails)."""
    try:
        return services.sync_issue(issue_id)
    except (services.TrackerIssue.DoesNotExist, TrackerError):
        return False


@shared_task(acks_late=True)
def apply_tracker_webhook(issue_id: int, closed: bool, not_planned: bool = False) -> bool:
    """A webhook's close or reopen, applied outside the request (it reads the closing comment)."""
    issue = (
        services.TrackerIssue.objects.select_related("connection__acting_user", "requested_by")
        .filter(pk=issue_id)
        .first()
    )
    if issue is None:
        return False
    services.TrackerIssue.objects.filter(pk=issue_id).update(remote_closed=closed)
    return services.apply_remote_state(issue=issue, closed=closed, not_planned=not_planned, explicit=True)


@shared_task(acks_late=True)
def reconcile_tracker_issues(chunk_size: int = 200) -> dict:
    """Catch what webhooks and lost tasks missed, chunk by chunk: push every item out of step
    with its issue, read back every linked issue not read within TRACKER_RECONCILE_AFTER, claim
    the issues a publication should have claimed, and enqueue every create whose task was lost
    or gave up. Pushes go first, so a read-back does not take a change made here for one there."""
    older_than = timedelta(seconds=settings.TRACKER_RECONCILE_AFTER)
    pushed = _each_chunk(
        lambda last: services.take_pushes_for_sweep(after_id=last, limit=chunk_size), push_tracker_issue
    )
    synced = _each_chunk(
        lambda last: services.due_for_reconcile(after_id=last, limit=chunk_size, older_than=older_than),
        sync_tracker_issue,
    )
    claimed = len(services.claim_missing_on_publish(since=services.MISSING_CLAIMS_WITHIN))
    created = 0
    while ids := services.take_creates_for_sweep(chunk_size):
        for issue_id in ids:
            create_tracker_issue.delay(issue_id)
        created += len(ids)
    return {"pushed": pushed, "synced": synced, "claimed": claimed, "created": created}


def _each_chunk(next_chunk, task) -> int:
    """Enqueue ``task`` for every id ``next_chunk(after_id)`` gives, chunk after chunk."""
    count = last = 0
    while ids := next_chunk(last):
        for issue_id in ids:
            task.delay(issue_id)
        count += len(ids)
        last = ids[-1]
    return count
