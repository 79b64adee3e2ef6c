"""Fixtures for the tracker tests: a fixed encryption key, Prism serving GitHub's API
description, and a team with a GitHub connection."""

from __future__ import annotations

import hashlib
import hmac
import json
from types import SimpleNamespace

import pytest

from tests.factories import ActionItemFactory, PostmortemFactory, TeamFactory, UserFactory
from tests.workers import stop
from trackers.models import TrackerConnection

from . import prism

FERNET_KEY = "x0DbcLnXrWvbhIafb8sK2mkmmc6vBLtLvXpJz3fIBpI="
WEBHOOK_SECRET = "webhook-secret-for-tests"
NOBODY_PORT = prism.PORT_BASE + 9  # nothing listens there: a tracker that is down
NOBODY = f"http://127.0.0.1:{NOBODY_PORT}"


@pytest.fixture(autouse=True)
def encryption_key(settings):
    settings.TRACKER_ENCRYPTION_KEY = FERNET_KEY
    settings.SITE_URL = "https://pm.example.com"


@pytest.fixture(scope="session")
def github_api(tmp_path_factory):
    """The base URL of Prism serving GitHub's issues API (validating every request)."""
    proc, url = prism.start(tmp_path_factory.mktemp("prism"))
    yield url
    stop(proc)


@pytest.fixture
def eager():
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


class Org(SimpleNamespace):
    def item(self, **kwargs):
        kwargs.setdefault("postmortem", self.postmortem)
        kwargs.setdefault("owner", self.owner)
        kwargs.setdefault("team", self.team)
        return ActionItemFactory(**kwargs)


def make_org(api_url: str = NOBODY, **connection) -> Org:
    """owner (in Payments), lead, facilitator, outsider, admin; Payments connected to acme/payments."""
    owner = UserFactory(username="owner", first_name="Olive")
    lead = UserFactory(username="lead")
    team = TeamFactory(name="Payments", slug="payments", lead=lead)
    team.members.add(owner, lead)
    conn = TrackerConnection(team=team, kind="github", repository="acme/payments", api_url=api_url, **connection)
    conn.token = "ghp_tests_only_token"
    conn.webhook_secret = WEBHOOK_SECRET
    conn.save()
    facilitator = UserFactory(username="facilitator")
    postmortem = PostmortemFactory(facilitator=facilitator, status="published", published_at="2026-03-03T10:00Z")
    postmortem.teams.add(team)
    return Org(
        owner=owner,
        lead=lead,
        team=team,
        connection=conn,
        facilitator=facilitator,
        postmortem=postmortem,
        outsider=UserFactory(username="outsider"),
        admin=UserFactory(username="boss", is_staff=True, is_superuser=True),
    )


@pytest.fixture
def org(db, github_api):
    return make_org(github_api)


def signed(body: dict, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    return raw, "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def github_event(issue, action: str, *, repository: str = "acme/payments", state_reason: str | None = None) -> dict:
    """The fields of a GitHub ``issues`` webhook payload that the app reads, as GitHub sends them."""
    return {
        "action": action,
        "issue": {
            "number": int(issue.remote_id),
            "html_url": issue.url,
            "state": "closed" if action == "closed" else "open",
            "state_reason": state_reason or ("completed" if action == "closed" else "reopened"),
        },
        "repository": {"full_name": repository},
        "sender": {"login": "octocat"},
    }


def linked(org, item, number: int = 1347, **fields):
    """``item`` linked to acme/payments#``number``, as the owner linked it (``fields`` adds to it)."""
    from trackers.models import TrackerIssue
    from trackers.services import issue_title

    return TrackerIssue.objects.create(
        item=item,
        connection=org.connection,
        requested_by=org.owner,
        state="linked",
        key=f"acme/payments#{number}",
        remote_id=str(number),
        url=f"https://github.com/acme/payments/issues/{number}",
        synced_title=issue_title(item),
        synced_due_date=item.due_date,
        **fields,
    )
