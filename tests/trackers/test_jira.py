"""Jira Cloud, both directions, against a loopback server answering with Atlassian's documented
responses and checking each request against the documented shape (see jira_documented.py)."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from actions import services as actions
from tests.factories import ActionItemFactory, PostmortemFactory, TeamFactory, UserFactory
from trackers import services
from trackers.models import TrackerConnection, TrackerIssue

from . import jira_documented as documented
from . import prism
from .conftest import WEBHOOK_SECRET, signed

pytestmark = pytest.mark.django_db
PORT = prism.PORT_BASE + 2


@pytest.fixture
def jira():
    """The Jira site: records each request, answers as documented, 400 for a malformed create."""
    seen: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _record(self, body=None) -> str:
            parts = urlsplit(self.path)
            seen.append(
                {
                    "method": self.command,
                    "path": parts.path,
                    "query": parse_qs(parts.query),
                    "body": body,
                    "auth": self.headers.get("Authorization", ""),
                }
            )
            return parts.path

        def _checked(self, checks: dict, status: int, answer: dict | None) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            path = self._record(body)
            problems = checks[path](body) if path in checks else ["unknown path"]
            if problems:
                self._answer(400, {"errorMessages": problems, "errors": {}})
            elif answer is None:
                self.send_response(status)
                self.end_headers()
            else:
                self._answer(status, answer)

        def do_POST(self):
            if self.path.endswith("/transitions"):
                self._checked({"/rest/api/3/issue/OPS-24/transitions": documented.check_transition}, 204, None)
            else:
                self._checked({"/rest/api/3/issue": documented.check_create}, 201, documented.CREATE_RESPONSE)

        def do_PUT(self):
            self._checked({"/rest/api/3/issue/OPS-24": documented.check_edit}, 204, None)

        def do_GET(self):
            path = self._record()
            if path == "/rest/api/3/issue/OPS-24":
                self._answer(200, documented.ISSUE_DONE)
            elif path == "/rest/api/3/issue/OPS-24/comment":
                self._answer(200, documented.COMMENTS)
            elif path == "/rest/api/3/issue/OPS-24/transitions":
                self._answer(200, documented.TRANSITIONS)
            else:
                self._answer(404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]})

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def org(db):
    owner = UserFactory(username="owner")
    team = TeamFactory(name="Ops", slug="ops")
    team.members.add(owner)
    connection = TrackerConnection(
        team=team, kind="jira_cloud", site_url=f"http://127.0.0.1:{PORT}", project_key="OPS", issue_type="Task",
        account_email="bot@acme.example", acting_user=owner,
    )  # fmt: skip
    connection.token = "jira-api-token"
    connection.webhook_secret = WEBHOOK_SECRET
    connection.save()
    postmortem = PostmortemFactory(status="published", published_at="2026-03-03T10:00Z")
    item = ActionItemFactory(postmortem=postmortem, owner=owner, team=team, priority="p1", title="Rotate the keys")
    return connection, item


def test_create_sends_the_documented_request_and_links_the_key(org, jira):
    connection, item = org
    issue = TrackerIssue.objects.create(item=item, connection=connection, requested_by=item.owner)
    assert services.create_issue(issue.pk)
    issue.refresh_from_db()
    assert (issue.state, issue.key, issue.url) == ("linked", "OPS-24", f"http://127.0.0.1:{PORT}/browse/OPS-24")
    request = jira[0]
    fields = request["body"]["fields"]
    assert (fields["project"], fields["issuetype"], fields["duedate"]) == (
        {"key": "OPS"},
        {"name": "Task"},
        item.due_date.isoformat(),
    )
    assert fields["labels"] == ["priority-p1"] and item.reference in fields["summary"]
    assert request["auth"] == "Basic " + base64.b64encode(b"bot@acme.example:jira-api-token").decode()


def test_reconcile_reads_a_done_issue_and_completes_the_item_with_the_last_comment(org, jira):
    connection, item = org
    issue = TrackerIssue.objects.create(
        item=item, connection=connection, state="linked", key="OPS-24", remote_id="OPS-24", url=f"http://127.0.0.1:{PORT}/browse/OPS-24"
    )  # fmt: skip
    assert services.sync_issue(issue.pk)
    item.refresh_from_db()
    assert item.status == "done" and item.resolution_note.startswith("Deployed in release 4.2.")
    assert item.evidence_url == issue.url
    assert jira[-1]["query"] == {"orderBy": ["-created"], "maxResults": ["1"]}


def test_a_deleted_issue_is_marked_gone_and_shown(org, jira, client):
    connection, item = org
    issue = TrackerIssue.objects.create(
        item=item, connection=connection, state="linked", key="OPS-99", remote_id="OPS-99", url=f"http://127.0.0.1:{PORT}/browse/OPS-99"
    )  # fmt: skip
    assert services.sync_issue(issue.pk) is False
    issue.refresh_from_db()
    assert issue.state == "gone" and "404" in issue.last_error
    client.force_login(item.owner)
    page = client.get(item.get_absolute_url()).text
    assert "no longer exists" in page and "Create Jira issue" in page
    services.tracker_issue_request(item=item, user=item.owner)  # a new issue replaces the deleted one
    issue.refresh_from_db()
    assert (issue.state, issue.key) == ("pending", "")


def test_a_signed_jira_webhook_closes_the_item(org, jira, client, django_capture_on_commit_callbacks):
    from config.celery import app

    connection, item = org
    TrackerIssue.objects.create(
        item=item, connection=connection, state="linked", key="OPS-24", remote_id="OPS-24", url=f"http://127.0.0.1:{PORT}/browse/OPS-24"
    )  # fmt: skip
    raw, signature = signed(documented.issue_updated_webhook("OPS-24"))
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("trackers:webhook-jira", args=[connection.pk]),
                raw,
                "application/json",
                headers={"X-Hub-Signature": signature},
            )
    finally:
        app.conf.task_always_eager = False
    assert response.status_code == 202
    item.refresh_from_db()
    assert item.status == "done" and "Closed in Jira" in item.resolution_note
    bad = client.post(
        reverse("trackers:webhook-jira", args=[connection.pk]),
        raw,
        "application/json",
        headers={"X-Hub-Signature": "sha256=00"},
    )
    assert bad.status_code == 403


def test_linking_a_jira_issue_by_its_browse_url(org, client):
    connection, item = org
    client.force_login(item.owner)
    client.post(reverse("trackers:link", args=[item.reference]), {"url": f"http://127.0.0.1:{PORT}/browse/OPS-7"})
    assert TrackerIssue.objects.get(item=item).key == "OPS-7"


def linked_jira(connection, item, **fields) -> TrackerIssue:
    return TrackerIssue.objects.create(
        item=item, connection=connection, state="linked", key="OPS-24", remote_id="OPS-24",
        url=f"http://127.0.0.1:{PORT}/browse/OPS-24", synced_title=services.issue_title(item),
        synced_due_date=item.due_date, **fields,
    )  # fmt: skip


def test_done_and_reopened_here_move_the_jira_issue_by_the_target_status_category(
    org, jira, django_capture_on_commit_callbacks, eager
):
    connection, item = org
    linked_jira(connection, item, synced_closed=False)
    with django_capture_on_commit_callbacks(execute=True):
        actions.action_item_complete(item=item, user=item.owner, resolution_note="Rotated.")
    with django_capture_on_commit_callbacks(execute=True):
        actions.action_item_reopen(item=item, user=item.owner, note="One key was missed.")
    sent = [(r["method"], r["path"], r["body"]) for r in jira]
    transitions = "/rest/api/3/issue/OPS-24/transitions"
    assert sent == [
        ("GET", transitions, None),
        ("POST", transitions, {"transition": {"id": "31"}}),  # to "Done" (category done)
        ("GET", transitions, None),
        ("POST", transitions, {"transition": {"id": "11"}}),  # to "To Do" (category new)
    ]
    assert TrackerIssue.objects.get(item=item).push_error == ""


def test_a_new_title_and_due_date_edit_the_jira_issue(org, jira, django_capture_on_commit_callbacks, eager):
    connection, item = org
    linked_jira(connection, item)
    with django_capture_on_commit_callbacks(execute=True):
        actions.action_item_write(
            item=item, user=item.owner, data={"title": "Rotate all keys", "due_date": date(2027, 2, 1)}, note="Audit."
        )
    assert [(r["method"], r["body"]) for r in jira] == [
        ("PUT", {"fields": {"summary": f"Rotate all keys [{item.reference}]", "duedate": "2027-02-01"}})
    ]


def test_a_jira_issue_that_is_gone_shows_on_the_item_page(org, jira, client, django_capture_on_commit_callbacks, eager):
    connection, item = org
    issue = linked_jira(connection, item, synced_closed=False)
    TrackerIssue.objects.filter(pk=issue.pk).update(remote_id="OPS-99", key="OPS-99")
    with django_capture_on_commit_callbacks(execute=True):
        actions.action_item_complete(item=item, user=item.owner, resolution_note="Rotated.")
    assert [r["method"] for r in jira] == ["GET"]  # its transitions: 404, not retried
    client.force_login(item.owner)
    assert "no longer exists" in client.get(item.get_absolute_url()).text
