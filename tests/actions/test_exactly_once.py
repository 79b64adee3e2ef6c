"""Every message goes out exactly once: interrupted runs, concurrent runs, a mail server that was down."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection

from actions import jobs, notifications, tasks
from actions.models import Notification
from tests.factories import UserFactory

from .conftest import deliver_pending, sent_keys
from .smtp import free_port, smtp_server

MONDAY = datetime(2026, 3, 9, 9, 30, tzinfo=UTC)


def _overdue_items(org, count: int, owners: int = 3):
    people = [org.owner] + [UserFactory(username=f"owner{n}") for n in range(owners - 1)]
    for n in range(count):
        org.item(owner=people[n % owners], due_date=date(2026, 2, 20) + timedelta(days=n % 5))


def _expected_messages(count: int) -> int:
    """One reminder per item; two escalations (lead, facilitator) per item 7+ days overdue (all of them)."""
    return count * 3


@pytest.mark.django_db
def test_an_interrupted_run_run_again_sends_each_remaining_message_once(
    org, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    _overdue_items(org, 6)
    real_claim = jobs.claim_many
    calls = {"n": 0}

    def dies_on_the_second_chunk(messages, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return real_claim(messages, **kwargs)

    monkeypatch.setattr(jobs, "claim_many", dies_on_the_second_chunk)
    with pytest.raises(SystemExit), django_capture_on_commit_callbacks(execute=True):
        jobs.chase_overdue_items(now=MONDAY, chunk_size=2)
    first_batch = list(enqueued)
    assert first_batch and Notification.objects.count() == len(first_batch) == 6
    # The worker sent part of that batch before it died.
    for notification_id in first_batch[:4]:
        notifications.deliver(notification_id)
    assert len(mail.outbox) == 4

    monkeypatch.setattr(jobs, "claim_many", real_claim)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.chase_overdue_items(now=MONDAY, chunk_size=2)  # the retried run
        jobs.chase_overdue_items(now=MONDAY, chunk_size=2)  # and once more for good measure
    assert len(enqueued) == _expected_messages(6)  # each row enqueued once, by the run that created it
    deliver_pending()  # the workers and the sweep

    keys = sent_keys()
    assert len(keys) == len(set(keys)) == _expected_messages(6)
    assert len(mail.outbox) == _expected_messages(6)


@pytest.mark.django_db
def test_a_worker_killed_while_holding_a_lease_leaves_the_message_for_another(org):
    org.item(due_date=date(2026, 3, 6))
    jobs.chase_overdue_items(now=MONDAY, enqueue=False)
    row = Notification.objects.get()
    assert notifications._take_lease(row.pk)  # a worker took it, then died before sending
    assert notifications.deliver(row.pk) is False  # the lease keeps others off meanwhile
    with time_machine.travel(datetime.now(UTC) + notifications.LEASE + timedelta(seconds=1)):
        assert notifications.deliver(row.pk) is True
        assert notifications.deliver(row.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_message_once(enqueued):
    from .conftest import Org

    org = Org()
    _overdue_items(org, 150, owners=10)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(work):
        try:
            barrier.wait(timeout=10)
            work()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    def chase():
        jobs.chase_overdue_items(now=MONDAY, chunk_size=40)

    threads = [threading.Thread(target=run, args=(chase,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(enqueued) == len(set(enqueued)) == _expected_messages(150)  # each row enqueued by its creator only

    def deliver_all():
        for notification_id in enqueued:
            notifications.deliver(notification_id)

    threads = [threading.Thread(target=run, args=(deliver_all,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    keys = sent_keys()
    assert len(keys) == len(set(keys)) == _expected_messages(150)
    assert len(mail.outbox) == _expected_messages(150)


@pytest.mark.django_db
def test_smtp_down_then_up_delivers_once_and_records_the_attempts(org, settings, monkeypatch):
    org.item(due_date=date(2026, 3, 6))
    jobs.chase_overdue_items(now=MONDAY, enqueue=False)
    row = Notification.objects.get()
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5

    # The server is down: the task's first try fails, and Celery would retry with backoff.
    with pytest.raises(OSError) as down:
        notifications.deliver(row.pk)
    assert notifications.failure_of(down.value) is notifications.Failure.TRANSIENT
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("failed", 1)
    assert "ConnectionRefusedError" in row.last_error

    with smtp_server(port) as inbox:
        # The sweep finds the failed row and enqueues it; the worker sends it.
        monkeypatch.setattr(tasks.deliver_notification, "delay", lambda pk: notifications.deliver(pk))
        assert tasks.deliver_undelivered() == 1
        assert tasks.deliver_undelivered() == 0
        assert notifications.deliver(row.pk) is False

    assert inbox.recipients() == ["owner@example.com"]
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, "")
