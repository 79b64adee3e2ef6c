"""Celery tasks for action items and the notification ledger."""

import smtplib

from celery import shared_task

from . import notifications

# Transient mail failures: the server is down, refuses for now, or the network dropped.
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, ConnectionError, TimeoutError, OSError)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT_MAIL_ERRORS,
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=8,
)
def deliver_notification(self, notification_id: int) -> bool:
    """Send one ledger row; retried with backoff while the mail server is unavailable.

    A row that exhausts its retries stays ``failed`` and is picked up by the sweep.
    """
    return notifications.deliver(notification_id)


@shared_task(acks_late=True)
def deliver_undelivered() -> int:
    """Sweep: enqueue every pending or failed message (e.g. after the mail server came back)."""
    ids = notifications.undelivered_ids()
    for notification_id in ids:
        deliver_notification.delay(notification_id)
    return len(ids)


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
