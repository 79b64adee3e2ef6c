"""A real Celery worker runs the create-issue job against Prism serving GitHub's API description."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from celery import Celery

from tests.workers import BASE_DIR, broker, database_url, stop, wait_for
from trackers.models import TrackerIssue

from .conftest import FERNET_KEY, make_org

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_a_worker_creates_the_issue_once_even_when_the_job_is_sent_twice(github_api, tmp_path):
    org = make_org(github_api)
    issue = TrackerIssue.objects.create(item=org.item(), connection=org.connection, requested_by=org.owner)
    suffix = uuid.uuid4().hex[:12]
    name, queue, log = f"test-{suffix}@localhost", f"test-{suffix}", tmp_path / "worker.log"
    broker_url, transport_options = broker(tmp_path / "var")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "tests-only-not-a-secret",
        "DEBUG": "false",
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "TRACKER_ENCRYPTION_KEY": FERNET_KEY,
    }
    cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--pool=threads"]
    cmd += ["--concurrency=2", "-n", name, "-Q", queue, "--without-mingle", "--without-gossip", "--without-heartbeat"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(lambda: f"{name} ready." in log.read_text() or proc.poll() is not None, "the worker", log)
        assert proc.poll() is None, log.read_text()
        sender = Celery("test-sender", broker=broker_url, set_as_current=False)
        sender.conf.broker_transport_options = transport_options
        for _ in range(2):
            sender.send_task("trackers.tasks.create_tracker_issue", args=[issue.pk], queue=queue)
        wait_for(lambda: log.read_text().count("succeeded") >= 2, "both jobs", log)
    finally:
        stop(proc)
    issue.refresh_from_db()
    assert (issue.state, issue.key, issue.attempts) == ("linked", "acme/payments#1347", 1)
    assert "succeeded in" in log.read_text() and ": True" in log.read_text() and ": False" in log.read_text()
