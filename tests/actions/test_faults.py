"""Mail under faults: refusals for good and for now, a database that goes away, lost tasks.

The SMTP server is a real aiosmtpd server on loopback that refuses chosen recipients
with the reply a real server gives. The database test runs a real Celery worker (as
tests/actions/test_worker.py starts it) and makes PostgreSQL refuse its connections.
"""

import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from celery import Celery
from django.db import connection

from actions import notifications, tasks
from actions.models import Notification
from config import schedule
from tests.workers import broker, wait_for, worker_on_own_queue

from .smtp import free_port


class Refusing:
    """Accepts mail, except that a recipient listed in ``replies`` gets those replies first."""

    def __init__(self, replies: dict[str, list[str]]):
        self.replies = replies
        self.asked: list[str] = []
        self.messages: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        self.asked.append(address)
        if self.replies.get(address):
            return self.replies[address].pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@contextmanager
def refusing_server(replies: dict[str, list[str]]):
    handler = Refusing(replies)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        handler.port = controller.port
        yield handler
    finally:
        controller.stop()


def _message(email: str, **fields) -> Notification:
    return Notification.objects.create(
        kind=Notification.Kind.DIGEST,
        recipient_email=email,
        period_key="2026-W11",
        subject="Your action items this week",
        body_text="3 items are overdue.",
        **fields,
    )


def _use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5


@pytest.mark.django_db
def test_a_recipient_refused_for_good_fails_at_once_and_one_refused_for_now_is_retried(settings):
    gone, busy = _message("gone@example.com"), _message("busy@example.com")
    replies = {
        "gone@example.com": ["550 5.1.1 No such user here"] * 20,
        "busy@example.com": ["451 4.3.0 Mailbox busy, try again later"] * 2,
    }
    with refusing_server(replies) as server:
        _use_smtp(settings, server.port)
        # The task as a worker runs it; applied here, its retries run at once.
        tasks.deliver_notification.apply(args=[gone.pk])
        tasks.deliver_notification.apply(args=[busy.pk])

    assert server.asked.count("gone@example.com") == 1  # asked once, never again
    gone.refresh_from_db()
    assert (gone.state, gone.attempts) == ("refused", 1)
    assert "550" in gone.last_error and "No such user here" in gone.last_error

    assert server.asked.count("busy@example.com") == 3  # two 451s, then accepted
    assert [envelope.rcpt_tos for envelope in server.messages] == [["busy@example.com"]]
    busy.refresh_from_db()
    assert (busy.state, busy.attempts, busy.last_error) == ("sent", 3, "")

    # The sweep never sends a refused message again, however long it waits.
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2)):
        assert notifications.take_for_sweep() == []


@pytest.mark.django_db
def test_wrong_mail_server_credentials_are_not_retried(settings):
    row = _message("owner@example.com")
    handler = Refusing({})
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=lambda *args: AuthResult(success=False, handled=False),  # answer 535
        auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN"],  # smtplib and aiosmtpd's LOGIN wait on each other
    )
    controller.start()
    try:
        _use_smtp(settings, controller.port)
        settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "tracker", "wrong"
        tasks.deliver_notification.apply(args=[row.pk])
    finally:
        controller.stop()
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("refused", 1)
    assert "SMTPAuthenticationError" in row.last_error and "535" in row.last_error
    assert handler.messages == []


@pytest.mark.django_db
def test_the_sweep_drains_every_lost_message_in_one_run(enqueued):
    rows = [
        Notification(kind="digest", recipient_email=f"owner{n}@example.com", period_key="2026-W11", subject="Digest")
        for n in range(1200)
    ]
    Notification.objects.bulk_create(rows)
    Notification.objects.update(created_at=datetime.now(UTC) - timedelta(minutes=30))  # claimed, never enqueued
    on_its_way = _message("fresh@example.com")  # claimed a moment ago: its task is in the queue

    assert tasks.deliver_undelivered(chunk_size=500) == 1200  # three chunks in one run
    assert sorted(enqueued) == sorted(Notification.objects.exclude(pk=on_its_way.pk).values_list("pk", flat=True))
    assert tasks.deliver_undelivered() == 0  # the next minute's run leaves them to their tasks


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_enqueue_each_message_once(enqueued):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: sweeps cannot overlap there")
    Notification.objects.bulk_create(
        Notification(kind="digest", recipient_email=f"owner{n}@example.com", period_key="2026-W11", subject="Digest")
        for n in range(600)
    )
    Notification.objects.update(created_at=datetime.now(UTC) - timedelta(minutes=30))
    barrier, errors = threading.Barrier(2), []

    def sweep():
        try:
            barrier.wait(timeout=10)
            tasks.deliver_undelivered(chunk_size=50)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(enqueued) == len(set(enqueued)) == 600


