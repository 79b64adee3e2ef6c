import pytest
from django.utils import timezone

from tests.factories import PostmortemFactory, TeamFactory, UserFactory


@pytest.fixture
def people(db):
    """Named readers: the Payments team's member, someone outside it, the people on the
    postmortem, and an admin."""
    team = TeamFactory(name="Payments", slug="payments")
    names = ["facilitator", "author", "reviewer", "teammate", "outsider"]
    users = {name: UserFactory(username=name) for name in names}
    users["admin"] = UserFactory(username="boss", is_staff=True)
    team.members.add(users["teammate"])
    return team, users


@pytest.fixture
def make_pm(people, django_capture_on_commit_callbacks):
    """A postmortem (published, organisation-wide unless told), indexed as the app would:
    through the signals, after commit."""
    team, users = people

    def make(*, tags=(), status="published", **fields):
        fields.setdefault("facilitator", users["facilitator"])
        with django_capture_on_commit_callbacks(execute=True):
            pm = PostmortemFactory(
                status=status, published_at=timezone.now() if status == "published" else None, **fields
            )
            pm.authors.add(users["author"])
            pm.reviewers.add(users["reviewer"])
            pm.teams.add(team)
            if tags:
                pm.incident.tags.add(*tags)
        return pm

    return make


@pytest.fixture
def as_user(client, people):
    def login(name):
        client.force_login(people[1][name])
        return client

    return login


@pytest.fixture
def eager_tasks():
    """Celery tasks run in the test's own process as they are sent (the worker's part of a
    rename's reindexing); a real worker runs them in tests/archive/test_index_worker.py."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
