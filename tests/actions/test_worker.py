"""A real Celery worker runs a job sent by its beat task name, and its mail reaches a real SMTP server.

The worker is a subprocess started as the Procfile starts it (threads pool), on the
configured broker: kombu's filesystem transport in a folder of the test's own by
default, Redis when CELERY_BROKER_URL says so. It has its own node name and default
queue, so parallel runs on one Redis never take each other's tasks. It opens the test
database (a file on SQLite, see config/test_settings.py) and sends to an aiosmtpd
server on loopback.
"""

from datetime import timedelta

import pytest
from celery import Celery
from django.utils import timezone

from actions.models import Notification
from tests.workers import broker, wait_for, worker_on_own_queue

from .conftest import Org
from .smtp import smtp_server

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_the_chase_job_sent_by_its_beat_name_runs_in_a_worker_and_mail_reaches_smtp(tmp_path):
    org = Org()
    org.item(due_date=timezone.localdate() - timedelta(days=10), title="Add a lock timeout")
    var_dir, log = tmp_path / "var", tmp_path / "worker.log"
    broker_url, transport_options = broker(var_dir)

    with smtp_server() as inbox:
        env = {
            "EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}",
            # Chase whatever the day and hour the test happens to run.
            "ACTION_CHASE_WEEKDAYS": "0,1,2,3,4,5,6",
            "ACTION_CHASE_HOUR": "0",
        }
        # The worker's own queue is also the default, so deliveries the job enqueues come back to it.
        with worker_on_own_queue(log, var_dir=var_dir, broker_url=broker_url, env=env) as queue:
            sender = Celery("test-sender", broker=broker_url, set_as_current=False)
            sender.conf.broker_transport_options = transport_options
            sender.send_task("actions.tasks.chase_overdue_items", queue=queue)

            wait_for(lambda: len(inbox.messages) >= 3, "three messages at the SMTP server", log)
            sender.send_task("actions.tasks.chase_overdue_items", queue=queue)  # a second run sends nothing
            wait_for(lambda: log.read_text().count("chase_overdue_items") >= 4, "the second run", log)

    assert sorted(inbox.recipients()) == ["facilitator@example.com", "lead@example.com", "owner@example.com"]
    assert all(b"AI-0001" in envelope.content for envelope in inbox.messages)
    assert set(Notification.objects.values_list("state", flat=True)) == {"sent"}
    assert Notification.objects.count() == 3
