"""Changes made here reach the GitHub issue: through a recorder in front of Prism, which checks
each request against GitHub's own description (a request GitHub would refuse is a 422 there)."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from actions import services as actions
from trackers import services, tasks
from trackers.models import TrackerIssue

from . import prism
from .conftest import github_event, linked, make_org, signed
from .recorder import recording

pytestmark = pytest.mark.django_db
PROXY_PORT = prism.PORT_BASE + 3
PROXY = f"http://127.0.0.1:{PROXY_PORT}"
ISSUE_PATH = "/repos/acme/payments/issues/1347"


@pytest.fixture
def github(github_api):
    """Requests that reached GitHub (Prism), as the app sent them."""
    with recording(PROXY_PORT, upstream=github_api) as seen:
        yield seen


@pytest.fixture
def org(db, github):
    return make_org(PROXY)


def patches(seen: list[dict]) -> list[dict]:
    assert all(r["status"] < 400 for r in seen), seen  # Prism found every request valid
    return [r["json"] for r in seen if r["method"] == "PATCH" and r["path"] == ISSUE_PATH]


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks, eager):
    """Run what a write enqueues after commit, with tasks run in this process."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_marking_an_item_done_closes_its_issue_once(org, github, after_commit):
    item = org.item()
    issue = linked(org, item, synced_closed=False)
    with after_commit():
        actions.action_item_complete(item=item, user=org.owner, resolution_note="Shipped in #41.")
    with after_commit():  # the same job again, as a broker delivers it a second time
        tasks.push_tracker_issue.delay(issue.pk)
    assert patches(github) == [{"state": "closed", "state_reason": "completed"}]
    issue.refresh_from_db()
    assert (issue.remote_closed, issue.push_error) == (True, "")


def test_wont_do_closes_as_not_planned_and_reopening_reopens(org, github, after_commit):
    item = org.item()
    linked(org, item, synced_closed=False)
    with after_commit():
        actions.action_item_wont_do(item=item, user=org.owner, reason="Replaced by the new queue.")
    with after_commit():
        actions.action_item_reopen(item=item, user=org.owner, note="The queue was cancelled.")
    assert patches(github) == [
        {"state": "closed", "state_reason": "not_planned"},
        {"state": "open", "state_reason": "reopened"},
    ]


def test_a_new_title_and_a_moved_due_date_reach_the_issue(org, github, after_commit):
    item = org.item(title="Add a lock timeout", due_date=date(2026, 12, 20))
    linked(org, item)
    with after_commit():
        actions.action_item_update(item=item, user=org.owner, data={"title": "Add a lock timeout to migrations"})
    with after_commit():
        actions.action_item_move_due_date(item=item, user=org.owner, due_date=date(2027, 1, 15), reason="Freeze.")
    title, due = patches(github)
    assert title == {"title": f"Add a lock timeout to migrations [{item.reference}]"}
    # The due date is a label: the issue's other labels stay (GitHub's example issue has "bug").
    assert due == {"labels": ["bug", "due:2027-01-15"]}


@pytest.mark.django_db(transaction=True)
def test_a_close_that_came_from_the_webhook_is_not_pushed_back(org, github, client, eager):
    """Committed for real, as in a worker: each write's after-commit push runs when it commits."""
    item = org.item()
    issue = linked(org, item, synced_closed=False)
    raw, signature = signed(github_event(issue, "closed"))
    client.post(
        reverse("trackers:webhook-github", args=[org.connection.pk]),
        raw,
        content_type="application/json",
        headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": signature},
    )
    item.refresh_from_db()
    assert item.status == "done"
    assert [r["method"] for r in github] == ["GET"]  # the closing comment; nothing sent back
    assert patches(github) == []


@pytest.mark.parametrize(
    ("status", "shown"),
    [(422, "422 from the tracker"), (404, "no longer exists")],
)
def test_a_refused_push_shows_on_the_item_page_for_its_editors_and_is_not_retried(
    db, client, after_commit, status, shown
):
    body = {"message": "Validation Failed", "errors": [{"resource": "Issue", "code": "invalid"}]}
    with recording(PROXY_PORT, status=status, body=body) as seen:
        org = make_org(PROXY)
        item = org.item()
        issue = linked(org, item, synced_closed=False)
        with after_commit():
            actions.action_item_complete(item=item, user=org.owner, resolution_note="Shipped.")
    assert [r["method"] for r in seen] == ["PATCH"]  # once: a refusal is not retried
    issue.refresh_from_db()
    assert issue.state == ("gone" if status == 404 else "linked")
    client.force_login(org.owner)
    page = client.get(item.get_absolute_url()).text
    assert shown in page
    client.force_login(org.outsider)  # may read the item, not change it
    response = client.get(item.get_absolute_url())
    assert response.status_code == 200 and "Validation Failed" not in response.text


