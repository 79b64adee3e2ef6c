"""The OpenAPI schema, its docs, and a Schemathesis run against every operation.

The fuzz run sends generated requests (valid and invalid) as a signed-in user with work
in every state, and asserts no server error and responses that match the schema.
SCHEMATHESIS_MAX_EXAMPLES (default 25) sets the examples per operation.
"""

import os

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from actions.models import Notification
from incidents.api_auth import api_token_create
from tests.api.conftest import make_postmortem
from tests.factories import IncidentFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))


def test_the_schema_is_served_and_valid(client, tmp_path):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/postmortems/{id}/request-changes/" in schema["paths"]
    assert "409" in schema["paths"]["/api/v1/postmortems/{id}/"]["patch"]["responses"]
    assert set(schema["components"]["securitySchemes"]) == {"cookieAuth", "tokenAuth", "webhookSecret"}
    # No warnings: the schema says exactly what the views do.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_the_docs_are_served_with_local_assets(client):
    page = client.get("/api/docs/").content.decode()
    # Swagger UI's start-up code is a script file of its own (no inline script under the CSP).
    start_up = client.get("/api/docs/?script=").content.decode()
    assert "swagger-ui" in page and "/api/docs/?script=" in page and "/api/schema/" in start_up
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


@pytest.fixture
def fuzz_token(people, settings):
    """The facilitator's token, with postmortems in each state, incidents, timeline and notifications.
    It is also the webhook secret, so the webhooks are fuzzed past their authentication."""
    for status in ["draft", "in_review", "published"]:
        make_postmortem(people, status=status)
    make_postmortem(people, status="published", visibility="restricted", internal_sections=["root_cause"])
    TimelineEventFactory(incident=IncidentFactory(status="monitoring", resolved_at=None))
    Notification.objects.create(
        recipient=people.facilitator, recipient_email="f@example.com", kind="digest", period_key="W1"
    )
    _, key = api_token_create(user=people.facilitator, name="fuzz")
    settings.ALERT_WEBHOOK_SECRET = key
    settings.ALLOWED_HOSTS = ["localhost"]  # Schemathesis' WSGI requests
    return key


@pytest.fixture
def api_schema(fuzz_token):
    from config.wsgi import application

    # Like Django's test client: keep the test's transaction open across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def fuzz(operation, mode: GenerationMode, token: str, examples: int) -> None:
    """Send ``examples`` generated requests to ``operation``; fail on a 5xx or a response off the schema."""

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=CHECKS)

    run()


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_no_request_crashes_the_api_or_breaks_the_schema(api_schema, fuzz_token, subtests):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        for mode, examples in [(GenerationMode.POSITIVE, MAX_EXAMPLES), (GenerationMode.NEGATIVE, MAX_EXAMPLES // 2)]:
            with subtests.test(msg=f"{operation.label} ({mode.value})"):
                fuzz(operation, mode, fuzz_token, examples)
