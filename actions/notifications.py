"""Every email goes through the ``Notification`` ledger, so each is sent exactly once.

1. ``notify()`` claims the message: it inserts the ledger row under its unique key
   (recipient, kind, subject, period) with the rendered subject and bodies. A second
   call with the same key finds the row and does nothing, whoever calls it and however
   often a job is retried.
2. ``deliver()`` sends one claimed row: a conditional UPDATE takes a short lease, so two
   workers never send the same row at once; the SMTP conversation happens outside any
   transaction; the row is marked sent only after the server accepted the message.
   A failure records the attempt and the error on the row, and how it ends depends on
   what failed (``failure_of``): a permanent refusal (a 5xx reply) makes the row
   ``refused`` for good; a failure that may pass (a 4xx reply, a lost, refused or slow
   connection) leaves it ``failed`` for the task to retry with backoff; anything else
   (a TLS or AUTH setup the server does not offer, a bug) leaves it ``failed`` and is not
   retried by the task: the sweep tries again after ``UNEXPECTED_WAIT``.

Jobs that claim thousands of messages use ``claim_many()``: one query finds the keys
already claimed, the rest are rendered and inserted with ``bulk_create(ignore_conflicts=True)``
(a concurrent run's rows win, silently), and only the rows this call created are enqueued.

Only a worker killed between the server's "accepted" and the ledger's "sent" can send
one message twice; nothing else repeats.
"""

from __future__ import annotations

import errno
import logging
import smtplib
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from email.header import Header
from enum import StrEnum

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from .models import Notification

logger = logging.getLogger(__name__)

# How long a worker may take to send one message before another may take it over. A send
# is a few SMTP commands of at most EMAIL_TIMEOUT each; a worker killed while holding a
# lease delays that message by at most this (plus a sweep).
LEASE = timedelta(minutes=3)
# A queued or retrying message is left to its task this long past when the task should
# have run; after that the sweep enqueues it again (its task was lost with a worker).
SWEEP_GRACE = timedelta(minutes=2)
SWEEP_CHUNK = 1000
# After a failure that is neither a refusal nor one that passes on its own (the mail settings
# are wrong, a bug), the sweep sends the message again this much later: soon enough that mail
# flows within the hour once someone fixes it, rarely enough not to hammer the server meanwhile.
UNEXPECTED_WAIT = timedelta(hours=1)

# Network failures that pass: the server is restarting or unreachable for now, the connection
# dropped or timed out, the name did not resolve this time.
TRANSIENT_NETWORK_ERRORS = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, socket.gaierror)
TRANSIENT_ERRNOS = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTDOWN})


class Failure(StrEnum):
    """How a failed send ends (``failure_of``)."""

    REFUSED = "refused"  # the server said never: the row is refused, nobody retries it
    TRANSIENT = "transient"  # it may pass: the task retries with backoff
    UNEXPECTED = "unexpected"  # neither: recorded, and the sweep tries again after UNEXPECTED_WAIT


def absolute_url(path: str) -> str:
    """A link for emails: the site's base URL plus ``path``."""
    return f"{settings.SITE_URL}{path}"


