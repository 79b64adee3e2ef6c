"""In a real browser, at desktop and phone widths: the incident page's "Confirm" button beside a
failure class suggested from the text is seen, clicked, and leaves the class confirmed."""

import pytest

from incidents.models import FailureClass
from incidents.repeats import DEFAULT_FAILURE_CLASSES
from tests.browser.seen import WIDTHS, assert_accessible, assert_usable
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def failure_classes(taxonomies):
    """The seeded failure classes (another transactional test's flush removes what migrations seeded)."""
    for name, slug, keywords in DEFAULT_FAILURE_CLASSES:
        FailureClass.objects.get_or_create(slug=slug, defaults={"name": name, "keywords": keywords})


@pytest.mark.parametrize("size", WIDTHS.values(), ids=WIDTHS.keys())
def test_a_suggested_class_is_confirmed_with_one_visible_click(page, live_server, sign_in, failure_classes, size):
    page.set_viewport_size(size)
    commander = UserFactory(username="ike")
    incident = IncidentFactory(
        title="Sign-in down: TLS certificate expired",
        summary="The certificate on the login host ran out overnight.",
        commander=commander,
    )
    sign_in(commander, next=incident.get_absolute_url())

    button = page.locator("#suggested-classes button", has_text="Confirm Expired certificate or credential")
    assert button.count() == 1
    assert_usable(page, "#failure-classes button")
    assert_accessible(page)
    page.screenshot(path=f"/tmp/confirm-class-{size['width']}.png", full_page=True)

    with page.expect_navigation():
        button.click()
    assert "Confirmed the failure class Expired certificate or credential" in page.inner_text("main")
    assert page.inner_text("#failure-classes").strip() == "Expired certificate or credential"
    assert page.locator("#suggested-classes").count() == 0
    assert list(incident.failure_classes.all()) == [FailureClass.objects.get(slug="expired-credential")]
    assert_accessible(page)
