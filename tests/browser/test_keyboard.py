"""In a real browser, with the keyboard alone (Tab, Enter, arrows and typing; no clicks): sign
in, declare an incident, add a timeline event, resolve it, start its postmortem, write it, and
submit it for review."""

import pytest

from incidents.models import Incident, TimelineEvent
from postmortems.models import Postmortem
from tests.browser.seen import WIDTHS, assert_usable
from tests.factories import UserFactory, severity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Whether the focused element matches a selector, and where it is (for the failure message).
_FOCUSED = """(selector) => {
    const el = document.activeElement;
    const at = el ? (el.id || el.name || el.textContent.trim().slice(0, 40)) : null;
    return {match: !!el && el.matches(selector), at};
}"""


@pytest.fixture
def browser_context_args() -> dict:
    return {"timezone_id": "Europe/London", "locale": "en-GB"}


def tab_to(page, selector: str, limit: int = 200) -> None:
    """Press Tab until the focus is on ``selector`` and check that a person sees the control
    there (wide enough, in the viewport, not covered); fail if the focus never gets there."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED, selector)
        if focused["match"]:
            assert_usable(page, selector)
            return
        seen.append(focused["at"])
    raise AssertionError(f"Tab never reached {selector}; it went through {seen[-40:]}")


def press_enter_and_wait(page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def fill_by_keyboard(page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


@pytest.mark.parametrize("size", WIDTHS.values(), ids=WIDTHS.keys())
def test_from_declaring_to_review_with_the_keyboard_alone(page, live_server, size):
    page.set_viewport_size(size)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    fay = UserFactory(username="fay", first_name="Fay", last_name="Facilitator")
    rex = UserFactory(username="rex", first_name="Rex", last_name="Reviewer")
    sev2 = severity("SEV2")

    # Sign in.
    page.goto(f"{live_server.url}/accounts/login/?next=/incidents/")
    fill_by_keyboard(page, "#id_username", fay.username)
    page.keyboard.press("Tab")
    page.keyboard.type("pw")
    press_enter_and_wait(page)
    assert page.url == f"{live_server.url}/incidents/"

    # Declare: a title and a severity (a select takes the first letters typed).
    tab_to(page, "main a[href='/incidents/new/']")
    press_enter_and_wait(page)
    fill_by_keyboard(page, "#id_title", "Checkout returns 502")
    tab_to(page, "#id_severity")
    page.keyboard.type(sev2.name)
    tab_to(page, "main button[type=submit]")
    press_enter_and_wait(page)
    incident = Incident.objects.get(title="Checkout returns 502")
    assert incident.severity == sev2
    assert page.url == f"{live_server.url}/incidents/{incident.reference}/"

    # A timeline event (its time starts at now), then resolve the incident.
    fill_by_keyboard(page, "#id_new_event_text", "5xx alert fired")
    tab_to(page, "#timeline-add button[type=submit]")
    press_enter_and_wait(page)
    assert TimelineEvent.objects.filter(incident=incident, text="5xx alert fired").exists()
    tab_to(page, "#mark-resolved")
    press_enter_and_wait(page)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED

    # Start the postmortem.
    tab_to(page, "#start-postmortem")
    press_enter_and_wait(page)
    tab_to(page, "main button[type=submit]")
    press_enter_and_wait(page)
    postmortem = Postmortem.objects.get(incident=incident)
    assert page.url == f"{live_server.url}/postmortems/{postmortem.pk}/edit/"

    # Write it: two sections, a reviewer (typed into the list), an action item; save.
    fill_by_keyboard(page, "#id_summary", "Checkout returned 502 for 35 minutes after a deploy.")
    fill_by_keyboard(page, "#id_root_cause", "The deploy shipped a connection pool of 5; requests queued.")
    tab_to(page, "#id_reviewers")
    page.keyboard.type("Rex")
    fill_by_keyboard(page, "#id_actions-0-title", "Alert on connection-pool saturation")
    tab_to(page, "#pm-editor button[name=save]")
    press_enter_and_wait(page)
    assert page.url == f"{live_server.url}/postmortems/{postmortem.pk}/"
    postmortem.refresh_from_db()
    assert postmortem.summary == "Checkout returned 502 for 35 minutes after a deploy."
    assert list(postmortem.reviewers.all()) == [rex]
    assert postmortem.action_items.get().title == "Alert on connection-pool saturation"

    # Submit for review.
    tab_to(page, "main form[action$='/submit/'] button")
    press_enter_and_wait(page)
    postmortem.refresh_from_db()
    assert postmortem.status == Postmortem.Status.IN_REVIEW
    assert page.inner_text("#pm-status") == "In review"
    assert errors == []