def render_message(template: str, context: dict) -> tuple[str, str, str]:
    """Render ``<template>_subject.txt``, ``.txt`` and ``.html`` into (subject, text, html)."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    return subject, text, html


def notify(
    *,
    kind: str,
    recipient_email: str,
    period_key: str,
    template: str,
    context: dict,
    recipient=None,
    subject_key: str = "",
    item=None,
    postmortem=None,
    enqueue: bool = True,
) -> Notification | None:
    """Claim one message in the ledger and (after commit) enqueue its delivery.

    Returns the new row, or None when that message was already claimed before.
    """
    if not recipient_email:
        return None
    key = {"recipient_email": recipient_email, "kind": kind, "subject_key": subject_key, "period_key": period_key}
    if Notification.objects.filter(**key).exists():
        return None
    subject, text, html = render_message(template, context)
    try:
        with transaction.atomic():
            row = Notification.objects.create(
                **key,
                recipient=recipient,
                item=item,
                postmortem=postmortem,
                subject=subject[:255],
                body_text=text,
                body_html=html,
            )
    except IntegrityError:  # a concurrent run claimed it first
        return None
    if enqueue:
        from .tasks import deliver_notification

        transaction.on_commit(lambda: deliver_notification.delay(row.pk))
    return row


@dataclass
class Message:
    """One message to claim: its ledger key, what it is about, and how to render it."""

    kind: str
    recipient_email: str
    period_key: str
    template: str
    # The template context, or a function returning it: called only if the message is new.
    context: dict | Callable[[], dict] = field(default_factory=dict)
    recipient_id: int | None = None
    subject_key: str = ""
    item_id: int | None = None
    postmortem_id: int | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.recipient_email, self.kind, self.subject_key, self.period_key)


def _already_claimed(messages: list[Message]) -> set[tuple[str, str, str, str]]:
    """The keys among ``messages`` that the ledger holds already (one indexed query)."""
    rows = Notification.objects.filter(kind__in={m.kind for m in messages})
    if all(m.item_id for m in messages):
        rows = rows.filter(item_id__in={m.item_id for m in messages})
    elif all(m.postmortem_id for m in messages):
        rows = rows.filter(postmortem_id__in={m.postmortem_id for m in messages})
    else:
        rows = rows.filter(
            recipient_email__in={m.recipient_email for m in messages}, period_key__in={m.period_key for m in messages}
        )
    return set(rows.values_list("recipient_email", "kind", "subject_key", "period_key"))


def claim_many(messages: Iterable[Message], *, enqueue: bool = True) -> list[int]:
    """Claim a batch of messages; return the ids of the rows this call created.

    Keys claimed before (by an earlier or a concurrent run) are skipped without
    rendering. Call with batches of a few thousand: the work is a constant number of
    queries per batch, whatever the batch holds.
    """
    batch = {m.key: m for m in messages if m.recipient_email}
    if not batch:
        return []
    claimed = _already_claimed(list(batch.values()))
    token = uuid.uuid4().hex
    rows = []
    for key, message in batch.items():
        if key in claimed:
            continue
        context = message.context() if callable(message.context) else message.context
        subject, text, html = render_message(message.template, context)
        rows.append(
            Notification(
                recipient_email=message.recipient_email,
                kind=message.kind,
                subject_key=message.subject_key,
                period_key=message.period_key,
                recipient_id=message.recipient_id,
                item_id=message.item_id,
                postmortem_id=message.postmortem_id,
                subject=subject[:255],
                body_text=text,
                body_html=html,
                claim_token=token,
            )
        )
    if not rows:
        return []
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    ids = list(Notification.objects.filter(claim_token=token).order_by("pk").values_list("pk", flat=True))
    if enqueue and ids:
        transaction.on_commit(lambda: _enqueue(ids))
    return ids


def _enqueue(ids: list[int]) -> None:
    from .tasks import deliver_notification

    for notification_id in ids:
        deliver_notification.delay(notification_id)


class _Email(EmailMultiAlternatives):
    """Django encodes a non-ASCII subject without knowing it is the Subject header, so the
    encoded words start on a folded second line and mail readers show a leading space
    (or worse); encoding it as the Subject header keeps it on the Subject line."""

    def message(self, *args, **kwargs):
        msg = super().message(*args, **kwargs)
        if not self.subject.isascii():
            msg.replace_header("Subject", Header(self.subject, "utf-8", header_name="Subject"))
        return msg


def _take_lease(notification_id: int) -> bool:
    """Mark the row as being sent by us; False if it is sent or another worker holds it."""
    now = timezone.now()
    claimable = Q(state__in=[Notification.State.PENDING, Notification.State.FAILED]) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    taken = Notification.objects.filter(claimable, pk=notification_id).update(
        claimed_until=now + LEASE, attempts=F("attempts") + 1
    )
    return taken == 1


def deliver(notification_id: int, *, retry_in: timedelta | None = None) -> bool:
    """Send one ledger row if nobody has; True when this call sent it.

    A permanent refusal (a 5xx reply: no such recipient, bad credentials) marks the row
    refused with the server's reply and returns False: retrying cannot help. Any other
    failure is recorded on the row and raised. For a failure that may pass (``failure_of``
    says ``TRANSIENT``) the caller (a Celery task) retries: ``retry_in`` says when, and the
    sweep leaves the row to it until then. Any other failure is not the caller's to retry:
    the sweep tries again after ``UNEXPECTED_WAIT``. If the server accepted the message but
    the ledger cannot record it (the database went away), ``SentNotRecorded`` asks the
    caller to record it later rather than send it again.
    """
    if not _take_lease(notification_id):
        return False
    row = Notification.objects.get(pk=notification_id)
    message = _Email(
        subject=row.subject, body=row.body_text, from_email=settings.DEFAULT_FROM_EMAIL, to=[row.recipient_email]
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    try:
        message.send(fail_silently=False)
    except Exception as exc:
        if _record_failure(row.pk, exc, retry_in=retry_in) is Failure.REFUSED:
            return False
        raise
    try:
        record_sent(row.pk)
    except DatabaseError as exc:
        raise SentNotRecorded(row.pk) from exc
    return True


def _record_failure(notification_id: int, exc: Exception, *, retry_in: timedelta | None) -> Failure:
    """Record why the send failed and when the sweep may take the row again."""
    failure = failure_of(exc)
    if failure is Failure.UNEXPECTED:
        retry_in = UNEXPECTED_WAIT
    retry_at = timezone.now() + (retry_in + SWEEP_GRACE if retry_in is not None else timedelta(0))
    Notification.objects.filter(pk=notification_id).update(
        state=Notification.State.REFUSED if failure is Failure.REFUSED else Notification.State.FAILED,
        last_error=error_text(exc)[:2000],
        claimed_until=None,
        retry_at=retry_at,
    )
    log = logger.error if failure is Failure.UNEXPECTED else logger.warning
    log("Sending notification %s failed (%s): %s", notification_id, failure, exc)
    return failure


def error_text(exc: BaseException) -> str:
    """The failure as the outbox shows it: its type and, for an SMTP reply, the code and the
    server's words (``550 5.1.1 No such user here``) rather than Python's repr of them."""

    def reply(code: int, message: bytes | str) -> str:
        words = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        return f"{code} {' '.join(words.split())}"

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        detail = "; ".join(f"{reply(*answer)} ({address})" for address, answer in exc.recipients.items())
    elif isinstance(exc, smtplib.SMTPResponseException):
        detail = reply(exc.smtp_code, exc.smtp_error)
    else:
        detail = str(exc)
    return f"{type(exc).__name__}: {detail}"


class SentNotRecorded(Exception):
    """The mail server accepted the message, but the ledger could not mark it sent."""


def record_sent(notification_id: int) -> bool:
    """Mark a row sent (the server accepted it); False if it was marked already."""
    return bool(
        Notification.objects.exclude(state=Notification.State.SENT)
        .filter(pk=notification_id)
        .update(state=Notification.State.SENT, sent_at=timezone.now(), claimed_until=None, last_error="")
    )


def failure_of(exc: BaseException) -> Failure:
    """Whether a failed send is refused for good, may pass, or is neither."""
    if is_permanent_refusal(exc):
        return Failure.REFUSED
    if is_transient(exc):
        return Failure.TRANSIENT
    return Failure.UNEXPECTED


def is_transient(exc: BaseException) -> bool:
    """True for a failure that may pass: a 4xx reply ("try again later"), a connection that was
    refused, reset, dropped or timed out, an unreachable network or a name that did not resolve."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return not is_permanent_refusal(exc)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, TRANSIENT_NETWORK_ERRORS):
        return True
    return isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS


