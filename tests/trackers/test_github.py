"""GitHub, both directions, against Prism serving GitHub's own API description."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from actions.models import ActionItem
from trackers import services
from trackers.clients import TrackerRefused, TrackerUnavailable
from trackers.models import TrackerIssue

from . import prism
from .conftest import NOBODY, NOBODY_PORT, github_event, linked, signed

pytestmark = pytest.mark.django_db


def test_prism_rejects_a_request_outside_githubs_schema(github_api):
    """The contract check is real: a body GitHub would refuse is a 422 here too."""
    url = f"{github_api}/repos/acme/payments/issues"
    bad = requests.post(url, json={"title": {"not": "a string"}}, headers={"Accept": "application/json"}, timeout=10)
    good = requests.post(
        url, json={"title": "ok", "labels": ["priority:p1"]}, headers={"Accept": "application/json"}, timeout=10
    )
    assert (bad.status_code, good.status_code) == (422, 201)


def test_create_sends_a_valid_request_and_the_item_shows_the_issue(
    org, client, django_capture_on_commit_callbacks, eager
):
    item = org.item(title="Add a lock timeout", priority="p1")
    client.force_login(org.owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("trackers:create", args=[item.reference]))
    issue = TrackerIssue.objects.get(item=item)
    page = client.get(item.get_absolute_url())
    assert (issue.state, issue.key, issue.last_error) == ("linked", "acme/payments#1347", "")
    assert issue.url == "https://github.com/octocat/Hello-World/issues/1347"
    item.refresh_from_db()
    assert item.external_url == issue.url  # every page, export and the API show the tracker link
    assert "acme/payments#1347" in page.text
    assert "external_url" in item.changes.last().changes


def test_the_issue_carries_title_link_references_due_date_and_priority(org):
    item = org.item(title="Add a lock timeout", priority="p2")
    new = services.new_issue_for(item)
    assert new.title == f"Add a lock timeout [{item.reference}]"
    assert f"https://pm.example.com/actions/{item.reference}/" in new.body
    assert org.postmortem.incident.reference in new.body
    assert item.due_date.isoformat() in new.body
    assert (new.priority, new.due_date) == ("p2", item.due_date)


def test_a_restricted_postmortems_incident_title_stays_out_of_the_issue(org):
    org.postmortem.visibility = "restricted"
    org.postmortem.save()
    new = services.new_issue_for(org.item())
    assert org.postmortem.incident.reference in new.body
    assert org.postmortem.incident.title not in new.body


def test_reading_an_issue_back_and_its_comments_are_valid_requests(org):
    item = org.item()
    issue = linked(org, item, 1347)
    services.sync_issue(issue.pk)
    issue.refresh_from_db()
    assert issue.synced_at is not None and issue.last_error == ""
    from trackers.clients import client_for

    assert client_for(org.connection).last_comment("1347")  # GitHub's example comment


def test_linking_an_existing_issue_by_its_url(org, client):
    item = org.item()
    client.force_login(org.owner)
    client.post(reverse("trackers:link", args=[item.reference]), {"url": "https://github.com/acme/payments/issues/88"})
    issue = TrackerIssue.objects.get(item=item)
    assert (issue.state, issue.key, issue.remote_id) == ("linked", "acme/payments#88", "88")
    page = client.post(
        reverse("trackers:link", args=[org.item().reference]),
        {"url": "https://github.com/other/repo/issues/1"},
        follow=True,
    )
    assert "Paste the address of an issue in acme/payments" in page.text


def test_only_people_who_may_change_the_item_create_or_link(org, client):
    item = org.item()
    client.force_login(org.outsider)
    response = client.post(reverse("trackers:create", args=[item.reference]))
    assert response.status_code == 403
    assert not TrackerIssue.objects.exists()


def test_a_tracker_that_is_down_shows_on_the_item_and_in_the_admin_and_is_retried(db, client):
    from .conftest import make_org

    org = make_org(NOBODY)  # nothing listens there
    item = org.item()
    issue = TrackerIssue.objects.create(item=item, connection=org.connection, requested_by=org.owner)
    with pytest.raises(TrackerUnavailable):
        services.create_issue(issue.pk)
    issue.refresh_from_db()
    assert issue.state == "failed" and f"Could not reach 127.0.0.1:{NOBODY_PORT}" in issue.last_error
    client.force_login(org.owner)
    page = client.get(item.get_absolute_url())
    assert "GitHub failed" in page.text and "Could not reach" in page.text
    assert "Retry now" in page.text
    client.force_login(org.admin)
    admin_page = client.get(reverse("admin:trackers_trackerconnection_changelist"))
    assert f"Could not reach 127.0.0.1:{NOBODY_PORT}" in admin_page.text


def test_webhook_closed_marks_the_item_done_with_the_comment_and_the_issue_as_evidence(
    org, client, django_capture_on_commit_callbacks, eager
):
    item = org.item()
    issue = linked(org, item, 1347)
    raw, signature = signed(github_event(issue, "closed"))
    url = reverse("trackers:webhook-github", args=[org.connection.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            raw,
            content_type="application/json",
            headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": signature},
        )
    assert response.status_code == 202
    item.refresh_from_db()
    assert item.status == "done"
    assert item.evidence_url == issue.url
    assert "Me too" in item.resolution_note  # GitHub's example comment, read through Prism
    assert "Closed in GitHub: https://github.com/acme/payments/issues/1347" in item.resolution_note

    raw, signature = signed(github_event(issue, "reopened"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url,
            raw,
            content_type="application/json",
            headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": signature},
        )
    item.refresh_from_db()
    assert item.status == "open" and item.changes.last().note.startswith("Reopened in GitHub")


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "sha1=abc"])
def test_an_unsigned_or_badly_signed_webhook_changes_nothing(org, client, signature):
    item = org.item()
    issue = linked(org, item, 5)
    raw, _ = signed(github_event(issue, "closed"))
    response = client.post(
        reverse("trackers:webhook-github", args=[org.connection.pk]),
        raw,
        content_type="application/json",
        headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": signature},
    )
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.status == "open"


def test_closed_in_the_tracker_while_reopened_here_is_a_conflict_in_the_history(org):
    item = org.item()
    issue = linked(org, item, 1347)
    services.apply_remote_state(issue=issue, closed=True, explicit=True)
    item.refresh_from_db()
    assert item.status == "done"
    from actions.services import action_item_reopen

    action_item_reopen(item=item, user=org.owner, note="Not fixed: it happened again.")
    issue.refresh_from_db()
    for _ in range(2):  # the reconcile job sees the issue still closed, twice
        services.apply_remote_state(issue=issue, closed=True)
        issue.refresh_from_db()
    item.refresh_from_db()
    assert item.status == "open"
    conflicts = [c.note for c in item.changes.all() if c.note.startswith("Conflict")]
    assert len(conflicts) == 1 and "acme/payments#1347 is closed in GitHub" in conflicts[0]


def test_closed_here_while_the_issue_stays_open_is_not_undone_by_reconcile(org):
    item = org.item()
    issue = linked(org, item, 7)
    from actions.services import action_item_complete

    action_item_complete(item=item, user=org.owner, resolution_note="Shipped in #41.")
    assert services.apply_remote_state(issue=issue, closed=False) is False
    item.refresh_from_db()
    assert item.status == ActionItem.Status.DONE


def test_a_revoked_token_is_refused_and_kept_on_the_item(db, client):
    """A server that answers 401, as GitHub does for a revoked token."""
    import http.server
    import threading

    class Revoked(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"message": "Bad credentials"}')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", prism.PORT_BASE + 8), Revoked)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from .conftest import make_org

        org = make_org(f"http://127.0.0.1:{prism.PORT_BASE + 8}")
        issue = TrackerIssue.objects.create(item=org.item(), connection=org.connection)
        with pytest.raises(TrackerRefused):
            services.create_issue(issue.pk)
    finally:
        server.shutdown()
        server.server_close()
    issue.refresh_from_db()
    assert issue.state == "failed" and "401" in issue.last_error and "revoked" in issue.last_error
