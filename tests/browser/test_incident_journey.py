"""In a real browser, at a desktop and a phone width: declare an incident (no severity chosen for
you, services ticked from a list filtered by typing), then mark it mitigated and resolved with
one click each, and add a Mitigation event whose time starts at now in the viewer's zone."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from incidents.models import Incident
from tests.browser.seen import WIDTHS, assert_accessible, assert_usable
from tests.factories import IncidentFactory, ServiceFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def browser_context_args() -> dict:
    return {"timezone_id": "Europe/London", "locale": "en-GB"}


def shot(page, name: str, width: str) -> None:
    page.screenshot(path=f"/tmp/h2-{name}-{width}.png", full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_declare_with_a_chosen_severity_and_services_ticked_from_a_filtered_list(page, live_server, sign_in, width):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size(WIDTHS[width])
    payments, search = TeamFactory(name="Payments", slug="payments"), TeamFactory(name="Search", slug="search")
    for name in ["checkout", "refunds", "ledger"]:
        ServiceFactory(name=name, slug=name, team=payments)
    for name in ["indexer", "query-api"]:
        ServiceFactory(name=name, slug=name, team=search)
    sign_in(UserFactory(username="dana", first_name="Dana"), next="/incidents/new/")

    assert page.input_value("#id_severity") == ""  # nothing preselected
    assert page.locator("select#id_services, select[name=services]").count() == 0
    assert_usable(page)
    assert_accessible(page)

    page.fill("#id_title", "Refunds fail")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.inner_text("#id_severity_errors") == "Choose a severity."
    assert page.input_value("#id_title") == "Refunds fail"
    assert not Incident.objects.exists()
    assert_usable(page, "#id_severity")

    page.fill("#services-filter", "pay")  # the team's name matches too
    visible = page.locator("[data-service-option]:visible").all_inner_texts()
    assert [text.strip() for text in visible] == ["checkout (Payments)", "ledger (Payments)", "refunds (Payments)"]
    page.check("label:has-text('refunds (Payments)')")
    page.fill("#services-filter", "index")
    visible = [text.strip() for text in page.locator("[data-service-option]:visible").all_inner_texts()]
    assert visible == ["indexer (Search)", "refunds (Payments)"]  # the ticked one stays in view
    assert_usable(page, "#services-options input, #services-filter")
    page.press("#services-filter", "Enter")  # does not send the form
    assert page.url.endswith("/incidents/new/")
    page.check("label:has-text('indexer (Search)')")
    page.select_option("#id_severity", label="SEV2 (Major)")
    shot(page, "declare", width)
    assert_accessible(page)
    with page.expect_navigation():
        page.click("main button[type=submit]")

    incident = Incident.objects.get()
    assert incident.severity.name == "SEV2"
    assert sorted(incident.services.values_list("name", flat=True)) == ["indexer", "refunds"]
    assert errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_mitigated_now_and_resolved_now_and_a_mitigation_event_at_now(page, live_server, sign_in, width):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size(WIDTHS[width])
    commander = UserFactory(username="carol", first_name="Carol")
    started = timezone.now() - timedelta(hours=1)
    incident = IncidentFactory(
        title="Search is slow",
        status=Incident.Status.INVESTIGATING,
        commander=commander,
        started_at=started,
        detected_at=started,
        acknowledged_at=started,
        declared_at=started,
        mitigated_at=None,
        resolved_at=None,
    )
    url = f"/incidents/{incident.reference}/"
    sign_in(commander, next=url)

    # The new event's time is now, to the minute, in the viewer's zone (London).
    shown = datetime.strptime(page.input_value("#id_new_event_occurred_at"), "%Y-%m-%dT%H:%M").replace(tzinfo=LONDON)
    assert abs(shown - timezone.now()) < timedelta(minutes=2)
    # "Also set the mitigated time" shows for Mitigation events only, ticked while none is set.
    assert page.locator("#id_new_event_set_mitigated").is_hidden()
    page.select_option("#id_new_event_kind", "mitigation")
    assert page.locator("#id_new_event_set_mitigated").is_checked()
    assert_usable(page, "#incident-actions button, #timeline-add input, #timeline-add select, #timeline-add button")
    assert_accessible(page)
    shot(page, "incident-open", width)
    page.select_option("#id_new_event_kind", "note")
    assert page.locator("#id_new_event_set_mitigated").is_hidden()

    before = timezone.now().replace(microsecond=0)
    with page.expect_navigation():
        page.click("#mark-mitigated")
    incident.refresh_from_db()
    assert incident.status == Incident.Status.MONITORING
    assert before <= incident.mitigated_at <= timezone.now()
    assert "mitigated at" in page.inner_text(".alert-success, .alert")
    assert page.locator("#mark-mitigated").count() == 0
    assert page.inner_text("#status") == "Monitoring"

    assert_usable(page, "#mark-resolved")
    with page.expect_navigation():
        page.click("#mark-resolved")
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED and incident.resolved_at >= incident.mitigated_at
    assert page.inner_text("#status") == "Resolved"
    assert page.locator("#mark-resolved").count() == 0
    shot(page, "incident-resolved", width)
    assert_accessible(page)
    assert errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_a_mitigation_event_sets_the_incidents_mitigated_time(page, live_server, sign_in, width):
    page.set_viewport_size(WIDTHS[width])
    commander = UserFactory(username="carol", first_name="Carol")
    started = timezone.now() - timedelta(hours=1)
    incident = IncidentFactory(
        status=Incident.Status.IDENTIFIED,
        commander=commander,
        started_at=started,
        detected_at=started,
        acknowledged_at=started,
        declared_at=started,
        mitigated_at=None,
        resolved_at=None,
    )
    sign_in(commander, next=f"/incidents/{incident.reference}/")
    page.select_option("#id_new_event_kind", "mitigation")
    page.fill("#id_new_event_text", "Rolled back the deploy")
    when = page.input_value("#id_new_event_occurred_at")
    with page.expect_navigation():
        page.click("#timeline-add button[type=submit]")
    incident.refresh_from_db()
    assert incident.mitigated_at == datetime.strptime(when, "%Y-%m-%dT%H:%M").replace(tzinfo=LONDON)
    assert incident.status == Incident.Status.MONITORING
    assert incident.timeline_events.get().text == "Rolled back the deploy"
