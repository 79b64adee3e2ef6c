"""Celery tasks for action items and the notification ledger."""

from datetime import timedelta

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.db import InterfaceError, OperationalError

from . import notifications

# Mail failures are sorted by ``notifications.failure_of``: only those that may pass (the
# server down or answering 4xx, the network dropped) are retried here. Permanent refusals
# (5xx) never reach the task: ``deliver`` records them and returns.
# The database restarting or failing over; the ledger row is untouched, so just try again.
DATABASE_ERRORS = (OperationalError, InterfaceError)
# Waits between tries, in seconds: exponential from the factor, capped, with full jitter.
# The caps keep a message at most a few minutes behind a recovered server, and every wait
# far below the broker's visibility timeout (see CELERY_BROKER_TRANSPORT_OPTIONS).
MAIL_BACKOFF = {"factor": 30, "maximum": 240}
DATABASE_BACKOFF = {"factor": 2, "maximum": 60}
MAX_RETRIES = 10


def backoff(retries: int, *, factor: int, maximum: int) -> int:
    return get_exponential_backoff_interval(factor, retries, maximum, full_jitter=True)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def deliver_notification(self, notification_id: int, sent: bool = False) -> bool:
    """Send one ledger row; retried with backoff while the mail server or the database is away.

    A permanent refusal is recorded on the row (``refused``) and not retried; so is any
    failure that is not known to pass (it stays ``failed`` until the sweep's next try, an
    hour on). A row whose retries run out stays ``failed`` and the sweep picks it up. ``sent`` means the server
    accepted it but the database could not record that: only the record is retried.
    """
    retries = self.request.retries
    mail_wait = backoff(retries, **MAIL_BACKOFF)
    try:
        if sent:
            return notifications.record_sent(notification_id)
        retry_in = timedelta(seconds=mail_wait) if retries < self.max_retries else None
        return notifications.deliver(notification_id, retry_in=retry_in)
    except notifications.SentNotRecorded as exc:
        raise self.retry(exc=exc, kwargs={"sent": True}, countdown=backoff(retries, **DATABASE_BACKOFF)) from exc
    except DATABASE_ERRORS as exc:
        raise self.retry(exc=exc, countdown=backoff(retries, **DATABASE_BACKOFF)) from exc
    except Exception as exc:
        if notifications.failure_of(exc) is not notifications.Failure.TRANSIENT:
            raise
        raise self.retry(exc=exc, countdown=mail_wait) from exc


@shared_task(acks_late=True)
def deliver_undelivered(chunk_size: int = notifications.SWEEP_CHUNK) -> int:
    """Sweep: enqueue every message no task will send (never enqueued, its worker died,
    or its retries ran out), chunk by chunk until none is left; return how many."""
    swept = 0
    while ids := notifications.take_for_sweep(chunk_size):
        for notification_id in ids:
            deliver_notification.delay(notification_id)
        swept += len(ids)
    return swept


# The periodic jobs. Each runs hourly (see config/schedule.py) and acts for the users for
# whom it is now the right local time; the ledger makes every message go out once, so a
# retried, overlapping or repeated run sends nothing twice.


@shared_task(acks_late=True)
def chase_overdue_items() -> dict:
    """Remind owners of overdue items and escalate long-overdue ones."""
    from .jobs import chase_overdue_items as chase

    return chase()


@shared_task(acks_late=True)
def send_weekly_digests() -> dict:
    """Owners', team leads' and the organisation's weekly digests."""
    from .jobs import send_digests

    return send_digests()


@shared_task(acks_late=True)
def remind_postmortems_due() -> int:
    """Remind facilitators of required postmortems past their due date."""
    from .jobs import remind_postmortems_due as remind

    return remind()
