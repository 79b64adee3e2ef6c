"""Every list endpoint costs a fixed number of queries, whatever the number of rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from actions.models import Notification
from incidents.api_auth import api_token_create
from incidents.models import FailureClass
from tests.factories import (
    ActionItemFactory,
    PostmortemFactory,
    ServiceFactory,
    TeamFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Endpoint -> the queries it makes for a signed-in (not admin) user: the page's count, then:
EXPECTED = {
    "incidents": 4,  # count, rows (visibility and postmortem id in the query), services, tags
    "postmortems": 6,  # count, rows (visibility, full access annotated), authors, reviewers, teams, reviews
    "action-items": 2,  # count, rows (visibility, can_edit and the incident id in the query)
    "timeline-events": 2,  # count, rows
    "notifications": 2,  # count, rows
    "teams": 3,  # count, rows, members
    "services": 2,
    "severities": 2,
    "cause-categories": 2,
    "failure-classes": 2,
    "tokens": 2,  # count, rows (the user's own)
    "users": 2,
}


def grow(user, total: int) -> None:
    """Add rows until there are ``total`` of each kind the user can see."""
    have = Notification.objects.filter(recipient=user).count()
    for n in range(have, total):
        team = TeamFactory()
        team.members.add(user, UserFactory())
        postmortem = PostmortemFactory(status="published", published_at=timezone.now())
        postmortem.authors.add(UserFactory())
        postmortem.reviewers.add(UserFactory())
        postmortem.teams.add(team)
        postmortem.reviews.create(reviewer=postmortem.facilitator, decision="approve")
        incident = postmortem.incident
        incident.services.add(ServiceFactory(team=team), ServiceFactory(team=team))
        incident.tags.add(f"tag-{n}", "shared")
        TimelineEventFactory(incident=incident)
        ActionItemFactory(postmortem=postmortem, owner=user if n % 2 else UserFactory())
        Notification.objects.create(recipient=user, recipient_email=user.email, kind="digest", period_key=f"W{n}")
        api_token_create(user=user, name=f"job {n}")
        FailureClass.objects.create(name=f"Failure class {n}", slug=f"failure-{n}")


def count_queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/{path}/")
    assert response.status_code == 200, response.content
    return len(queries)


def test_list_endpoints_make_a_fixed_number_of_queries():
    user = UserFactory(username="counter")
    client = APIClient()
    client.force_authenticate(user)
    grow(user, 5)
    small = {path: count_queries(client, path) for path in EXPECTED}
    grow(user, 50)
    large = {path: count_queries(client, path) for path in EXPECTED}
    assert client.get("/api/v1/incidents/").json()["count"] >= 50
    assert small == large == EXPECTED


def test_the_incident_detail_makes_a_fixed_number_of_queries(django_assert_max_num_queries):
    user = UserFactory(username="counter")
    grow(user, 3)
    client = APIClient()
    client.force_authenticate(user)
    incident = PostmortemFactory().incident
    for _ in range(20):
        TimelineEventFactory(incident=incident)
    # row, services, tags, timeline events, severity changes, failure classes
    with django_assert_max_num_queries(6):
        assert client.get(f"/api/v1/incidents/{incident.pk}/").status_code == 200


def test_a_postmortems_action_items_cost_a_fixed_number_of_queries():
    user = UserFactory(username="counter")
    client = APIClient()
    client.force_authenticate(user)
    postmortem = PostmortemFactory(status="published", published_at=timezone.now())
    url = f"/api/v1/postmortems/{postmortem.pk}/action-items/"
    ActionItemFactory(postmortem=postmortem)
    few = count_queries_at(client, url)
    for n in range(30):
        ActionItemFactory(postmortem=postmortem, owner=user if n % 2 else UserFactory())
    # the postmortem (visibility and full access in the query), its items' count, their rows
    assert few == count_queries_at(client, url) == 3
    assert client.get(url).json()["count"] == 31


def count_queries_at(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)
