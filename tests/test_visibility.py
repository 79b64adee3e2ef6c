"""The one place that decides who reads what: postmortems and the incidents behind them."""

import pytest
from django.utils import timezone

from incidents.models import Incident
from postmortems.models import Postmortem
from postmortems.querysets import PostmortemAccess
from tests.factories import PostmortemFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    team = TeamFactory(name="Payments")
    names = ["facilitator", "author", "reviewer", "teammate", "outsider"]
    users = {name: UserFactory(username=name) for name in names}
    users["admin"] = UserFactory(username="boss", is_staff=True)
    team.members.add(users["teammate"])
    return team, users


def _postmortem(team, users, *, status, visibility, internal=()):
    pm = PostmortemFactory(
        facilitator=users["facilitator"],
        status=status,
        visibility=visibility,
        internal_sections=list(internal),
        published_at=timezone.now() if status == "published" else None,
    )
    pm.authors.add(users["author"])
    pm.reviewers.add(users["reviewer"])
    pm.teams.add(team)
    return pm


def _readers(pm, users):
    return {name for name, user in users.items() if Postmortem.objects.visible_to(user).filter(pk=pm.pk).exists()}


def test_published_organisation_wide_postmortems_are_read_by_everyone(people):
    team, users = people
    pm = _postmortem(team, users, status="published", visibility="organisation")
    assert _readers(pm, users) == set(users)


def test_restricted_postmortems_are_read_by_their_teams_and_the_people_on_them(people):
    team, users = people
    pm = _postmortem(team, users, status="published", visibility="restricted")
    assert _readers(pm, users) == {"facilitator", "author", "reviewer", "teammate", "admin"}
    incident_readers = {
        name for name, user in users.items() if Incident.objects.visible_to(user).filter(pk=pm.incident_id).exists()
    }
    assert incident_readers == {"facilitator", "author", "reviewer", "teammate", "admin"}


def test_drafts_are_read_only_by_the_people_working_on_them(people):
    team, users = people
    pm = _postmortem(team, users, status="draft", visibility="organisation")
    assert _readers(pm, users) == {"facilitator", "author", "reviewer", "admin"}


def test_anonymous_visitors_read_nothing(people, rf):
    from django.contrib.auth.models import AnonymousUser

    team, users = people
    _postmortem(team, users, status="published", visibility="organisation")
    assert not Postmortem.objects.visible_to(AnonymousUser()).exists()
    assert not Incident.objects.visible_to(AnonymousUser()).exists()


def test_internal_sections_are_redacted_outside_the_teams(people):
    team, users = people
    pm = _postmortem(team, users, status="published", visibility="organisation", internal=["root_cause"])
    outsider = PostmortemAccess(pm, users["outsider"])
    teammate = PostmortemAccess(pm, users["teammate"])
    assert outsider.can_view and outsider.redacted("root_cause") and not outsider.redacted("summary")
    assert teammate.can_view and not teammate.redacted("root_cause")
    assert not PostmortemAccess(pm, users["admin"]).redacted("root_cause")


def test_only_facilitator_authors_and_admins_edit(people):
    team, users = people
    pm = _postmortem(team, users, status="published", visibility="organisation")
    editors = {name for name, user in users.items() if PostmortemAccess(pm, user).can_edit}
    assert editors == {"facilitator", "author", "admin"}
    reviewers = {name for name, user in users.items() if PostmortemAccess(pm, user).can_review}
    assert reviewers == {"reviewer"}


def test_review_discussion_is_hidden_where_sections_are_redacted(people, client):
    """A reviewer's comment may quote an internal section: outsiders see neither."""
    from postmortems.models import Review

    team, users = people
    pm = _postmortem(team, users, status="published", visibility="organisation", internal=["root_cause"])
    pm.root_cause = "The vault token zebraquartz leaked."
    pm.save()
    Review.objects.create(
        postmortem=pm, reviewer=users["reviewer"], decision="approve", comment="Fine: zebraquartz rotated."
    )
    for name, sees in [("outsider", False), ("teammate", True)]:
        client.force_login(users[name])
        page = client.get(f"/postmortems/{pm.pk}/")
        api = client.get(f"/api/v1/postmortems/{pm.pk}/")
        assert page.status_code == api.status_code == 200
        assert ("zebraquartz" in page.text) is sees, name
        assert ("zebraquartz" in api.text) is sees, name


