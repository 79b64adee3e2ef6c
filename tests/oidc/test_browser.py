"""Signing in with the organisation's provider in Chromium, end to end: the sign-in page's
button, the provider's login form (a real oidc-provider on loopback), back at the page asked
for, and signing out of both. Screenshots go to SCREENSHOTS_DIR (else /tmp) as oidc-*.png."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from accounts.models import GroupMapping
from tests.browser.seen import WIDTHS, assert_accessible, assert_usable
from tests.factories import TeamFactory, UserFactory
from tests.oidc.conftest import PROVIDER_NAME

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("SCREENSHOTS_DIR", "/tmp")
BUTTON = "main #oidc-sign-in"
User = get_user_model()


@pytest.fixture
def loopback_only(page):
    """Every request the pages make stays on this machine; any other is refused and listed."""
    elsewhere = []

    def route(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            return route.continue_()
        elsewhere.append(route.request.url)
        return route.abort()

    page.context.route("**/*", route)
    yield page
    assert not elsewhere, f"pages asked for addresses off this machine: {elsewhere}"


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_sign_in_with_the_provider_and_out_of_both(oidc_site, loopback_only, width):
    page = loopback_only
    page.set_viewport_size(WIDTHS[width])
    payments = TeamFactory(name="Payments")
    GroupMapping.objects.create(group="eng-payments", team=payments)
    oidc_site.set_account("ada", given_name="Ada", family_name="Lovelace", groups=["eng-payments"])
    authorization_requests = []
    page.on("request", lambda r: r.url.startswith(f"{oidc_site.issuer}/auth?") and authorization_requests.append(r.url))

    page.goto(f"{oidc_site.url}/incidents/")
    page.wait_for_url(f"{oidc_site.url}/accounts/login/?next=/incidents/")
    page.screenshot(path=f"{SHOTS}/oidc-login-{width}.png", full_page=True)
    assert_usable(page, f"{BUTTON}, main input:not([type=hidden]), main button")
    assert_accessible(page)
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()

    page.wait_for_url(f"{oidc_site.issuer}/interaction/**")
    page.fill("#login", "ada")
    page.fill("#password", "pw")
    page.click("button[type=submit]")

    page.wait_for_url(f"{oidc_site.url}/incidents/")
    assert page.locator("#user-menu").inner_text() == "Ada Lovelace"
    page.screenshot(path=f"{SHOTS}/oidc-signed-in-{width}.png")
    (request,) = authorization_requests
    assert "code_challenge_method=S256" in request and "response_type=code" in request
    assert list(payments.members.values_list("username", flat=True)) == ["ada"]

    if width == "phone":
        page.click(".navbar-toggler")
    page.click("#user-menu")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{oidc_site.issuer}/session/end**")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{oidc_site.url}/accounts/login/")

    # Signed out at the provider too: signing in again asks for the password there.
    page.click(BUTTON)
    page.wait_for_url(f"{oidc_site.issuer}/interaction/**")
    assert page.locator("#password").is_visible()


def test_with_password_sign_in_off_the_page_offers_only_the_provider(oidc_site, loopback_only, settings):
    page = loopback_only
    settings.LOCAL_LOGIN_ENABLED = False
    settings.AUTHENTICATION_BACKENDS = [b for b in settings.AUTHENTICATION_BACKENDS if not b.endswith("ModelBackend")]
    UserFactory(username="admin", is_staff=True, is_superuser=True)

    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.goto(f"{oidc_site.url}/accounts/login/")
        page.screenshot(path=f"{SHOTS}/oidc-login-provider-only-{width}.png", full_page=True)
        assert page.locator("main input[type=password]").count() == 0
        assert_usable(page, BUTTON)
        assert_accessible(page)


def test_a_refused_sign_in_says_why_on_the_sign_in_page(oidc_site, loopback_only):
    page = loopback_only
    UserFactory(username="ada", email="ada@example.org", is_active=False)
    oidc_site.set_account("ada", email="ada@example.org")
    page.set_viewport_size(WIDTHS["phone"])

    page.goto(f"{oidc_site.url}/accounts/login/")
    page.click(BUTTON)
    page.wait_for_url(f"{oidc_site.issuer}/interaction/**")
    page.fill("#login", "ada")
    page.fill("#password", "pw")
    page.click("button[type=submit]")

    page.wait_for_url(f"{oidc_site.url}/accounts/login/")
    alert = page.locator("main .alert")
    assert alert.inner_text() == f"Sign-in with {PROVIDER_NAME} failed. This account is deactivated."
    page.screenshot(path=f"{SHOTS}/oidc-refused-phone.png", full_page=True)
    assert_accessible(page)
