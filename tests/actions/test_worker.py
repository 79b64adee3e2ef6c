"""A real Celery worker runs a job sent by its beat task name, and its mail reaches a real SMTP server.

The worker is a subprocess started as the Procfile starts it (threads pool), on the
configured broker: kombu's filesystem transport in a folder of the test's own by
default, Redis when CELERY_BROKER_URL says so. It has its own node name and default
queue, so parallel runs on one Redis never take each other's tasks. It opens the test
database (a file on SQLite, see config/test_settings.py) and sends to an aiosmtpd
server on loopback.
"""

import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from celery import Celery
from django.utils import timezone

from actions.models import Notification
from tests.workers import BASE_DIR, broker, database_url, stop, wait_for

from .conftest import Org
from .smtp import smtp_server

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_the_chase_job_sent_by_its_beat_name_runs_in_a_worker_and_mail_reaches_smtp(tmp_path):
    org = Org()
    org.item(due_date=timezone.localdate() - timedelta(days=10), title="Add a lock timeout")
    suffix = uuid.uuid4().hex[:12]
    name, queue, log = f"test-{suffix}@localhost", f"test-{suffix}", tmp_path / "worker.log"
    var_dir = tmp_path / "var"
    broker_url, transport_options = broker(var_dir)

    with smtp_server() as inbox:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "tests-only-not-a-secret",
            "DEBUG": "false",
            "VAR_DIR": str(var_dir),
            "DATABASE_URL": database_url(),
            "EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}",
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": queue,  # deliveries the job enqueues come back to this worker
            # Chase whatever the day and hour the test happens to run.
            "ACTION_CHASE_WEEKDAYS": "0,1,2,3,4,5,6",
            "ACTION_CHASE_HOUR": "0",
        }
        cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--pool=threads"]
        cmd += [
            "--concurrency=2",
            "-n",
            name,
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
        with log.open("w") as out:
            proc = subprocess.Popen(
                cmd, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            wait_for(lambda: f"{name} ready." in log.read_text() or proc.poll() is not None, "the worker", log)
            assert proc.poll() is None, log.read_text()

            sender = Celery("test-sender", broker=broker_url, set_as_current=False)
            sender.conf.broker_transport_options = transport_options
            sender.send_task("actions.tasks.chase_overdue_items", queue=queue)

            wait_for(lambda: len(inbox.messages) >= 3, "three messages at the SMTP server", log)
            sender.send_task("actions.tasks.chase_overdue_items", queue=queue)  # a second run sends nothing
            wait_for(lambda: log.read_text().count("chase_overdue_items") >= 4, "the second run", log)
        finally:
            stop(proc)

    assert sorted(inbox.recipients()) == ["facilitator@example.com", "lead@example.com", "owner@example.com"]
    assert all(b"AI-0001" in envelope.content for envelope in inbox.messages)
    assert set(Notification.objects.values_list("state", flat=True)) == {"sent"}
    assert Notification.objects.count() == 3
