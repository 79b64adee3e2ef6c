"""Signing in with a real OpenID provider (npm oidc-provider) on loopback: what is accepted,
what is refused, and what a sign-in changes (account, teams), seen through the pages a person
is sent to. The user agent is ``requests`` (tests/oidc/flow.py); test_browser.py drives Chromium."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import GroupMapping, KeptLead, OidcIdentity
from incidents.api_auth import api_token_create
from tests.factories import TeamFactory, UserFactory
from tests.oidc.conftest import ID_TOKEN_TTL, PROVIDER_NAME
from tests.oidc.flow import Browser, replace_param

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()


def signed_in_as(browser: Browser) -> str | None:
    """The name on the user menu of the incidents page, or None when it sends the person to sign in."""
    response = browser.get("/incidents/")
    if response.status_code != 200:
        return None
    return re.search(r'id="user-menu"[^>]*>([^<]*)<', response.text).group(1)


def refusal(browser: Browser, response) -> str:
    """The sign-in page's error after a refused sign-in (asserting it is the sign-in page)."""
    page = browser.follow(response)
    assert page.url.endswith("/accounts/login/"), page.url
    assert f"Sign-in with {PROVIDER_NAME} failed" in page.text
    return page.text


def test_code_and_pkce_sign_in_creates_the_account(oidc_site):
    oidc_site.set_account("ada", email="ada@example.org", given_name="Ada", family_name="Lovelace")
    browser = Browser(oidc_site)

    answer = browser.sign_in("ada", tamper_request=lambda url: _assert_pkce(url))

    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert signed_in_as(browser) == "Ada Lovelace"
    user = User.objects.get(username="ada")
    assert (user.email, user.first_name, user.last_name, user.has_usable_password()) == (
        "ada@example.org",
        "Ada",
        "Lovelace",
        False,
    )
    assert OidcIdentity.objects.get(user=user).issuer == oidc_site.issuer


def _assert_pkce(url: str) -> str:
    assert "code_challenge_method=S256" in url and "code_challenge=" in url and "nonce=" in url
    return url


def test_verified_email_signs_in_to_the_existing_account(oidc_site):
    existing = UserFactory(username="grace", email="Grace@Example.org")
    oidc_site.set_account("g.hopper", email="grace@example.org", email_verified=True)
    browser = Browser(oidc_site)

    browser.sign_in("g.hopper")

    assert signed_in_as(browser) == existing.get_full_name()
    assert OidcIdentity.objects.get(subject="g.hopper").user == existing
    assert User.objects.count() == 1


def test_unverified_email_does_not_sign_in_to_the_existing_account(oidc_site):
    UserFactory(username="grace", email="grace@example.org")
    oidc_site.set_account("impostor", email="grace@example.org", email_verified=False)
    browser = Browser(oidc_site)

    text = refusal(browser, browser.sign_in("impostor"))

    assert "the provider has not verified it" in text
    assert signed_in_as(browser) is None
    assert not OidcIdentity.objects.exists() and User.objects.count() == 1


def test_wrong_state_is_refused(oidc_site, caplog):
    oidc_site.set_account("ada")
    browser = Browser(oidc_site)

    answer = browser.sign_in("ada", tamper_answer=lambda url: replace_param(url, "state", "forged-state"))

    refusal(browser, answer)
    assert "state not found in session" in caplog.text
    assert signed_in_as(browser) is None
    assert not User.objects.filter(username="ada").exists()


def test_wrong_nonce_is_refused(oidc_site, caplog):
    """The provider puts the request's nonce in the ID token; a nonce swapped on the way (so
    the token is not this sign-in's) is refused."""
    oidc_site.set_account("ada")
    browser = Browser(oidc_site)

    answer = browser.sign_in("ada", tamper_request=lambda url: replace_param(url, "nonce", "another-sign-ins-nonce"))

    refusal(browser, answer)
    assert "ID token refused: its nonce is not this sign-in's" in caplog.text
    assert signed_in_as(browser) is None


def test_expired_id_token_is_refused(oidc_site, caplog):
    """The provider's ID tokens last ID_TOKEN_TTL seconds; the site's clock is past that (and the
    30 s leeway) when the token arrives."""
    oidc_site.set_account("ada")
    browser = Browser(oidc_site)
    later = timezone.now() + timedelta(seconds=ID_TOKEN_TTL + 120)

    with time_machine.travel(later, tick=True):
        answer = browser.sign_in("ada")

    refusal(browser, answer)
    assert "ID token refused: Signature has expired" in caplog.text
    assert signed_in_as(browser) is None
    assert not User.objects.filter(username="ada").exists()


def test_wrong_password_at_the_provider_signs_nobody_in(oidc_site):
    oidc_site.set_account("ada", password="right")
    browser = Browser(oidc_site)

    with pytest.raises(AssertionError, match="refused the login"):
        browser.sign_in("ada", password="wrong")

    assert signed_in_as(browser) is None


def test_deactivated_account_is_refused(oidc_site):
    UserFactory(username="ada", email="ada@example.org", is_active=False)
    oidc_site.set_account("ada", email="ada@example.org")
    browser = Browser(oidc_site)

    text = refusal(browser, browser.sign_in("ada"))

    assert "This account is deactivated." in text
    assert signed_in_as(browser) is None