@pytest.mark.django_db
def test_a_message_whose_worker_died_mid_send_goes_out_within_five_minutes():
    row = _message("owner@example.com")
    killed_at = datetime.now(UTC)
    assert notifications._take_lease(row.pk)  # a worker took it, then was killed

    with time_machine.travel(killed_at + timedelta(minutes=1)):
        assert notifications.take_for_sweep() == []  # the lease still keeps others off
    # The sweep runs every minute; within five minutes one finds the lease expired.
    with time_machine.travel(killed_at + timedelta(minutes=4)):
        assert notifications.take_for_sweep() == [row.pk]
        assert notifications.take_for_sweep() == []  # enqueued once, not every minute
        assert notifications.deliver(row.pk) is True
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("sent", 2)


@pytest.mark.django_db
def test_an_installed_ten_minute_sweep_moves_to_every_minute():
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    name = "Deliver pending and failed emails"
    PeriodicTask.objects.filter(name=name).delete()
    every_ten, _ = CrontabSchedule.objects.get_or_create(minute="*/10")
    PeriodicTask.objects.create(name=name, task="actions.tasks.deliver_undelivered", crontab=every_ten)
    schedule.install_schedule()
    assert PeriodicTask.objects.get(name=name).crontab.minute == "*"

    # An operator's own choice stays.
    hourly, _ = CrontabSchedule.objects.get_or_create(minute="7")
    PeriodicTask.objects.filter(name=name).update(crontab=hourly)
    schedule.install_schedule()
    assert PeriodicTask.objects.get(name=name).crontab.minute == "7"


# ---------------------------------------------------------------- a real worker, a database that goes away


@contextmanager
def _worker(tmp_path, email_port: int):
    broker_url, transport_options = broker(tmp_path / "var")
    log = tmp_path / "worker.log"
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{email_port}"}
    with worker_on_own_queue(log, var_dir=tmp_path / "var", broker_url=broker_url, env=env) as queue:
        sender = Celery("test-sender", broker=broker_url, set_as_current=False)
        sender.conf.broker_transport_options = transport_options
        yield lambda task, *args: sender.send_task(task, args=args, queue=queue), log


def _refuse_connections(refuse: bool) -> None:
    """PostgreSQL turns away new connections to the test database, and drops the others but ours."""
    import psycopg

    db = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ours = cursor.fetchone()[0]
    admin = psycopg.connect(
        dbname="postgres", user=db["USER"], password=db["PASSWORD"] or None, host=db["HOST"], port=db["PORT"] or 5432
    )
    with admin, admin.cursor() as cursor:
        admin.autocommit = True
        cursor.execute(f'ALTER DATABASE "{db["NAME"]}" ALLOW_CONNECTIONS {not refuse}')
        if refuse:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                [db["NAME"], ours],
            )


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_delivery_that_meets_a_database_outage_is_retried_and_sent_once(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL, to turn the worker's connections away")
    row = _message("owner@example.com")
    with refusing_server({}) as server, _worker(tmp_path, server.port) as (send, log):
        _refuse_connections(True)
        try:
            send("actions.tasks.deliver_notification", row.pk)
            wait_for(lambda: "OperationalError" in log.read_text() and "Retry in" in log.read_text(), "a retry", log)
        finally:
            _refuse_connections(False)
        wait_for(lambda: Notification.objects.get(pk=row.pk).state == "sent", "the message sent", log)

    assert [envelope.rcpt_tos for envelope in server.messages] == [["owner@example.com"]]
