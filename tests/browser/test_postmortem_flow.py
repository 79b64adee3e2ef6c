"""In a real browser: from a declared incident to a published postmortem, and two editors
saving the same postmortem at once."""

import pytest

from incidents.models import Incident
from postmortems.models import Postmortem
from tests.factories import IncidentFactory, UserFactory, severity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, user, next: str = "/") -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw")
    with page.expect_navigation():
        page.click("main button[type=submit]")


def new_page(browser):
    context = browser.new_context(timezone_id="UTC", locale="en-GB")
    context.set_default_timeout(10_000)
    return context, context.new_page()


def add_event(page, when: str, kind: str, text: str) -> None:
    page.fill("#id_new_event_occurred_at", when)
    page.select_option("#id_new_event_kind", kind)
    page.fill("#id_new_event_text", text)
    with page.expect_navigation():
        page.click("#timeline-add button[type=submit]")


def fill_item(page, index: int, title: str, owner, due: str) -> None:
    page.fill(f"#id_actions-{index}-title", title)
    page.select_option(f"#id_actions-{index}-kind", "prevent")
    page.select_option(f"#id_actions-{index}-owner", str(owner.pk))
    page.fill(f"#id_actions-{index}-due_date", due)


def test_from_incident_to_published_postmortem(page, live_server, sign_in, browser):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    fay = UserFactory(username="fay", first_name="Fay", last_name="Facilitator")
    rex = UserFactory(username="rex", first_name="Rex", last_name="Reviewer")
    sign_in(fay, next="/incidents/")

    # Declare the incident and build its timeline (the incident pages).
    with page.expect_navigation():
        page.click("text=Declare an incident")
    page.fill("#id_title", "Checkout returns 502")
    page.select_option("#id_severity", str(severity("SEV2").pk))
    page.fill("#id_started_at", "2026-03-02T10:55")
    page.fill("#id_detected_at", "2026-03-02T11:00")
    page.fill("#id_declared_at", "2026-03-02T11:05")
    page.fill("#id_mitigated_at", "2026-03-02T11:30")
    page.fill("#id_resolved_at", "2026-03-02T12:00")
    page.select_option("#id_status", "resolved")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    incident = Incident.objects.get(title="Checkout returns 502")
    add_event(page, "2026-03-02T11:01", "detection", "5xx alert fired")
    add_event(page, "2026-03-02T11:30", "mitigation", "Rolled back the deploy")

    # Start its postmortem from the template.
    with page.expect_navigation():
        page.click("#start-postmortem")
    with page.expect_navigation():
        page.click("main button:has-text('Start the postmortem')")
    postmortem = Postmortem.objects.get(incident=incident)
    assert page.url == f"{live_server.url}/postmortems/{postmortem.pk}/edit/"
    assert "Ask why until you reach a cause" in page.inner_text("main")
    assert page.locator("#timeline .timeline-text").all_inner_texts() == ["5xx alert fired", "Rolled back the deploy"]

    # Fill the sections; the live preview and hints follow the typing.
    page.fill("#id_summary", "Checkout returned **502** for 35 minutes after a deploy.")
    page.locator("#preview-summary strong").wait_for()
    assert page.inner_text("#preview-summary") == "Checkout returned 502 for 35 minutes after a deploy."
    page.fill("#id_root_cause", "config change")
    page.locator("#hints-box li:has-text('single short line')").wait_for()
    page.fill(
        "#id_root_cause",
        "The deploy shipped a connection pool of 5; under Monday's load requests queued until the proxy timed out.",
    )
    page.fill("#id_impact", "About 1,200 customers could not pay.")
    page.fill("#id_what_went_well", "The 5xx alert fired within a minute.")
    page.fill("#id_lessons", "Pool sizes are load-dependent configuration.")
    page.fill("#id_users_affected", "1200")
    page.select_option("#id_reviewers", [str(rex.pk)])

    # Two action items: the empty row, and one more added by the page's script.
    fill_item(page, 0, "Alert on connection-pool saturation above 80%", fay, "2026-04-01")
    page.click("#add-action-item")
    fill_item(page, 1, "Load-test pool settings in the deploy pipeline", rex, "2026-04-15")
    with page.expect_navigation():
        page.click("#pm-editor button[name=save]")
    assert page.url == f"{live_server.url}/postmortems/{postmortem.pk}/"
    assert page.locator("#action-items tbody tr").count() == 2
    assert "502" in page.inner_text("#section-summary strong")

    # Submit for review.
    with page.expect_navigation():
        page.click("button:has-text('Submit for review')")
    assert page.inner_text("#pm-status") == "In review"

    # Approve as the reviewer, in another browser context.
    context, rex_page = new_page(browser)
    try:
        log_in(rex_page, live_server, rex, next=f"/postmortems/{postmortem.pk}/")
        rex_page.check("#review-form input[value=approve]")
        rex_page.fill("#review-form textarea", "Clear and blameless. Ship it.")
        with rex_page.expect_navigation():
            rex_page.click("#review-form button[type=submit]")
        assert "Approved." in rex_page.inner_text("main")
    finally:
        context.close()

    # Publish, and find it in the list.
    page.reload()
    with page.expect_navigation():
        page.click("#pm-actions button:has-text('Publish')")
    assert page.inner_text("#pm-status") == "Published"
    assert "Published" in page.inner_text("#transition-log")
    with page.expect_navigation():
        page.click("nav >> text=Postmortems")
    page.select_option("#id_status", "published")
    with page.expect_navigation():
        page.click("main button:has-text('Filter')")
    assert incident.reference in page.inner_text("#postmortems")
    assert errors == []


def test_two_editors_saving_at_once_see_a_conflict_and_lose_nothing(page, live_server, sign_in, browser):
    fay = UserFactory(username="fay", first_name="Fay")
    ava = UserFactory(username="ava", first_name="Ava")
    postmortem = Postmortem.objects.create(incident=IncidentFactory(), facilitator=fay)
    postmortem.authors.add(fay, ava)
    edit = f"/postmortems/{postmortem.pk}/edit/"

    sign_in(fay, next=edit)
    context, ava_page = new_page(browser)
    try:
        log_in(ava_page, live_server, ava, next=edit)
        page.fill("#id_summary", "Fay: the cache expired at 10:00.")
        ava_page.fill("#id_summary", "Ava: the database failed over at 10:02.")
        with page.expect_navigation():
            page.click("#pm-editor button[name=save]")
        with ava_page.expect_navigation():
            ava_page.click("#pm-editor button[name=save]")

        conflict = ava_page.inner_text("#conflict")
        assert "Someone else saved this postmortem" in conflict
        assert "Fay: the cache expired at 10:00." in ava_page.inner_text("#conflict-table .conflict-theirs")
        assert "Ava: the database failed over at 10:02." in ava_page.inner_text("#conflict-table .conflict-yours")
        assert ava_page.input_value("#id_summary") == "Ava: the database failed over at 10:02."
        postmortem.refresh_from_db()
        assert postmortem.summary == "Fay: the cache expired at 10:00."

        # Ava merges both and saves on top of Fay's version.
        ava_page.fill("#id_summary", "The cache expired at 10:00 and the database failed over at 10:02.")
        with ava_page.expect_navigation():
            ava_page.click("#pm-editor button[name=save]")
        assert ava_page.url == f"{live_server.url}/postmortems/{postmortem.pk}/"
    finally:
        context.close()
    postmortem.refresh_from_db()
    assert postmortem.summary == "The cache expired at 10:00 and the database failed over at 10:02."
    assert postmortem.version == 3
