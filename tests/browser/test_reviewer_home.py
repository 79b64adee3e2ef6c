"""In a real browser, at a desktop and a phone width: a reviewer finds what awaits their review on
the home page, follows the link, approves, and the page says who publishes next."""

from types import SimpleNamespace

import pytest

from tests.browser.seen import WIDTHS, assert_accessible, assert_usable
from tests.factories import ActionItemFactory, IncidentFactory, TeamFactory, UserFactory, severity
from tests.postmortems.conftest import make_postmortem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize("width", WIDTHS)
def test_a_reviewer_goes_from_the_home_page_to_approval(page, live_server, sign_in, width):
    page.set_viewport_size(WIDTHS[width])
    people = SimpleNamespace(
        team=TeamFactory(name="Payments", slug="payments"),
        facilitator=UserFactory(username="fay", first_name="Fay", last_name="Facilitator"),
        author=UserFactory(username="ava", first_name="Ava"),
        reviewer=UserFactory(username="rex", first_name="Rex"),
    )
    postmortems = [
        make_postmortem(people, status="in_review", incident=IncidentFactory(severity=severity(name), title=title))
        for name, title in [("SEV1", "Checkout down for everyone"), ("SEV3", "Slow refunds in one region")]
    ]
    for name in ["SEV2", "SEV4"]:  # every level's badge on the page, for the contrast check
        IncidentFactory(severity=severity(name), title=f"A {name} incident")
    item = ActionItemFactory(postmortem=postmortems[0], owner=people.reviewer, title="Rotate the failover key")
    sign_in(people.reviewer)

    rows = page.locator("#awaiting-review-table tbody tr")
    assert rows.count() == 2
    assert page.evaluate(OVERFLOW) <= 1, "the home page is wider than the screen"
    assert_usable(page, "main a")
    assert_accessible(page)
    page.screenshot(path=f"/tmp/h2-home-{width}.png", full_page=True)
    assert page.get_attribute(f"text={item.reference}", "href") == item.get_absolute_url()

    with page.expect_navigation():
        page.click(f"#awaiting-review-table >> text={postmortems[0].incident.reference}")
    page.check("text=Approve")
    with page.expect_navigation():
        page.click("#review-form button[type=submit]")
    expected = "Approved. Next: Fay Facilitator (the facilitator) or an admin publishes it."
    assert page.inner_text("#publish-next") == expected
    assert_usable(page, "#action-items a")  # each item links to its page
    assert_accessible(page)
    page.screenshot(path=f"/tmp/h2-approved-{width}.png", full_page=True)

    page.goto(f"{live_server.url}/")
    assert (
        page.locator("#awaiting-review-table tbody tr")
        .all_inner_texts()[0]
        .startswith(postmortems[1].incident.reference)
    )
    assert rows.count() == 1
