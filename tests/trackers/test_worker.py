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


def test_a_worker_closes_the_issue_once_when_the_item_is_done_even_if_the_job_comes_twice(
    github_api, tmp_path, settings, monkeypatch
):
    """The app enqueues the push after the item's write commits; the broker delivers it twice."""
    from actions import services as actions
    from trackers import tasks

    from . import prism
    from .conftest import linked
    from .recorder import recording

    port = prism.PORT_BASE + 4
    log = tmp_path / "worker.log"
    env = {"TRACKER_ENCRYPTION_KEY": FERNET_KEY}
    with (
        recording(port, upstream=github_api) as github,
        worker_on_own_queue(log, var_dir=settings.VAR_DIR, broker_url=settings.CELERY_BROKER_URL, env=env) as queue,
    ):
        real_apply = tasks.push_tracker_issue.apply_async
        monkeypatch.setattr(tasks.push_tracker_issue, "delay", lambda *args: real_apply(args, queue=queue))
        org = make_org(f"http://127.0.0.1:{port}")
        item = org.item()
        issue = linked(org, item, synced_closed=False)
        actions.action_item_complete(item=item, user=org.owner, resolution_note="Shipped in #41.")  # enqueues once
        tasks.push_tracker_issue.delay(issue.pk)  # the same job delivered again
        wait_for(lambda: log.read_text().count("succeeded") >= 2, "both jobs", log)
    patches = [r for r in github if r["method"] == "PATCH"]
    assert [(r["path"], r["json"], r["status"]) for r in patches] == [
        ("/repos/acme/payments/issues/1347", {"state": "closed", "state_reason": "completed"}, 200)
    ]
    issue.refresh_from_db()
    assert (issue.remote_closed, issue.push_error) == (True, "")
