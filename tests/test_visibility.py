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
