"""Which failed sends are retried: only those that may pass.

A recipient refused for good (550) fails at once with the server's reason on the row and in
the outbox; one refused for now (451) is retried with backoff and delivered; everyone else's
mail goes out meanwhile. The first test runs a real Celery worker against a real SMTP server
(aiosmtpd on loopback, as tests/actions/test_faults.py starts them).
"""

import smtplib
import ssl
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from actions import notifications, tasks
from actions.models import Notification
from actions.notifications import Failure
from tests.factories import UserFactory
from tests.workers import wait_for

from .test_faults import _message, _use_smtp, _worker, refusing_server

GONE, BUSY, FINE = "gone@example.com", "busy@example.com", "fine@example.com"
NO_SUCH_USER = "550 5.1.1 No such user here"


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_worker_fails_a_550_at_once_retries_a_451_and_delivers_the_rest(tmp_path, client):
    gone, busy, fine = _message(GONE), _message(BUSY), _message(FINE)
    replies = {GONE: [NO_SUCH_USER] * 20, BUSY: ["451 4.3.0 Mailbox busy, try again later"]}
    with refusing_server(replies) as server, _worker(tmp_path, server.port) as (send, log):
        for row in (gone, busy, fine):
            send("actions.tasks.deliver_notification", row.pk)
        # The 451's retry waits up to 30 s (the first backoff step, with full jitter).
        wait_for(lambda: Notification.objects.filter(state="sent").count() == 2, "two messages sent", log)
        wait_for(lambda: Notification.objects.get(pk=gone.pk).state == "refused", "the 550 recorded", log)
        worker_log = log.read_text()

    assert server.asked.count(GONE) == 1  # asked once, never again
    assert server.asked.count(BUSY) == 2  # refused for now, then accepted
    assert sorted(envelope.rcpt_tos for envelope in server.messages) == [[BUSY], [FINE]]
    assert worker_log.count("Retry in") == 1, worker_log  # the 451 only
    states = {row.recipient_email: (row.state, row.attempts) for row in Notification.objects.all()}
    assert states == {GONE: ("refused", 1), BUSY: ("sent", 2), FINE: ("sent", 1)}
    assert NO_SUCH_USER in Notification.objects.get(pk=gone.pk).last_error

    # An admin reads why in the outbox.
    client.force_login(UserFactory(username="boss", is_staff=True))
    page = client.get("/actions/outbox/", {"state": "refused"}).text
    assert GONE in page and NO_SUCH_USER in page and BUSY not in page


@pytest.mark.django_db
def test_a_failure_that_will_not_pass_is_not_retried_but_swept_an_hour_later(settings):
    row = _message(FINE)
    with refusing_server({}) as server:
        _use_smtp(settings, server.port)
        settings.EMAIL_USE_TLS = True  # this server offers no STARTTLS: the settings are wrong
        result = tasks.deliver_notification.apply(args=[row.pk])
    assert isinstance(result.result, smtplib.SMTPNotSupportedError)  # failed, not retried
    assert server.messages == []
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("failed", 1)
    assert "STARTTLS" in row.last_error

    # Once someone fixes the settings, the sweep sends it within the hour, and not before.
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=30)):
        assert notifications.take_for_sweep() == []
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=65)):
        assert notifications.take_for_sweep() == [row.pk]


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (smtplib.SMTPRecipientsRefused({GONE: (550, b"5.1.1 No such user")}), Failure.REFUSED),
        (smtplib.SMTPSenderRefused(553, b"5.7.1 Sender not allowed", "tracker@example.com"), Failure.REFUSED),
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"), Failure.REFUSED),
        (smtplib.SMTPDataError(554, b"5.6.0 Message rejected"), Failure.REFUSED),
        (smtplib.SMTPRecipientsRefused({BUSY: (451, b"4.3.0 Try later")}), Failure.TRANSIENT),
        (smtplib.SMTPSenderRefused(452, b"4.3.1 Out of storage", "tracker@example.com"), Failure.TRANSIENT),
        (smtplib.SMTPConnectError(421, b"4.3.2 Shutting down"), Failure.TRANSIENT),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), Failure.TRANSIENT),
        (ConnectionRefusedError(111, "Connection refused"), Failure.TRANSIENT),
        (ConnectionResetError(104, "Connection reset by peer"), Failure.TRANSIENT),
        (TimeoutError("timed out"), Failure.TRANSIENT),
        (OSError(113, "No route to host"), Failure.TRANSIENT),
        (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), Failure.UNEXPECTED),
        (ssl.SSLCertVerificationError("certificate verify failed"), Failure.UNEXPECTED),
        (PermissionError(13, "Permission denied: the TLS key file"), Failure.UNEXPECTED),
        (ValueError("Header values may not contain linefeed or carriage return characters"), Failure.UNEXPECTED),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_each_failure_is_sorted_by_whether_retrying_can_help(error, failure):
    assert notifications.failure_of(error) is failure


def test_the_recorded_reason_reads_as_the_server_said_it():
    refused = smtplib.SMTPRecipientsRefused({GONE: (550, b"5.1.1 No such user\n here")})
    assert notifications.error_text(refused) == f"SMTPRecipientsRefused: 550 5.1.1 No such user here ({GONE})"
    auth = smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")
    assert notifications.error_text(auth) == "SMTPAuthenticationError: 535 5.7.8 Authentication credentials invalid"
    assert notifications.error_text(ConnectionRefusedError(111, "Connection refused")) == (
        "ConnectionRefusedError: [Errno 111] Connection refused"
    )
