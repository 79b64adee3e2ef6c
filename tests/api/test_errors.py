"""Errors under /api/ are JSON in one shape; the HTML pages keep their HTML error pages."""

import os

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory
from rest_framework.test import APIClient

from config import api_errors

pytestmark = pytest.mark.django_db


def test_unknown_api_urls_are_json_404s(api, people, client):
    for url in ["/api/v1/nope/", "/api/nope", "/api/v1/incidents/999999/", "/api/v1/incidents/abc/"]:
        response = api(people.reader).get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] == "not_found"
    client.force_login(people.reader)
    page = client.get("/incidents/nope/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_unknown_urls_are_json_404s_for_a_browser_session_too(people):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(people.reader)
    response = client.post("/api/v1/incidents/1.5/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_missing_trailing_slash_gets_a_hint(api, people, settings):
    settings.DEBUG = True  # Django's own 404 page would be HTML
    response = api(people.reader).post("/api/v1/incidents", {"title": "x"})
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found. Did you mean /api/v1/incidents/ (with the trailing slash)?"


def test_wrong_methods_and_media_types_are_json(api, people):
    client = api(people.reader)
    response = client.delete("/api/v1/incidents/")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    response = client.post("/api/v1/incidents/", "<xml/>", content_type="application/xml")
    assert response.status_code == 415 and "Unsupported media type" in response.json()["detail"]
    response = client.post("/api/v1/incidents/", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    assert response.json()["detail"].startswith("JSON parse error")


def test_validation_errors_name_each_field(api, people):
    response = api(people.reader).post("/api/v1/incidents/", {"severity": 999})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == {
        "title": ["This field is required."],
        "severity": ['Invalid pk "999" - object does not exist.'],
    }
    assert body["detail"].startswith("title: This field is required.")


def test_server_errors_under_api_are_json_and_elsewhere_html():
    factory = RequestFactory()
    response = api_errors.handler500(factory.get("/api/v1/incidents/"))
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    page = api_errors.handler500(factory.get("/incidents/"))
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
    assert api_errors.handler403(factory.get("/api/x"), None)["Content-Type"] == "application/json"
    assert api_errors.handler400(factory.get("/api/x"), None)["Content-Type"] == "application/json"


def test_an_unexpected_exception_in_a_view_gives_a_json_500(people, monkeypatch):
    from django.test import Client

    from incidents import api

    def explode(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.SeverityViewSet, "get_queryset", explode)
    client = Client(raise_request_exception=False)
    client.force_login(people.reader)
    response = client.get("/api/v1/severities/")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Something went wrong on our side; it has been logged.",
        "code": "server_error",
    }


# Inputs that used to end as 500s are 400s that say what is wrong ---------------------------


def test_json_nested_100000_deep_is_a_400(api, people):
    body = "[" * 100_000 + "]" * 100_000
    response = api(people.reader).post("/api/v1/incidents/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nested more than 32 levels deep.", "code": "parse_error"}
    shallow = {"title": "x", "severity": 1, "labels": [[[[["a"]]]]]}
    assert api(people.reader).post("/api/v1/incidents/", shallow, format="json").status_code != 500


@pytest.mark.parametrize("number", ["1e999", "-1e999", "9" * 30, "NaN", "Infinity"])
def test_numbers_no_field_can_hold_are_a_400(api, people, number):
    body = '{"title": "x", "severity": ' + number + "}"
    response = api(people.reader).post("/api/v1/incidents/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "out of range" in response.json()["detail"] or "not a JSON number" in response.json()["detail"]


def test_metrics_over_the_whole_calendar_are_a_400_not_a_500(api, people, client):
    far = {"start": "0001-01-01", "end": "9999-12-31"}
    response = api(people.reader).get("/api/v1/metrics/", far)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body["errors"]) == {"start", "end"}
    assert "1970 or later" in body["detail"]
    client.force_login(people.reader)
    page = client.get("/metrics/", far)
    assert page.status_code == 200
    assert "1970 or later" in page.content.decode()


@pytest.mark.parametrize(
    "url", ["/actions/%00/", "/incidents/INC%00/", "/api/v1/incidents/?q=a%00b", "/archive/?q=%00", "/incidents/?q=%00"]
)
def test_a_nul_in_the_path_or_query_is_a_400(client, people, url):
    client.force_login(people.reader)
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    if url.startswith("/api/"):
        assert response.json()["code"] == "bad_request"


def test_invalid_utf8_in_a_form_is_refused_and_nothing_is_stored(client, people):
    from incidents.models import Incident

    client.force_login(people.reader)
    body = "title=Caf%E9+down&severity=1&status=investigating&trigger=unknown&declared_at=2026-03-02T10:00"
    response = client.post("/incidents/new/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()
    assert not Incident.objects.exists()
    assert client.get("/incidents/?q=caf%E9").status_code == 400
    assert client.get("/incidents/?q=caf%C3%A9").status_code == 200


ON_POSTGRES = "postgresql" in django_settings.DATABASES["default"]["ENGINE"]
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="statement_timeout is PostgreSQL's")


def _sleep_past_the_timeout(*args, **kwargs):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 50")
        cursor.execute("SELECT pg_sleep(2)")


@pytest.mark.postgres
@needs_postgres
@pytest.mark.parametrize(("process", "expected"), [("web", "30s"), ("", "0")], ids=["web", "worker or command"])
def test_the_web_connection_has_a_statement_timeout(process, expected):
    """What PostgreSQL itself says on a connection opened by a web process (config/wsgi.py sets
    TRACKER_PROCESS=web) and by any other process (a worker, a migration)."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import django; django.setup(); from django.db import connection; "
        "cursor = connection.cursor(); cursor.execute('SHOW statement_timeout'); print(cursor.fetchone()[0])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_PROCESS", "DATABASE_STATEMENT"))}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env | {"TRACKER_PROCESS": process, "DJANGO_SETTINGS_MODULE": "config.test_settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[-1] == expected


@pytest.mark.postgres
@needs_postgres
def test_a_cancelled_statement_in_the_api_is_a_503_that_says_so(api, people, monkeypatch):
    from incidents import api as incidents_api

    monkeypatch.setattr(incidents_api.SeverityViewSet, "get_queryset", _sleep_past_the_timeout)
    response = api(people.reader).get("/api/v1/severities/")
    assert response.status_code == 503
    assert response.json()["code"] == "timeout" and "too long" in response.json()["detail"]
    assert response["Retry-After"] == "30"


@pytest.mark.postgres
@needs_postgres
def test_a_cancelled_statement_on_a_page_is_a_503_that_says_so(client, people, monkeypatch):
    from actions import views

    client.force_login(people.reader)
    monkeypatch.setattr(views.selectors, "overdue_board", _sleep_past_the_timeout)
    response = client.get("/actions/board/")
    assert response.status_code == 503
    assert "took too long" in response.content.decode()


def test_a_nul_in_a_cookie_is_a_400(client, people):
    client.force_login(people.reader)
    client.cookies["sessionid"] = "abcdefgh\x00ijkl"
    response = client.get("/incidents/")
    assert response.status_code == 400
    assert "cookie holds a NUL character" in response.content.decode()


def test_invalid_utf8_in_a_multipart_form_is_refused_too(client, api, people):
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    from incidents.models import Incident

    body = encode_multipart(BOUNDARY, {"title": "Café down", "severity": "1"}).replace("Café".encode(), b"Caf\xe9")
    response = api(people.reader).generic("POST", "/api/v1/incidents/", body, content_type=MULTIPART_CONTENT)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The form holds bytes that are not UTF-8 text; encode it as UTF-8 and send it again.",
        "code": "bad_request",
    }
    assert not Incident.objects.exists()
    good = encode_multipart(BOUNDARY, {"title": "Café down"})
    response = api(people.reader).generic("POST", "/api/v1/incidents/", good, content_type=MULTIPART_CONTENT)
    assert response.status_code == 400 and "severity" in response.json()["errors"]  # read, then validated
