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
