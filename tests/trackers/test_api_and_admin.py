"""The API's tracker endpoint, the admin's write-only credentials, and encryption at rest."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from trackers import crypto
from trackers.models import TrackerConnection, TrackerIssue

from .conftest import WEBHOOK_SECRET, linked, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(db):
    return make_org()


def url(item) -> str:
    return reverse("api:action-item-tracker", args=[item.reference])


def test_the_api_links_and_reads_an_items_issue_and_never_shows_credentials(org, client):
    item = org.item()
    client.force_login(org.owner)
    response = client.post(
        url(item), {"url": "https://github.com/acme/payments/issues/9"}, content_type="application/json"
    )
    assert response.status_code == 200
    body = client.get(url(item)).json()
    assert (body["key"], body["url"], body["state"], body["tracker"]) == (
        "acme/payments#9", "https://github.com/acme/payments/issues/9", "linked", "GitHub"
    )  # fmt: skip
    assert "ghp_tests_only_token" not in response.text + client.get(url(item)).text


def test_the_api_create_answers_202_and_an_outsider_gets_404_or_403(org, client):
    item = org.item()
    client.force_login(org.owner)
    response = client.post(url(item), {}, content_type="application/json")
    assert response.status_code == 202 and response.json()["state"] == "pending"
    client.force_login(org.outsider)
    assert (
        client.get(url(org.item())).status_code == 404
    )  # an outsider may read an org-wide item, not its missing issue
    assert client.post(url(item), {}, content_type="application/json").status_code == 403


def test_a_bad_link_is_a_400_that_names_the_field(org, client):
    client.force_login(org.owner)
    response = client.post(url(org.item()), {"url": "https://example.com/x"}, content_type="application/json")
    assert response.status_code == 400 and "acme/payments" in response.text
    assert not TrackerIssue.objects.exists()


def test_credentials_are_stored_encrypted_and_never_shown_in_the_admin(org, client):
    connection = TrackerConnection.objects.get()
    assert "ghp_tests_only_token" not in connection.token_ciphertext
    assert connection.token == "ghp_tests_only_token" and connection.webhook_secret == WEBHOOK_SECRET
    client.force_login(org.admin)
    page = client.get(reverse("admin:trackers_trackerconnection_change", args=[connection.pk]))
    assert page.status_code == 200
    assert "ghp_tests_only_token" not in page.text and connection.token_ciphertext not in page.text
    assert f"/trackers/webhooks/github/{connection.pk}/" in page.text


def test_the_admin_keeps_the_stored_token_when_left_blank_and_replaces_it_when_given(org, client):
    connection = TrackerConnection.objects.get()
    client.force_login(org.admin)
    change = reverse("admin:trackers_trackerconnection_change", args=[connection.pk])
    data = {
        "team": org.team.pk,
        "kind": "github",
        "repository": "acme/payments",
        "api_url": connection.api_url,
        "issue_type": "Task",
    }
    assert client.post(change, {**data, "token": ""}).status_code == 302
    connection.refresh_from_db()
    assert connection.token == "ghp_tests_only_token"
    assert client.post(change, {**data, "token": "ghp_new"}).status_code == 302
    connection.refresh_from_db()
    assert connection.token == "ghp_new"


def test_production_without_a_key_refuses_to_store_a_credential(settings):
    settings.TRACKER_ENCRYPTION_KEY = ""
    settings.TRACKER_DERIVE_DEV_KEY = False
    with pytest.raises(ImproperlyConfigured, match="TRACKER_ENCRYPTION_KEY"):
        crypto.encrypt("ghp_secret")


def test_a_credential_under_another_key_is_unreadable_not_garbage(org, settings):
    connection = TrackerConnection.objects.get()
    settings.TRACKER_ENCRYPTION_KEY = "5Jt1kFzZkR1l3m6yFf0o2b8Jx9J3cP0wq3tq2qkqH1E="
    with pytest.raises(crypto.CredentialUnreadable):
        _ = connection.token


@pytest.mark.parametrize("count", [1, 6])
def test_the_editors_cards_read_their_issues_in_one_query_however_many_items(org, count, django_assert_max_num_queries):
    from trackers.templatetags.trackers_tags import tracker_issue_for

    for number in range(count):
        linked(org, org.item(), number + 1)
    postmortem = org.postmortem
    # 1: the items (as the editor's formset reads them); 2: all their issues with connections.
    with django_assert_max_num_queries(2):
        for item in postmortem.action_items.all():
            tracker_issue_for(item)


def test_an_admin_retries_a_failing_create_from_the_admin(org, client, monkeypatch, django_capture_on_commit_callbacks):
    from trackers import tasks

    queued = []
    monkeypatch.setattr(tasks.create_tracker_issue, "delay", queued.append)
    issue = TrackerIssue.objects.create(
        item=org.item(), connection=org.connection, state="failed", last_error="503 from the tracker"
    )
    client.force_login(org.admin)
    changelist = reverse("admin:trackers_trackerissue_changelist")
    assert "503 from the tracker" in client.get(changelist).text
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, {"action": "retry_now", "_selected_action": [issue.pk]}, follow=True)
    assert "1 issue(s) queued again." in response.text
    assert queued == [issue.pk]
