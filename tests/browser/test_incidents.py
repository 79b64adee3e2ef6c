"""In a real browser: declare an incident and build its timeline."""

import pytest

from incidents.models import Incident
from tests.factories import UserFactory, severity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args() -> dict:
    # The browser's zone reaches the server through the tz cookie; times typed are read in it.
    return {"timezone_id": "Europe/Paris", "locale": "en-GB"}


def add_event(page, when: str, kind: str, text: str) -> None:
    page.fill("#id_new_event_occurred_at", when)
    page.select_option("#id_new_event_kind", kind)
    page.fill("#id_new_event_text", text)
    with page.expect_navigation():
        page.click("#timeline-add button[type=submit]")


def test_declare_an_incident_and_add_timeline_events_in_time_order(page, live_server, sign_in):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    user = UserFactory(username="dana", first_name="Dana", last_name="Oncall")
    sign_in(user, next="/incidents/")

    with page.expect_navigation():
        page.click("text=Declare an incident")
    page.fill("#id_title", "Checkout returns 502")
    page.select_option("#id_severity", str(severity("SEV2").pk))
    page.fill("#id_started_at", "2026-03-02T10:55")
    page.fill("#id_detected_at", "2026-03-02T11:00")
    page.fill("#id_declared_at", "2026-03-02T11:05")
    with page.expect_navigation():
        page.click("main button[type=submit]")

    incident = Incident.objects.get(title="Checkout returns 502")
    assert incident.created_by == user
    assert page.url == f"{live_server.url}/incidents/{incident.reference}/"
    assert "Declared " + incident.reference in page.inner_text("main")
    assert "(times in Europe/Paris)" in page.inner_text("#lifecycle-heading")
    assert page.inner_text("#durations").split("\n")[1] == "5 min"

    # Added out of order; shown in time order, in the viewer's zone.
    add_event(page, "2026-03-02T11:30", "mitigation", "Rolled back the deploy")
    add_event(page, "2026-03-02T11:01", "detection", "5xx alert fired")

    assert page.locator(".timeline-text").all_inner_texts() == ["5xx alert fired", "Rolled back the deploy"]
    assert page.locator(".timeline-event time").all_inner_texts() == ["2 Mar 2026 11:01 CET", "2 Mar 2026 11:30 CET"]

    # Edited in place: the alert moves after the rollback.
    alert = incident.timeline_events.get(text="5xx alert fired")
    page.click(f"#event-{alert.pk} summary")
    page.fill(f"#id_event{alert.pk}_occurred_at", "2026-03-02T11:45")
    with page.expect_navigation():
        page.click(f"#event-{alert.pk} button:has-text('Save event')")
    assert page.locator(".timeline-text").all_inner_texts() == ["Rolled back the deploy", "5xx alert fired"]

    assert incident.started_at.isoformat() == "2026-03-02T09:55:00+00:00"
    assert errors == []
