"""The whole loop, and a tracker outage during a publish."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from actions.jobs import send_digests
from actions.models import Notification
from postmortems import services as postmortems
from tests.factories import ActionItemFactory, UserFactory
from trackers import services
from trackers.models import TrackerIssue

from .conftest import NOBODY, NOBODY_PORT, github_event, linked, make_org, signed

pytestmark = pytest.mark.django_db


def next_digest_time() -> datetime:
    """The next digest hour (Monday 08:30 by default) in the server's zone."""
    zone = ZoneInfo(settings.TIME_ZONE)
    now = timezone.now().astimezone(zone)
    days = (settings.ACTION_DIGEST_WEEKDAY - now.weekday()) % 7 or 7
    day = (now + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, settings.ACTION_DIGEST_HOUR, 30, tzinfo=zone)


def in_review_with_items(org, due, titles=("Add a lock timeout", "Alert on replication lag")):
    """The org's postmortem put back in review and approved, with an item due ``due`` for each title."""
    reviewer = UserFactory(username="reviewer")
    postmortem = org.postmortem
    postmortem.status, postmortem.published_at, postmortem.submitted_at = "in_review", None, timezone.now()
    postmortem.save()
    postmortem.reviewers.add(reviewer)
    items = [
        ActionItemFactory(postmortem=postmortem, owner=org.owner, team=org.team, title=title, due_date=due)
        for title in titles
    ]
    postmortems.postmortem_review(postmortem=postmortem, user=reviewer, decision="approve")
    return postmortem, items


def test_publish_creates_the_issue_a_closed_webhook_completes_the_item_and_the_digest_drops_it(
    github_api, client, django_capture_on_commit_callbacks, eager
):
    org = make_org(github_api, create_on_publish=True)
    digest_at = next_digest_time()
    postmortem, (closed, still_open) = in_review_with_items(org, due=digest_at.date() + timedelta(days=2))
    # Prism answers every create with the same example issue (#1347): the second item is linked already.
    TrackerIssue.objects.create(
        item=still_open, connection=org.connection, state="linked", key="acme/payments#2", remote_id="2",
        url="https://github.com/acme/payments/issues/2",
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        postmortems.postmortem_publish(postmortem=postmortem, user=org.facilitator)
    issue = TrackerIssue.objects.get(item=closed)
    assert issue.state == "linked" and issue.key == "acme/payments#1347"

    raw, signature = signed(github_event(issue, "closed"))
    headers = {"X-GitHub-Event": "issues", "X-Hub-Signature-256": signature}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("trackers:webhook-github", args=[org.connection.pk]), raw, "application/json", headers=headers
        )
    assert response.status_code == 202
    closed.refresh_from_db()
    assert (closed.status, closed.evidence_url) == ("done", issue.url)

    send_digests(now=digest_at, enqueue=False)
    digest = Notification.objects.get(kind="digest", recipient=org.owner)
    assert still_open.title in digest.body_text
    assert closed.title not in digest.body_text


def test_a_tracker_outage_during_publish_loses_nothing(github_api, client, django_capture_on_commit_callbacks):
    org = make_org(NOBODY, create_on_publish=True)  # the tracker is down
    due = timezone.localdate() + timedelta(days=10)
    postmortem, items = in_review_with_items(org, due=due, titles=["Add a lock timeout"])

    with django_capture_on_commit_callbacks() as enqueued:
        postmortems.postmortem_publish(postmortem=postmortem, user=org.facilitator)
    postmortem.refresh_from_db()
    assert postmortem.status == "published"
    assert any("_enqueue_create" in callback.__qualname__ for callback in enqueued)  # after commit, not before
    claims = list(TrackerIssue.objects.filter(item__in=items).order_by("pk"))
    assert [c.state for c in claims] == ["pending"]

    for claim in claims:  # what the task does: it fails and is retried
        with pytest.raises(services.TrackerError):
            services.create_issue(claim.pk)
    client.force_login(org.owner)
    assert f"Could not reach 127.0.0.1:{NOBODY_PORT}" in client.get(items[0].get_absolute_url()).text

    org.connection.api_url = github_api  # the tracker is back
    org.connection.save()
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        swept = services.take_creates_for_sweep(100)
    assert sorted(swept) == [c.pk for c in claims]
    for claim_id in swept:
        assert services.create_issue(claim_id)
    assert list(TrackerIssue.objects.filter(item__in=items).values_list("state", flat=True)) == ["linked"]


def test_the_reconcile_job_reads_linked_issues_in_chunks_and_sweeps_lost_creates(github_api, monkeypatch):
    from trackers import tasks

    org = make_org(github_api)
    in_step = [linked(org, org.item(), n) for n in (1, 2, 3)]
    lost = TrackerIssue.objects.create(item=org.item(), connection=org.connection, retry_at=timezone.now())
    synced, created = [], []
    monkeypatch.setattr(tasks.sync_tracker_issue, "delay", synced.append)
    monkeypatch.setattr(tasks.create_tracker_issue, "delay", created.append)
    outcome = tasks.reconcile_tracker_issues(chunk_size=2)
    assert outcome == {"pushed": 0, "synced": 3, "claimed": 0, "created": 1}
    assert (synced, created) == ([i.pk for i in in_step], [lost.pk])