# An incident's own people ------------------------------------------------------------------


@pytest.fixture
def incident_people(db):
    """An incident of Payments' checkout service: declarer, commander, scribe, owner (a member
    of Payments), teammate (likewise); outsider (in Growth only); admin."""
    from tests.factories import IncidentFactory, ServiceFactory

    users = {name: UserFactory(username=name) for name in ["declarer", "commander", "scribe", "teammate", "outsider"]}
    users["admin"] = UserFactory(username="boss", is_staff=True)
    payments = TeamFactory(name="Payments", slug="payments")
    payments.members.add(users["teammate"])
    growth = TeamFactory(name="Growth", slug="growth")
    growth.members.add(users["outsider"])
    incident = IncidentFactory(
        title="Checkout timeouts", created_by=users["declarer"], commander=users["commander"], scribe=users["scribe"]
    )
    incident.services.add(ServiceFactory(name="checkout", slug="checkout", team=payments))
    return incident, growth, users


def _api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    return client


def test_an_outsider_cannot_start_another_teams_postmortem_and_hide_the_incident(incident_people, client):
    """The audit's repro: start the postmortem of an incident one can see, then restrict it to
    one's own team. Starting is refused on the page and in the API alike."""
    incident, growth, users = incident_people
    api = _api(users["outsider"])
    assert api.get(f"/api/v1/incidents/{incident.pk}/").status_code == 200
    assert api.post("/api/v1/postmortems/", {"incident": incident.pk}, format="json").status_code == 403
    client.force_login(users["outsider"])
    assert "Start postmortem" not in client.get(incident.get_absolute_url()).text
    assert client.get(f"/postmortems/start/{incident.reference}/").status_code == 403
    assert client.post(f"/postmortems/start/{incident.reference}/").status_code == 403
    assert not Postmortem.objects.filter(incident=incident).exists()
    for name in ["declarer", "commander", "teammate"]:
        assert _api(users[name]).get(f"/api/v1/incidents/{incident.pk}/").status_code == 200, name


def test_the_incidents_own_people_start_its_postmortem(incident_people):
    incident, growth, users = incident_people
    response = _api(users["teammate"]).post("/api/v1/postmortems/", {"incident": incident.pk}, format="json")
    assert response.status_code == 201
    assert Postmortem.objects.get(incident=incident).facilitator == users["teammate"]


@pytest.mark.parametrize("status", ["draft", "published"])
def test_restricting_never_hides_an_incident_from_its_own_people(incident_people, client, status):
    """The commander restricts the postmortem to Growth only (say, by mistake): the declarer,
    scribe and Payments still open the incident, and read the postmortem once published."""
    incident, growth, users = incident_people
    api = _api(users["commander"])
    created = api.post("/api/v1/postmortems/", {"incident": incident.pk}, format="json")
    assert created.status_code == 201, created.json()
    pm = Postmortem.objects.get(incident=incident)
    patch = {"version": pm.version, "visibility": "restricted", "teams": [growth.pk]}
    assert api.patch(f"/api/v1/postmortems/{pm.pk}/", patch, format="json").status_code == 200
    if status == "published":
        Postmortem.objects.filter(pk=pm.pk).update(status="published", published_at=timezone.now())
    own_people = {"declarer", "commander", "scribe", "teammate", "admin"}
    for name, user in users.items():
        client.force_login(user)
        sees = name in own_people or name == "outsider"  # the outsider is in Growth now
        assert client.get(incident.get_absolute_url()).status_code == (200 if sees else 404), name
        assert _api(user).get(f"/api/v1/incidents/{incident.pk}/").status_code == (200 if sees else 404), name
    readers = _readers(pm, users)
    if status == "published":
        assert readers == set(users)
    else:
        assert readers == {"commander", "admin"}  # a draft is for the people working on it
