"""The list filters, on every page and endpoint: readable labels, at most MAX_FILTER_VALUES
values per filter (a form error on pages, a 400 in the API), dates within bounds, and tag
filters that cost one grouped query however many tags are asked for."""

import django_filters
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

import actions.api
import actions.filters
import incidents.api
import incidents.filters
import postmortems.api
import postmortems.filters
from incidents.api_auth import api_token_create
from incidents.filters import MAX_FILTER_VALUES
from tests.factories import ActionItemFactory, IncidentFactory, PostmortemFactory, UserFactory

pytestmark = pytest.mark.django_db

TOO_MANY_TAGS = ",".join(f"tag{n}" for n in range(MAX_FILTER_VALUES + 1))


@pytest.fixture
def reader():
    return UserFactory(username="rita", first_name="Rita")


@pytest.fixture
def api(reader) -> APIClient:
    client = APIClient()
    _, key = api_token_create(user=reader, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def all_filtersets():
    modules = [incidents.filters, postmortems.filters, actions.filters]
    found = {
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, django_filters.FilterSet) and value._meta.model
    }
    return sorted(found, key=lambda cls: cls.__name__)


@pytest.mark.parametrize("filterset", all_filtersets(), ids=lambda cls: cls.__name__)
def test_every_filter_label_reads_as_words(filterset):
    for name, field in filterset().form.fields.items():
        label = str(field.label)
        assert "[invalid name]" not in label, (filterset.__name__, name)
        assert not label.endswith(" name"), (filterset.__name__, name, label)
        for _value, text in getattr(field, "choices", []):
            assert "(descending)" not in str(text), (filterset.__name__, name, text)


def test_the_pages_show_readable_filter_labels(client, reader):
    client.force_login(reader)
    for url in ["/incidents/", "/postmortems/", "/archive/", "/actions/board/"]:
        page = client.get(url).content.decode()
        assert "[invalid name]" not in page, url
        assert "Incident severity name" not in page, url
        assert "(descending)" not in page, url
    assert "Due date, latest first" in client.get("/actions/board/").content.decode()


@pytest.mark.parametrize("url", ["/api/v1/incidents/", "/api/v1/postmortems/", "/api/v1/action-items/"])
def test_the_api_refuses_more_than_the_most_tags(api, url):
    response = api.get(url, {"tags": TOO_MANY_TAGS})
    assert response.status_code == 400
    assert response.json()["errors"] == {"tags": [f"Choose at most {MAX_FILTER_VALUES} values."]}
    allowed = ",".join(TOO_MANY_TAGS.split(",")[:MAX_FILTER_VALUES])
    assert api.get(url, {"tags": allowed}).status_code == 200


def test_every_multi_value_filter_is_capped(api, client, reader):
    many_keys = ",".join(["declared_at", "-declared_at"] * MAX_FILTER_VALUES)
    response = api.get("/api/v1/incidents/", {"ordering": many_keys})
    assert response.status_code == 400 and "ordering" in response.json()["errors"]
    client.force_login(reader)
    severities = [f"SEV{n}" for n in range(MAX_FILTER_VALUES + 1)]
    page = client.get("/archive/", {"severity": severities, "tags": TOO_MANY_TAGS})
    assert page.status_code == 200
    errors = page.context["filterset"].form.errors
    assert errors["severity"] == errors["tags"] == [f"Choose at most {MAX_FILTER_VALUES} values."]
    assert f"Choose at most {MAX_FILTER_VALUES} values." in page.content.decode()
    assert "tag20" in page.content.decode()  # what was typed stays in the box


def test_tags_match_all_case_insensitively(api):
    both = IncidentFactory(title="both")
    both.tags.add("Database", "latency")
    one = IncidentFactory(title="one")
    one.tags.add("database")
    IncidentFactory(title="none")
    titles = [row["title"] for row in api.get("/api/v1/incidents/", {"tags": "database, LATENCY"}).json()["results"]]
    assert titles == ["both"]
    titles = {row["title"] for row in api.get("/api/v1/incidents/", {"tags": "DATABASE"}).json()["results"]}
    assert titles == {"both", "one"}
    postmortem = PostmortemFactory(incident=both, status="published", published_at=timezone.now())
    ActionItemFactory(postmortem=postmortem)
    assert api.get("/api/v1/action-items/", {"tags": "latency,database"}).json()["count"] == 1
    assert api.get("/api/v1/action-items/", {"tags": "latency,nope"}).json()["count"] == 0


def test_twenty_tags_cost_one_tag_lookup_not_twenty(api):
    tags = ",".join(f"tag{n}" for n in range(MAX_FILTER_VALUES))
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/incidents/", {"tags": tags}).status_code == 200
    lookups = max(query["sql"].count("taggit_taggeditem") for query in queries.captured_queries)
    assert lookups == 1


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/incidents/", {"declared_after": "0001-01-01"}, "declared_after"),
        ("/api/v1/timeline-events/", {"occurred_after": "0001-01-01T00:00:00+05:00"}, "occurred_after"),
        ("/api/v1/action-items/", {"due_before": "9999-12-31"}, "due_before"),
    ],
)
def test_filter_dates_out_of_range_are_400s(api, url, params, field):
    response = api.get(url, params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_api_filtersets_live_in_the_apps_filters_modules():
    for module in [incidents.api, postmortems.api, actions.api]:
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, django_filters.FilterSet):
                assert value.__module__.endswith(".filters"), (module.__name__, name)


@pytest.mark.parametrize("path", ["incidents", "postmortems", "action-items"])
def test_every_imported_list_filters_by_external_id_and_source_url(api, reader, path):
    imported = PostmortemFactory(
        status="published", published_at=timezone.now(), external_id="jira-7", source_url="https://wiki/pm/7"
    )
    imported.incident.external_id, imported.incident.source_url = "jira-7", "https://wiki/pm/7"
    imported.incident.save()
    ActionItemFactory(postmortem=imported, external_id="jira-7", source_url="https://wiki/pm/7")
    other = PostmortemFactory(status="published", published_at=timezone.now())
    ActionItemFactory(postmortem=other)
    for params in [{"external_id": "jira-7"}, {"source_url": "https://wiki/pm/7"}]:
        rows = api.get(f"/api/v1/{path}/", params).json()["results"]
        assert [row["external_id"] for row in rows] == ["jira-7"], (path, params)
    assert api.get(f"/api/v1/{path}/", {"external_id": "nope"}).json()["count"] == 0