def test_a_tracker_that_is_down_is_retried_with_backoff_and_shown_to_readers_of_the_item(db, client):
    with recording(PROXY_PORT, status=503, body={"message": "Service unavailable"}) as seen:
        org = make_org(PROXY)
        item = org.item()
        issue = linked(org, item, synced_closed=False)
        actions.action_item_complete(item=item, user=org.owner, resolution_note="Shipped.")
        result = tasks.push_tracker_issue.apply(args=[issue.pk])  # in this process, retries included
    assert [r["method"] for r in seen] == ["PATCH"] * (1 + tasks.MAX_RETRIES)
    assert result.failed()
    issue.refresh_from_db()
    assert issue.push_error == "" and "503 from the tracker" in issue.last_error
    assert services.take_pushes_for_sweep(after_id=0, limit=10) == [issue.pk]  # the reconcile job tries again
    client.force_login(org.owner)
    assert "GitHub failed" in client.get(item.get_absolute_url()).text


def test_retry_now_pushes_again_after_a_refusal(org, github, client, after_commit):
    item = org.item()
    issue = linked(org, item, synced_closed=False, push_error="422 from the tracker: refused")
    actions.action_item_complete(item=item, user=org.owner, resolution_note="Shipped.")  # push lost
    client.force_login(org.owner)
    page = client.get(item.get_absolute_url()).text
    assert "Try again" in page and "422 from the tracker: refused" in page
    with after_commit():
        client.post(reverse("trackers:push", args=[item.reference]))
    assert patches(github) == [{"state": "closed", "state_reason": "completed"}]
    issue.refresh_from_db()
    assert issue.push_error == ""


def test_reconcile_pushes_a_change_whose_task_was_lost(org, github, eager):
    item = org.item()
    issue = linked(org, item, synced_closed=False, synced_at=timezone.now())
    actions.action_item_complete(item=item, user=org.owner, resolution_note="Shipped.")  # never enqueued
    outcome = tasks.reconcile_tracker_issues()
    assert outcome["pushed"] == 1
    assert patches(github) == [{"state": "closed", "state_reason": "completed"}]
    assert tasks.reconcile_tracker_issues()["pushed"] == 0  # in step now
    issue.refresh_from_db()
    assert issue.remote_closed is True


def test_an_issue_linked_by_its_address_is_closed_once_it_has_been_read_open(org, github, after_commit):
    item = org.item()
    issue = linked(org, item)  # linked by its address: its state not known yet
    with after_commit():
        actions.action_item_complete(item=item, user=org.owner, resolution_note="Shipped.")
    assert patches(github) == []  # not guessed
    with after_commit():
        services.sync_issue(issue.pk)  # GitHub's example issue is open
        tasks.reconcile_tracker_issues()
    assert patches(github) == [{"state": "closed", "state_reason": "completed"}]


def test_reconcile_creates_the_issue_a_publication_failed_to_claim(org, github, after_commit):
    org.connection.create_on_publish = True
    org.connection.save()
    org.postmortem.published_at = timezone.now()  # published after the tracker was connected
    org.postmortem.save()
    item = org.item()  # no claim: as when the claim at publish hit a database error
    old = published_long_ago(org)
    with after_commit():
        assert tasks.reconcile_tracker_issues()["claimed"] == 1
    issue = TrackerIssue.objects.get(item=item)
    assert (issue.state, issue.key) == ("linked", "acme/payments#1347")
    assert [r["method"] for r in github] == ["POST"]
    assert not TrackerIssue.objects.filter(item=old).exists()
    assert tasks.reconcile_tracker_issues()["claimed"] == 0


def published_long_ago(org):
    """An item of a postmortem published before the reconcile job's window (and before the
    tracker was connected): left alone."""
    from tests.factories import PostmortemFactory

    postmortem = PostmortemFactory(status="published", published_at=timezone.now() - services.MISSING_CLAIMS_WITHIN * 2)
    postmortem.teams.add(org.team)
    return org.item(postmortem=postmortem)
