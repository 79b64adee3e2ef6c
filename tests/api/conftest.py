"""Named people around a team, and an API client per person (token-authenticated)."""

from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.api_auth import api_token_create
from postmortems.models import Postmortem
from tests.factories import ActionItemFactory, PostmortemFactory, ServiceFactory, TeamFactory, UserFactory

INTERNAL_TEXT = "Internal: the vendor's failover key expired"


@pytest.fixture
def people(db):
    """reader (signed in, no role), owner (of an action item), facilitator, author, reviewer,
    member (of the postmortems' team), lead (of that team), admin."""
    lead = UserFactory(username="lead", first_name="Lee")
    team = TeamFactory(name="Payments", slug="payments", lead=lead)
    member = UserFactory(username="member", first_name="Mia")
    team.members.add(member, lead)
    return SimpleNamespace(
        team=team,
        service=ServiceFactory(name="checkout", slug="checkout", team=team),
        reader=UserFactory(username="reader", first_name="Rita"),
        owner=UserFactory(username="owner", first_name="Owen"),
        facilitator=UserFactory(username="facilitator", first_name="Fay"),
        author=UserFactory(username="author", first_name="Ava"),
        reviewer=UserFactory(username="reviewer", first_name="Rex"),
        member=member,
        lead=lead,
        admin=UserFactory(username="admin", is_staff=True, is_superuser=True),
    )


def make_postmortem(people, *, status="draft", visibility="organisation", **fields) -> Postmortem:
    """A postmortem with the named people in their roles, the team, and one action item of ``owner``."""
    postmortem = PostmortemFactory(
        facilitator=people.facilitator,
        status=status,
        visibility=visibility,
        published_at=timezone.now() if status == "published" else None,
        submitted_at=timezone.now() if status != "draft" else None,
        **fields,
    )
    postmortem.authors.add(people.author)
    postmortem.reviewers.add(people.reviewer)
    postmortem.teams.add(people.team)
    postmortem.incident.services.add(people.service)
    ActionItemFactory(postmortem=postmortem, owner=people.owner, title="Alert on failover key expiry")
    return postmortem


@pytest.fixture
def org_published(people):
    """Published to the organisation, with the root cause marked internal."""
    return make_postmortem(people, status="published", root_cause=INTERNAL_TEXT, internal_sections=["root_cause"])


@pytest.fixture
def restricted(people):
    return make_postmortem(people, status="published", visibility="restricted")


@pytest.fixture
def draft(people):
    return make_postmortem(people)


@pytest.fixture
def in_review(people):
    return make_postmortem(people, status="in_review")


@pytest.fixture
def api():
    """``api(user)``: a client sending ``user``'s token (``api(None)``: anonymous)."""

    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, key = api_token_create(user=user, name="tests")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return client_for


ROLES = ["reader", "owner", "facilitator", "member", "admin"]
