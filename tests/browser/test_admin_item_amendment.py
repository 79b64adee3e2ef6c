"""In a real browser: adding an action item in the admin to a published postmortem asks, on the
form, what changed and why (as the editor and the API do), and saves once it is given."""

import pytest
from django.utils import timezone

from postmortems.models import PostmortemEvent
from tests.browser.seen import WIDTHS, assert_usable
from tests.factories import PostmortemFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/I_shots"


@pytest.mark.parametrize("size", WIDTHS)
def test_an_item_added_in_the_admin_to_a_published_postmortem_asks_for_the_note(page, live_server, sign_in, size):
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    published = PostmortemFactory(status="published", published_at=timezone.now())
    page.set_viewport_size(WIDTHS[size])
    sign_in(admin)
    page.goto(f"{live_server.url}/admin/actions/actionitem/add/?postmortem={published.pk}")
    page.fill("#id_title", "Alert on expiring failover keys")
    page.click("input[name=_save]")

    error = page.locator(".field-amendment_note .errorlist")
    assert error.inner_text() == "Say what you changed and why; the note is shown on the page."
    assert_usable(page, "#id_amendment_note")
    page.screenshot(path=f"{SHOTS}/admin-item-amendment-{size}.png", full_page=True)
    assert not published.action_items.exists()

    page.fill("#id_amendment_note", "Added the alert the review asked for.")
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/actions/actionitem/")
    assert published.action_items.get().title == "Alert on expiring failover keys"
    event = PostmortemEvent.objects.get(postmortem=published, kind="amended")
    assert (event.actor, event.note) == (admin, "Added the alert the review asked for.")
