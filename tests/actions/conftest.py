"""Fixtures for the action-item tests: named users, a small org, and delivery by hand."""

import pytest

from actions import notifications
from actions.models import Notification
from incidents.models import Team
from tests.factories import ActionItemFactory, PostmortemFactory, TeamFactory, UserFactory


@pytest.fixture
def enqueued(monkeypatch):
    """Record the ids the jobs enqueue instead of sending them to a broker."""
    from actions import tasks

    ids: list[int] = []
    monkeypatch.setattr(tasks.deliver_notification, "delay", lambda notification_id: ids.append(notification_id))
    return ids


def deliver_pending() -> int:
    """What the workers and the sweep do: send every pending or failed row once."""
    sent = 0
    for notification_id in notifications.undelivered_ids(limit=100_000):
        sent += notifications.deliver(notification_id)
    return sent


def sent_keys() -> list[tuple]:
    return list(
        Notification.objects.filter(state="sent")
        .order_by("pk")
        .values_list("recipient_email", "kind", "subject_key", "period_key")
    )


class Org:
    """Named people: an owner in a team with a lead, a facilitator, a teammate, an outsider, an admin."""

    def __init__(self):
        self.owner = UserFactory(username="owner", first_name="Olive", last_name="Owner")
        self.teammate = UserFactory(username="teammate")
        self.lead = UserFactory(username="lead", first_name="Lee", last_name="Lead")
        self.facilitator = UserFactory(username="facilitator", first_name="Fay", last_name="Facilitator")
        self.outsider = UserFactory(username="outsider")
        self.admin = UserFactory(username="boss", is_staff=True)
        self.team: Team = TeamFactory(name="Payments", slug="payments", lead=self.lead)
        self.team.members.add(self.owner, self.teammate, self.lead)
        self.postmortem = PostmortemFactory(
            facilitator=self.facilitator, status="published", published_at="2026-03-03T10:00Z"
        )

    def item(self, **kwargs):
        kwargs.setdefault("postmortem", self.postmortem)
        kwargs.setdefault("owner", self.owner)
        kwargs.setdefault("team", self.team)
        return ActionItemFactory(**kwargs)


@pytest.fixture
def org(db):
    return Org()
