"""In a real browser, at desktop and phone widths: the user menu holds email preferences, the
Atom feed, API tokens, API docs, the outbox (for admins) and sign out, and works with the
keyboard alone; every page carries a favicon."""

import pytest

from tests.factories import UserFactory

from .seen import WIDTHS, assert_accessible, assert_usable

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MENU = "#user-menu + .dropdown-menu"
ITEMS = f"{MENU} a, {MENU} button"
SUBJECT = "[AI-0001] assigned to you by Zoë Ó Súilleabháin: Alert on expired keys"


@pytest.fixture
def browser_context_args() -> dict:
    return {"timezone_id": "Europe/London", "locale": "en-GB"}


def tab_to(page, selector: str, presses: int = 40) -> None:
    """Press Tab until the element matching ``selector`` has the focus, as a keyboard user would."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def open_menu_with_keyboard(page) -> None:
    page.locator("body").focus()
    if page.locator(".navbar-toggler").is_visible():  # the phone layout folds the navigation
        tab_to(page, ".navbar-toggler")
        page.keyboard.press("Enter")
        page.wait_for_selector("#nav.show")
    tab_to(page, "#user-menu")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{MENU}.show")
    page.keyboard.press("ArrowDown")  # Bootstrap moves the focus into the menu


@pytest.mark.parametrize("width", WIDTHS)
def test_the_user_menu_reaches_every_personal_page_by_keyboard(page, live_server, sign_in, width):
    page.set_viewport_size(WIDTHS[width])
    admin = UserFactory(username="ada", first_name="Ada", last_name="Admin", is_staff=True)
    sign_in(admin, next="/actions/")

    open_menu_with_keyboard(page)
    labels = [text.strip() for text in page.locator(ITEMS).all_inner_texts()]
    assert labels == [
        "Email preferences",
        "Atom feed",
        "API tokens",
        "API docs",
        "Change password",
        "Outbox (sent email)",
        "Admin",
        "Sign out",
    ]
    assert page.evaluate("document.activeElement.textContent.trim()") == "Email preferences"
    assert_usable(page, ITEMS)
    assert_accessible(page)
    page.screenshot(path=f"/tmp/h8-menu-{width}.png", full_page=True)

    # Enter on the focused item opens it.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{live_server.url}/actions/preferences/"

    # Every item leads to a page that loads.
    targets = page.locator(f"{MENU} a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    for href in targets:
        response = page.request.get(f"{live_server.url}{href}")
        assert response.ok, f"{href}: {response.status}"

    # Sign out from the menu, with the keyboard too.
    open_menu_with_keyboard(page)
    for _ in range(7):
        page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Sign out"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(f"{live_server.url}/actions/")
    assert "/accounts/login/" in page.url


def test_the_outbox_is_in_the_menu_of_admins_only(page, live_server, sign_in):
    sign_in(UserFactory(username="reader"), next="/actions/")
    page.click("#user-menu")
    labels = [text.strip() for text in page.locator(ITEMS).all_inner_texts()]
    assert "Email preferences" in labels and "API tokens" in labels
    assert "Outbox (sent email)" not in labels and "Admin" not in labels


def test_every_page_has_a_favicon(page, live_server, sign_in):
    sign_in(UserFactory(username="reader"), next="/actions/")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    response = page.request.get(f"{live_server.url}{icon}")
    assert response.ok and response.headers["content-type"].startswith("image/svg+xml")
    legacy = page.request.get(f"{live_server.url}/favicon.ico")  # follows the redirect
    assert legacy.ok and legacy.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_reads_a_sent_email_in_the_outbox(page, live_server, sign_in, width):
    from django.utils import timezone

    from actions.models import Notification

    page.set_viewport_size(WIDTHS[width])
    Notification.objects.create(
        recipient_email="zoe@example.com",
        kind="assigned",
        subject_key="AI-0001",
        period_key="change-1",
        subject=SUBJECT,
        body_text="Hello Zoë,\n\nZoë Ó Súilleabháin assigned an action item to you:\n" + "a long line " * 30,
        body_html="<p>Hello Zoë,</p><p><strong>AI-0001 Alert on expired keys</strong></p>",
        state="sent",
        sent_at=timezone.now(),
        attempts=1,
    )
    sign_in(UserFactory(username="ada", is_staff=True), next="/actions/")
    open_menu_with_keyboard(page)
    with page.expect_navigation():
        page.locator(f"{MENU} a", has_text="Outbox").click()
    assert page.url == f"{live_server.url}/actions/outbox/"
    page.select_option("#id_state", "sent")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    article = page.locator("article.outbox-message")
    assert article.locator("h2").inner_text() == SUBJECT
    article.locator("summary", has_text="Text").click()
    article.locator("summary", has_text="HTML").click()
    body = article.locator("pre")
    assert "Zoë Ó Súilleabháin assigned an action item to you" in body.inner_text()
    box = body.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTHS[width]["width"]  # long lines wrap
    frame = page.frame_locator("iframe.outbox-html")
    assert frame.locator("strong").inner_text() == "AI-0001 Alert on expired keys"
    assert_usable(page)
    assert_accessible(page)
    page.screenshot(path=f"/tmp/h8-outbox-{width}.png", full_page=True)
