"""No API representation holds more than the JSON a reader gets.

Every list and detail endpoint of the router, asked for in every way a client or browser can
ask (JSON, ``?format=api``, a ``.api`` suffix, ``Accept: text/html``), by an outsider, a team
member and an admin: no answer may carry text that the same person's JSON answer omits (the
browsable API's pre-filled forms once held every internal section), and none is a 500.
"""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from actions.models import Notification
from config.api_urls import router
from postmortems.models import Review
from tests.factories import (
    ActionItemFactory,
    PostmortemFactory,
    ServiceFactory,
    TeamFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Words that only insiders may read; each appears once in the data below.
SECRETS = {
    "org_root_cause": "zebraquartz root cause",
    "org_lessons": "marmaladeflux lessons",
    "org_review": "pineconeglyph review comment",
    "restricted_title": "obsidianwharf incident",
    "restricted_summary": "tangerinevault summary",
    "restricted_timeline": "walrusquiver timeline",
    "restricted_item": "lanternmoss action",
    "draft_summary": "cobaltheron draft summary",
    "draft_item": "saffronkettle draft action",
}

# How a client or a browser may ask: (method, url -> url, query, headers).
VARIANTS = {
    "json": ("get", lambda url: url, {"format": "json"}, {}),
    "format=api": ("get", lambda url: url, {"format": "api"}, {}),
    ".api suffix": ("get", lambda url: url.rstrip("/") + ".api", {}, {}),
    "accept html": ("get", lambda url: url, {}, {"HTTP_ACCEPT": "text/html"}),
    "browser": ("get", lambda url: url, {}, {"HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8"}),
    "options": ("options", lambda url: url, {}, {}),
}


@pytest.fixture
def world(db):
    """owner (works on every postmortem), teammate (in Payments), outsider, admin; three
    postmortems holding the secrets: org-wide with internal sections, restricted, draft."""
    owner = UserFactory(username="owner")
    teammate = UserFactory(username="teammate")
    outsider = UserFactory(username="outsider")
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    team = TeamFactory(name="Payments", slug="payments")
    team.members.add(teammate)
    service = ServiceFactory(name="checkout", slug="checkout", team=team)

    org = PostmortemFactory(
        facilitator=owner,
        status="published",
        published_at=timezone.now(),
        root_cause=SECRETS["org_root_cause"],
        lessons=SECRETS["org_lessons"],
        internal_sections=["root_cause", "lessons"],
    )
    org.incident.tags.add("database", "checkout")
    Review.objects.create(postmortem=org, reviewer=owner, decision="approve", comment=SECRETS["org_review"])

    restricted = PostmortemFactory(
        facilitator=owner,
        status="published",
        published_at=timezone.now(),
        visibility="restricted",
        summary=SECRETS["restricted_summary"],
        incident__title=SECRETS["restricted_title"],
    )
    TimelineEventFactory(incident=restricted.incident, text=SECRETS["restricted_timeline"])
    ActionItemFactory(postmortem=restricted, owner=owner, title=SECRETS["restricted_item"])

    draft = PostmortemFactory(facilitator=owner, summary=SECRETS["draft_summary"])
    ActionItemFactory(postmortem=draft, owner=owner, title=SECRETS["draft_item"])

    for pm in (org, restricted, draft):
        pm.teams.add(team)
        pm.incident.services.add(service)
        pm.incident.tags.add("payments")
    Notification.objects.create(
        kind=Notification.Kind.POSTMORTEM_DUE,
        recipient=teammate,
        recipient_email=teammate.email,
        subject_key=f"PM-{restricted.pk}",
        period_key="test",
        postmortem=restricted,
    )
    return {"outsider": outsider, "teammate": teammate, "admin": admin}


def _endpoints() -> list[tuple[str, str]]:
    """(name, basename) of each list and detail route the router serves."""
    return [(f"{basename}-list", basename) for _, _, basename in router.registry] + [
        (f"{basename}-detail", basename) for _, _, basename in router.registry
    ]


def _urls(admin_client: APIClient) -> list[str]:
    """Every list URL, and the detail URL of every row an admin sees in each list."""
    urls = []
    for _, basename in _endpoints()[: len(router.registry)]:
        list_url = reverse(f"api:{basename}-list")
        urls.append(list_url)
        response = admin_client.get(list_url, {"format": "json"})
        assert response.status_code == 200, list_url
        urls += [reverse(f"api:{basename}-detail", args=[row["id"]]) for row in response.json()["results"]]
    return urls


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_every_route_is_covered():
    names = {name for name, _ in _endpoints()}
    assert {"postmortem-detail", "incident-detail", "action-item-list", "notification-detail"} <= names


@pytest.mark.parametrize("role", ["outsider", "teammate", "admin"])
def test_no_renderer_shows_more_than_the_json_reader_representation(world, role):
    urls = _urls(_client(world["admin"]))
    assert len(urls) > len(router.registry)  # details too, for every row
    client = _client(world[role])
    seen_secrets = set()
    for url in urls:
        reader = client.get(url, {"format": "json"})
        assert reader.status_code in (200, 404), url
        allowed = {word for word in SECRETS.values() if word in reader.content.decode()}
        seen_secrets |= allowed
        for variant, (method, to_url, query, headers) in VARIANTS.items():
            response = getattr(client, method)(to_url(url), query, **headers)
            assert response.status_code < 500, (url, variant, response.status_code)
            leaked = {word for word in SECRETS.values() if word in response.content.decode()} - allowed
            assert not leaked, (url, variant, leaked)
            assert response["Content-Type"].startswith("application/json"), (url, variant)
    # The JSON itself redacts: the outsider reads none of the secrets, the admin all of them.
    assert seen_secrets == (set(SECRETS.values()) if role == "admin" else set()) or role == "teammate"
    if role == "teammate":
        assert SECRETS["org_root_cause"] in seen_secrets and SECRETS["draft_summary"] not in seen_secrets


def test_the_html_view_of_an_incident_is_a_clean_json_error_not_a_500(world):
    from incidents.models import Incident

    incident = Incident.objects.filter(tags__name="database").get()
    client = _client(world["admin"])
    response = client.get(f"/api/v1/incidents/{incident.pk}/", {"format": "api"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    response = client.get(f"/api/v1/incidents/{incident.pk}/", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"
