"""A real Celery worker runs a job sent by its beat task name, and its mail reaches a real SMTP server.

The worker is a subprocess started as the Procfile starts it (threads pool), on the
configured broker: kombu's filesystem transport in a folder of the test's own by
default, Redis when CELERY_BROKER_URL says so. It has its own node name and default
queue, so parallel runs on one Redis never take each other's tasks. It opens the test
database (a file on SQLite, see config/test_settings.py) and sends to an aiosmtpd
server on loopback.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection
from django.utils import timezone

from actions.models import Notification

from .conftest import Org
from .smtp import smtp_server

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _broker(var_dir: Path) -> tuple[str, dict]:
    """The broker URL and transport options the worker's settings will use."""
    url = os.environ.get("CELERY_BROKER_URL", "filesystem://localhost/")
    if not url.startswith("filesystem://"):
        return url, {}
    folder = var_dir / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return url, {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "control_folder": str(folder / "control"),
    }


def _wait_for(predicate, what: str, log: Path):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"Timed out waiting for {what}. Worker log:\n{log.read_text()}")


def _stop(proc: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def test_the_chase_job_sent_by_its_beat_name_runs_in_a_worker_and_mail_reaches_smtp(tmp_path):
    org = Org()
    org.item(due_date=timezone.localdate() - timedelta(days=10), title="Add a lock timeout")
    suffix = uuid.uuid4().hex[:12]
    name, queue, log = f"test-{suffix}@localhost", f"test-{suffix}", tmp_path / "worker.log"
    var_dir = tmp_path / "var"
    broker_url, transport_options = _broker(var_dir)

    with smtp_server() as inbox:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "tests-only-not-a-secret",
            "DEBUG": "false",
            "VAR_DIR": str(var_dir),
            "DATABASE_URL": _database_url(),
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
            _wait_for(lambda: f"{name} ready." in log.read_text() or proc.poll() is not None, "the worker", log)
            assert proc.poll() is None, log.read_text()

            sender = Celery("test-sender", broker=broker_url, set_as_current=False)
            sender.conf.broker_transport_options = transport_options
            sender.send_task("actions.tasks.chase_overdue_items", queue=queue)

            _wait_for(lambda: len(inbox.messages) >= 3, "three messages at the SMTP server", log)
            sender.send_task("actions.tasks.chase_overdue_items", queue=queue)  # a second run sends nothing
            _wait_for(lambda: log.read_text().count("chase_overdue_items") >= 4, "the second run", log)
        finally:
            _stop(proc)

    assert sorted(inbox.recipients()) == ["facilitator@example.com", "lead@example.com", "owner@example.com"]
    assert all(b"AI-0001" in envelope.content for envelope in inbox.messages)
    assert set(Notification.objects.values_list("state", flat=True)) == {"sent"}
    assert Notification.objects.count() == 3