def sign_in_due_for_refresh(site, settings, login: str) -> Browser:
    """Signed in with a session already due for its refresh (the provider's clock is not the
    test's to travel, so the refresh interval is made to have passed instead)."""
    browser = Browser(site)
    settings.OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = -1
    browser.sign_in(login)
    settings.OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = 900
    return browser


def test_an_active_account_is_refreshed_without_a_word(oidc_site, settings):
    """Past the refresh interval a page goes by the provider (prompt=none) and back, still signed in."""
    oidc_site.set_account("ada")
    browser = sign_in_due_for_refresh(oidc_site, settings, "ada")

    refresh = browser.get("/incidents/?page=1")
    assert refresh.status_code == 302 and "prompt=none" in refresh.headers["Location"]
    back = browser.through_provider(refresh.headers["Location"], "ada", "pw")

    assert back.status_code == 302 and back.headers["Location"] == "/incidents/?page=1"
    assert signed_in_as(browser) == "ada"  # no second trip: refreshed for 15 minutes


def test_account_deactivated_here_is_signed_out_at_its_next_page(oidc_site):
    oidc_site.set_account("ada")
    browser = Browser(oidc_site)
    browser.sign_in("ada")
    assert signed_in_as(browser) == "ada"

    User.objects.filter(username="ada").update(is_active=False)

    assert signed_in_as(browser) is None


def test_account_deactivated_at_the_provider_is_signed_out_at_the_next_refresh(oidc_site, settings):
    oidc_site.set_account("ada")
    browser = sign_in_due_for_refresh(oidc_site, settings, "ada")

    oidc_site.set_account("ada", active=False)
    refresh = browser.get("/incidents/")
    assert refresh.status_code == 302 and "prompt=none" in refresh.headers["Location"]
    text = refusal(browser, browser.through_provider(refresh.headers["Location"], "ada", "pw"))

    assert "Your session there has ended" in text
    assert signed_in_as(browser) is None


def test_groups_set_teams_at_each_sign_in(oidc_site):
    payments, search, hand_made = TeamFactory(name="Payments"), TeamFactory(name="Search"), TeamFactory(name="Ops")
    GroupMapping.objects.create(group="eng-payments", team=payments)
    GroupMapping.objects.create(group="eng-search", team=search)
    oidc_site.set_account("ada", groups=["eng-payments", "unmapped"])
    Browser(oidc_site).sign_in("ada")
    ada = User.objects.get(username="ada")
    hand_made.members.add(ada)
    assert set(ada.teams.values_list("name", flat=True)) == {"Payments", "Ops"}

    oidc_site.set_account("ada", groups=["eng-search"])
    Browser(oidc_site).sign_in("ada")

    # Ops is mapped from no group, so the sync leaves it alone.
    assert set(ada.teams.values_list("name", flat=True)) == {"Search", "Ops"}


def test_a_team_lead_is_kept_and_reported(oidc_site):
    payments = TeamFactory(name="Payments")
    GroupMapping.objects.create(group="eng-payments", team=payments)
    oidc_site.set_account("ada", groups=["eng-payments"])
    Browser(oidc_site).sign_in("ada")
    payments.lead = User.objects.get(username="ada")
    payments.save()

    oidc_site.set_account("ada", groups=[])
    browser = Browser(oidc_site)
    home = browser.follow(browser.sign_in("ada"))

    assert "You are still in Payments because you lead it" in home.text
    assert list(payments.members.values_list("username", flat=True)) == ["ada"]
    assert KeptLead.objects.get().team == payments

    oidc_site.set_account("ada", groups=["eng-payments"])
    Browser(oidc_site).sign_in("ada")

    assert not KeptLead.objects.exists()


def test_logout_ends_the_providers_session_too(oidc_site):
    oidc_site.set_account("ada")
    browser = Browser(oidc_site)
    browser.sign_in("ada")
    login_page = browser.get("/accounts/login/?next=/x/")  # a signed-in person may still open it
    csrf = browser.http.cookies["csrftoken"]

    answer = browser.http.post(
        f"{oidc_site.url}/accounts/logout/", data={"csrfmiddlewaretoken": csrf}, allow_redirects=False, timeout=10
    )

    assert login_page.status_code == 200
    assert "You are signed out here" in answer.text
    location = html.unescape(re.search(r'id="provider-logout" href="([^"]+)"', answer.text).group(1))
    assert location.startswith(f"{oidc_site.issuer}/session/end?") and "id_token_hint=" in location
    assert f"post_logout_redirect_uri={oidc_site.url}" in location.replace("%3A", ":").replace("%2F", "/")
    assert signed_in_as(browser) is None


def test_password_sign_in_and_api_tokens_still_work(oidc_site):
    UserFactory(username="admin", is_staff=True, is_superuser=True)  # password "pw"
    browser = Browser(oidc_site)
    form = browser.get("/accounts/login/")
    assert "Sign in with Example SSO" in form.text and 'name="password"' in form.text

    answer = browser.http.post(
        f"{oidc_site.url}/accounts/login/",
        data={"username": "admin", "password": "pw", "csrfmiddlewaretoken": browser.http.cookies["csrftoken"]},
        headers={"Referer": f"{oidc_site.url}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    # A password session is never sent to the provider for a refresh.
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True):
        assert browser.get("/incidents/").status_code == 200

    _, key = api_token_create(user=User.objects.get(username="admin"), name="script")
    api = Browser(oidc_site).http.get(
        f"{oidc_site.url}/api/v1/incidents/", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert api.status_code == 200 and "results" in api.json()
