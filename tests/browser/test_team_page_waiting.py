"""In a real browser: a team with more postmortems waiting than the page lists says how many there
are and links to the postmortem list filtered to the team and status, at desktop and phone widths."""

import pytest

from incidents.metrics import WAITING_LIMIT
from tests.browser.seen import WIDTHS, assert_accessible, assert_usable
from tests.factories import UserFactory
from tests.incidents.test_team_page_waiting import _busy_team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/h5shots"


@pytest.mark.parametrize("size", WIDTHS)
def test_the_team_page_leads_from_its_first_drafts_to_all_of_them(page, live_server, sign_in, size):
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)  # may open every draft
    team = _busy_team(drafts=WAITING_LIMIT + 5, reviews=3, not_started=WAITING_LIMIT + 2)
    page.set_viewport_size(WIDTHS[size])
    sign_in(admin, next=f"/metrics/teams/{team.slug}/")
    assert page.locator("#waiting-draft li").count() == WAITING_LIMIT
    more = page.locator("#waiting-draft-more")
    assert more.inner_text().startswith(f"The {WAITING_LIMIT} due earliest of {WAITING_LIMIT + 5}.")
    assert_usable(page, "#waiting-draft-more a")
    assert_accessible(page)
    more.scroll_into_view_if_needed()
    page.screenshot(path=f"{SHOTS}/team-page-waiting-{size}.png")
    more.get_by_role("link").click()
    page.wait_for_url("**/postmortems/?team=payments&status=draft")
    assert page.locator("#id_team").input_value() == "payments"
    assert page.locator("#id_status").input_value() == "draft"
    assert page.get_by_text("draft-024").count() == 1  # the earliest due, first on the team page
