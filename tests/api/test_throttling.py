"""The API's throttles: past the rate a client gets a 429 with Retry-After, per token (or
session user) when signed in and per address when not; the rates come from settings."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    """``rates(user=..., anon=..., webhook=...)`` lowers the named rates for this test."""

    def lower(**changed):
        current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        new = {**current, **{f"api-{scope}": rate for scope, rate in changed.items()}}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": new}

    return lower


def test_a_token_past_its_rate_gets_429_with_retry_after(api, people, rates):
    rates(user="3/min")
    client = api(people.reader)
    assert [client.get("/api/v1/incidents/").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/api/v1/incidents/")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "throttled"
    assert "Expected available in" in refused.json()["detail"]


def test_each_token_has_its_own_budget(api, people, rates):
    rates(user="2/min")
    ci_job, browser_script = api(people.reader), api(people.reader)
    for _ in range(2):
        ci_job.get("/api/v1/teams/")
    assert ci_job.get("/api/v1/teams/").status_code == 429
    assert browser_script.get("/api/v1/teams/").status_code == 200
    assert api(people.member).get("/api/v1/teams/").status_code == 200


def test_a_session_counts_as_its_user(client, people, rates):
    rates(user="1/min")
    client.force_login(people.reader)
    assert client.get("/api/v1/teams/").status_code == 200
    assert client.get("/api/v1/teams/").status_code == 429


def test_anonymous_requests_are_counted_per_address(client, rates):
    rates(anon="2/min")
    for _ in range(2):
        assert client.get("/api/schema/", REMOTE_ADDR="203.0.113.5").status_code == 200
    refused = client.get("/api/schema/", REMOTE_ADDR="203.0.113.5")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert client.get("/api/schema/", REMOTE_ADDR="203.0.113.6").status_code == 200


def test_webhooks_have_their_own_rate(client, settings, rates):
    settings.ALERT_WEBHOOK_SECRET = "s3cret"
    rates(anon="1/min", webhook="2/min")
    alert = {"id": "a1", "title": "Disk full", "started_at": "2026-01-01T00:00:00Z"}
    auth = {"HTTP_AUTHORIZATION": "Bearer s3cret", "REMOTE_ADDR": "198.51.100.7"}
    sent = [client.post("/api/v1/webhooks/generic/", alert, content_type="application/json", **auth) for _ in range(3)]
    assert [r.status_code for r in sent[:2]] == [201, 200]
    assert sent[2].status_code == 429 and sent[2]["Retry-After"]


def test_the_schema_documents_429_and_retry_after(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ["/api/v1/incidents/", "/api/v1/postmortems/{id}/", "/api/v1/webhooks/generic/"]:
        for operation in schema["paths"][path].values():
            assert "Retry-After" in operation["responses"]["429"]["headers"], path
