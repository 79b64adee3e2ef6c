"""Teams, services, cause categories and failure classes: anyone signed in reads them; only
admins create and change them, and each write is in the admin's history (/admin/)."""

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry

from incidents.models import CauseCategory, FailureClass, Service, Team

pytestmark = pytest.mark.django_db

NEW = {
    "teams": (Team, {"name": "Search", "slug": "search", "digest_email": "search@example.com"}),
    "cause-categories": (CauseCategory, {"name": "Quota exhausted", "slug": "quota", "description": "Ran out."}),
    "failure-classes": (FailureClass, {"name": "Expired certificate", "slug": "cert", "keywords": "cert + expir"}),
}


@pytest.mark.parametrize("path", [*NEW, "services"])
@pytest.mark.parametrize("role", ["reader", "lead", "member"])
def test_only_admins_create_reference_data(api, people, path, role):
    model, body = NEW.get(path, (Service, {"name": "search-api", "slug": "search-api", "team": people.team.pk}))
    before = model.objects.count()
    response = api(getattr(people, role)).post(f"/api/v1/{path}/", body)
    assert response.status_code == 403
    assert response.json()["detail"] == "Only admins change teams, services and the taxonomies."
    assert model.objects.count() == before


@pytest.mark.parametrize("path", NEW)
def test_an_admin_creates_reference_data_and_the_admin_history_shows_it(api, people, path):
    model, body = NEW[path]
    response = api(people.admin).post(f"/api/v1/{path}/", body)
    assert response.status_code == 201, response.json()
    created = model.objects.get(slug=body["slug"])
    assert response.json()["id"] == created.pk and response.json()["name"] == body["name"]
    entry = LogEntry.objects.get(object_id=str(created.pk), content_type__model=model._meta.model_name)
    assert entry.user == people.admin and entry.action_flag == ADDITION
    # Anyone signed in reads it.
    assert api(people.reader).get(f"/api/v1/{path}/{created.pk}/").json()["slug"] == body["slug"]


def test_an_admin_changes_a_teams_members_and_lead(api, people):
    response = api(people.admin).patch(
        f"/api/v1/teams/{people.team.pk}/", {"members": [people.reader.pk], "lead": people.reader.pk}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["members"] == [people.reader.pk] and response.json()["lead"] == people.reader.pk
    assert list(people.team.members.all()) == [people.reader]
    entry = LogEntry.objects.get(object_id=str(people.team.pk), action_flag=CHANGE)
    assert entry.user == people.admin and "lead, members" in entry.change_message


def test_a_service_needs_an_existing_team_and_a_unique_slug(api, people):
    client = api(people.admin)
    response = client.post("/api/v1/services/", {"name": "other", "slug": "checkout", "team": 999999})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"slug", "team"}
    assert not Service.objects.filter(name="other").exists()
    assert not LogEntry.objects.exists()


def test_an_admin_renames_a_failure_class(api, people):
    failure = FailureClass.objects.create(name="Split brain", slug="split-brain")
    response = api(people.admin).patch(f"/api/v1/failure-classes/{failure.pk}/", {"name": "Split brain (quorum)"})
    assert response.status_code == 200
    failure.refresh_from_db()
    assert failure.name == "Split brain (quorum)"
    assert api(people.reader).patch(f"/api/v1/failure-classes/{failure.pk}/", {"name": "x"}).status_code == 403


def test_reference_data_is_not_deleted_through_the_api(api, people):
    assert api(people.admin).delete(f"/api/v1/teams/{people.team.pk}/").status_code == 405
