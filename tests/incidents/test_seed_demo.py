"""manage.py seed_demo: a complete, consistent demo organisation, created once."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from actions.models import ActionItem, ActionItemChange
from incidents.demo import demo_counts
from incidents.models import Incident, RepeatLink, SeverityChange, Team, TimelineEvent
from postmortems.models import Postmortem

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_second_run_creates_nothing_and_says_so():
    first = seed()
    counts = demo_counts()
    second = seed()

    assert "Created the demo organisation" in first
    assert "Demo data already present" in second
    assert "demo / demo" in second
    assert demo_counts() == counts


def test_demo_covers_every_state():
    seed()

    assert 38 <= Incident.objects.count() <= 45
    assert 2 <= Incident.objects.open().count() <= 3
    assert set(Postmortem.Status.values) == set(Postmortem.objects.values_list("status", flat=True))
    assert set(ActionItem.Status.values) == set(ActionItem.objects.values_list("status", flat=True))
    assert ActionItem.objects.overdue().count() >= 3
    soon = timezone.localdate() + timezone.timedelta(days=14)
    assert ActionItem.objects.open().filter(due_date__gte=timezone.localdate(), due_date__lte=soon).exists()
    assert RepeatLink.objects.filter(state="confirmed").count() == 1
    assert RepeatLink.objects.filter(state="suggested").count() >= 2
    assert SeverityChange.objects.exists()
    assert Postmortem.objects.filter(visibility="restricted").exists()
    assert Postmortem.objects.filter(internal_sections=["root_cause"]).exists()
    assert any(pm.is_overdue for pm in Postmortem.objects.select_related("incident__severity"))


def test_rows_are_consistent():
    seed()

    for incident in Incident.objects.all():
        incident.full_clean()  # timestamps in order, resolved <=> resolved_at
        events = list(incident.timeline_events.all())
        assert 5 <= len(events) <= 9
        assert incident.services.exists()
        assert incident.tags.exists()
        assert all(e.occurred_at >= incident.started_at for e in events)
    for postmortem in Postmortem.objects.all():
        postmortem.full_clean()
        if postmortem.status == "published":
            assert postmortem.reviews.filter(decision="approve").exists()
        if postmortem.status != "draft":
            assert postmortem.submitted_at
    assert Postmortem.objects.filter(reviews__decision="request_changes", status="published").exists()
    now = timezone.now()
    for item in ActionItem.objects.all():
        item.full_clean()
        if item.status == "done":
            assert item.completed_at < now
    changed = ActionItem.objects.exclude(status="open")
    assert not changed.filter(changes__isnull=True).exists()
    assert ActionItemChange.objects.filter(changes__has_key="status").count() >= changed.count()
    assert TimelineEvent.objects.filter(occurred_at__gt=now).count() == 0


def test_demo_user_can_log_in_even_after_a_password_change(client):
    seed()
    demo = get_user_model().objects.get(username="demo")
    assert demo.is_staff and demo.is_superuser
    assert demo.teams.exists()
    demo.set_password("something else")
    demo.save()

    seed()

    # django-axes needs the request that a sign-in comes with.
    assert client.login(request=RequestFactory().post("/accounts/login/"), username="demo", password="demo")


def test_one_persona_per_role_can_sign_in_and_has_work_waiting(client):
    out = seed()

    logins = dict(
        line.strip().removeprefix("or as the ").split(": ") for line in out.splitlines() if "or as the" in line
    )
    assert set(logins) == {"facilitator", "reviewer", "item owner", "team lead"}
    users = {role: get_user_model().objects.get(username=login.split(" / ")[0]) for role, login in logins.items()}
    assert len({u.pk for u in users.values()}) == 4
    for login in logins.values():
        username, password = login.split(" / ")
        assert client.login(request=RequestFactory().post("/accounts/login/"), username=username, password=password)
    assert Postmortem.objects.filter(facilitator=users["facilitator"]).exclude(status="published").exists()
    waiting = Postmortem.objects.filter(status="in_review", reviewers=users["reviewer"])
    assert waiting.exclude(reviews__reviewer=users["reviewer"], reviews__decision="approve").exists()
    assert ActionItem.objects.open().filter(owner=users["item owner"]).exists()
    assert Team.objects.filter(lead=users["team lead"]).exists()


def test_references_follow_the_moved_years_and_the_texts_name_them():
    seed()

    for incident in Incident.objects.all():
        assert incident.reference.startswith(f"INC-{incident.declared_at.year}-")
    for item in ActionItem.objects.select_related("postmortem__incident"):
        assert item.description.startswith(f"From the postmortem of {item.postmortem.incident.reference} ")
    links = RepeatLink.objects.select_related("earlier")
    assert all(f"{link.earlier.reference} was " in link.reason for link in links)
    references = set(ActionItem.objects.values_list("reference", flat=True))
    named = {word.strip('"(),.;') for link in links for word in link.reason.split() if word.startswith("AI-")}
    assert named and named <= references
