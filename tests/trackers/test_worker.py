"""A real Celery worker runs the create-issue job against Prism serving GitHub's API description."""

from __future__ import annotations

import pytest
from celery import Celery

from tests.workers import broker, wait_for, worker_on_own_queue
from trackers.models import TrackerIssue

from .conftest import FERNET_KEY, make_org

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_a_worker_creates_the_issue_once_even_when_the_job_is_sent_twice(github_api, tmp_path):
    org = make_org(github_api)
    issue = TrackerIssue.objects.create(item=org.item(), connection=org.connection, requested_by=org.owner)
    broker_url, transport_options = broker(tmp_path / "var")
    env = {"TRACKER_ENCRYPTION_KEY": FERNET_KEY}
    log = tmp_path / "worker.log"
    with worker_on_own_queue(log, var_dir=tmp_path / "var", broker_url=broker_url, env=env) as queue:
        sender = Celery("test-sender", broker=broker_url, set_as_current=False)
        sender.conf.broker_transport_options = transport_options
        for _ in range(2):
            sender.send_task("trackers.tasks.create_tracker_issue", args=[issue.pk], queue=queue)
        wait_for(lambda: log.read_text().count("succeeded") >= 2, "both jobs", log)
    issue.refresh_from_db()
    assert (issue.state, issue.key, issue.attempts) == ("linked", "acme/payments#1347", 1)
    assert "succeeded in" in log.read_text() and ": True" in log.read_text() and ": False" in log.read_text()