def is_permanent_refusal(exc: BaseException) -> bool:
    """True for an SMTP reply that says "never" (5xx); 4xx replies and lost connections may pass."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data refused, authentication
        return exc.smtp_code >= 500
    return False


def undelivered_ids(limit: int = 1000) -> list[int]:
    """Rows still to send (pending or failed, not leased), whether or not a task is on its way."""
    now = timezone.now()
    return list(
        Notification.objects.filter(state__in=[Notification.State.PENDING, Notification.State.FAILED])
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def take_for_sweep(limit: int = SWEEP_CHUNK) -> list[int]:
    """Claim up to ``limit`` rows that no task will send, for the sweep to enqueue.

    A row qualifies when it is pending or failed, nobody holds its lease, and its task is
    overdue: created (or last swept or failed) longer than SWEEP_GRACE ago, or past its
    retry time plus that grace. Claiming pushes ``retry_at`` on, so a row is enqueued once
    per grace period however many sweeps run at once (concurrent sweeps skip each other's
    locked rows), and a sweep that claims until this returns nothing ends.
    """
    now = timezone.now()
    due = Q(retry_at__lte=now) | Q(retry_at__isnull=True, created_at__lte=now - SWEEP_GRACE)
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(state__in=[Notification.State.PENDING, Notification.State.FAILED])
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .filter(due)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        Notification.objects.filter(pk__in=ids).update(retry_at=now + SWEEP_GRACE)
    return ids
