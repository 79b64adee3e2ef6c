"""Admins delete incidents and postmortems; the admin's history records who deleted what and
when, and a deleted postmortem leaves the archive search."""

import pytest
from django.contrib.admin.models import DELETION, LogEntry

from incidents.models import Incident
from postmortems.models import Postmortem, PostmortemSearchDocument
from postmortems.search_index import reindex_postmortem

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed(org_published):
    reindex_postmortem(org_published.pk)
    assert PostmortemSearchDocument.objects.filter(postmortem=org_published).exists()
    return org_published


@pytest.mark.parametrize("role", ["reader", "facilitator", "member", "lead"])
@pytest.mark.parametrize("kind", ["incidents", "postmortems"])
def test_only_admins_delete(api, people, indexed, role, kind):
    target = indexed.incident if kind == "incidents" else indexed
    response = api(getattr(people, role)).delete(f"/api/v1/{kind}/{target.pk}/")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only admins delete incidents and postmortems."
    assert Postmortem.objects.filter(pk=indexed.pk).exists() and not LogEntry.objects.exists()


def test_a_postmortem_you_cannot_see_is_not_found_not_refused(api, people, restricted):
    assert api(people.reader).delete(f"/api/v1/postmortems/{restricted.pk}/").status_code == 404
    assert api(people.reader).delete(f"/api/v1/incidents/{restricted.incident.pk}/").status_code in (403, 404)


@pytest.mark.parametrize("kind", ["incidents", "postmortems"])
def test_an_admin_deletes_and_the_history_and_search_follow(
    api, people, indexed, kind, django_capture_on_commit_callbacks
):
    target = indexed.incident if kind == "incidents" else indexed
    name = str(target)
    found = api(people.reader).get("/api/v1/search/", {"q": indexed.incident.title}).json()
    assert found["count"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = api(people.admin).delete(f"/api/v1/{kind}/{target.pk}/")
    assert response.status_code == 204
    assert not Postmortem.objects.filter(pk=indexed.pk).exists()
    assert Incident.objects.filter(pk=indexed.incident.pk).exists() is (kind == "postmortems")
    entry = LogEntry.objects.get()
    assert (entry.user, entry.action_flag, entry.object_id, entry.object_repr) == (
        people.admin,
        DELETION,
        str(target.pk),
        name,
    )
    assert entry.action_time is not None
    # Gone from the archive search and its API.
    assert not PostmortemSearchDocument.objects.filter(postmortem_id=indexed.pk).exists()
    assert api(people.reader).get("/api/v1/search/", {"q": indexed.incident.title}).json()["count"] == 0
