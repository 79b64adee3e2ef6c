"""Factories with fixed, readable defaults for the test suite."""

from datetime import UTC, datetime, timedelta
from importlib import import_module

import factory
from django.contrib.auth import get_user_model

from actions.models import ActionItem
from incidents.models import CauseCategory, Incident, Service, Severity, Team, TimelineEvent
from postmortems.models import Postmortem

# A fixed moment, so durations and due dates are predictable: Monday 2 March 2026, 10:00 UTC.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.django.Password("pw")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"service-{n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    team = factory.SubFactory(TeamFactory)


def ensure_taxonomies() -> None:
    """Re-seed the severities and cause categories of the data migration (a transactional
    test before this one may have flushed them); seeding never duplicates."""
    from django.apps import apps

    import_module("incidents.migrations.0002_seed_taxonomies").seed(apps, None)


def severity(name: str = "SEV2") -> Severity:
    """The seeded severity of that name (from the data migration)."""
    found = Severity.objects.filter(name=name).first()
    if found is None:
        ensure_taxonomies()
        found = Severity.objects.get(name=name)
    return found


def cause(slug: str = "deploy") -> CauseCategory:
    found = CauseCategory.objects.filter(slug=slug).first()
    if found is None:
        ensure_taxonomies()
        found = CauseCategory.objects.get(slug=slug)
    return found


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    title = factory.Sequence(lambda n: f"Checkout errors {n}")
    severity = factory.LazyFunction(severity)
    status = Incident.Status.RESOLVED
    started_at = T0
    detected_at = T0 + timedelta(minutes=5)
    acknowledged_at = T0 + timedelta(minutes=8)
    declared_at = T0 + timedelta(minutes=10)
    mitigated_at = T0 + timedelta(minutes=45)
    resolved_at = T0 + timedelta(hours=2)


class TimelineEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineEvent

    incident = factory.SubFactory(IncidentFactory)
    occurred_at = T0
    kind = TimelineEvent.Kind.NOTE
    text = "Something happened"


class PostmortemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Postmortem

    incident = factory.SubFactory(IncidentFactory)
    facilitator = factory.SubFactory(UserFactory)
    summary = "Checkout failed for 40 minutes after a deploy."
    root_cause = "A migration locked the orders table."


class ActionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionItem

    postmortem = factory.SubFactory(PostmortemFactory)
    title = factory.Sequence(lambda n: f"Add a lock timeout to migrations ({n})")
    owner = factory.SubFactory(UserFactory)
    due_date = factory.LazyFunction(lambda: (T0 + timedelta(days=14)).date())
