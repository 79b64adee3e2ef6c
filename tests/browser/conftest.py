"""Playwright driving Debian's Chromium against pytest-django's live server.

Tests here use ``live_server`` and ``@pytest.mark.django_db(transaction=True)``
(the server runs in another thread, so data must be committed), and are marked
``@pytest.mark.browser``.

Playwright's sync API keeps its event loop marked as running in the test thread,
and Django refuses ORM calls from such a thread unless DJANGO_ALLOW_ASYNC_UNSAFE
is set (it is safe here: one thread). The browser is shared by the tests of a
module and stopped after them, and the variable is set only meanwhile, so neither
the running loop nor the variable leaks into other tests (``check --deploy`` in a
subprocess rejects the variable).
"""

import os

import pytest

from tests.factories import ensure_taxonomies

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def taxonomies(transactional_db):
    """The seeded severities and cause categories: another transactional test may have
    flushed the data migration's rows, so seed them again (idempotent)."""
    ensure_taxonomies()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        # On a developer's machine the browser tests are skipped; CI installs Chromium and
        # sets REQUIRE_BROWSER so that a failed install cannot pass as a skip.
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_context_args() -> dict:
    """Options for each test's browser context; override in a test module to change them."""
    return {"timezone_id": "UTC", "locale": "en-GB"}


@pytest.fixture
def page(browser, browser_context_args, settings):
    # The live server speaks plain HTTP.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    context = browser.new_context(**browser_context_args)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def sign_in(page, live_server):
    """Sign ``user`` (whose password is "pw", as the factories set it) in through the login form."""

    def sign_in(user, password: str = "pw", next: str = "/"):
        page.goto(f"{live_server.url}/accounts/login/?next={next}")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{live_server.url}{next}")
        return page

    return sign_in
