"""In a real browser: every main page runs under a Content-Security-Policy that forbids inline
scripts, and none of them trips it (no violation event, no "Refused to ..." in the console, no
page error), while the scripts that matter still run: the time-zone cookie, Swagger UI at
/api/docs/, and the admin's date widgets."""

import pytest

from tests.factories import ActionItemFactory, PostmortemFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Recorded by the page itself; init scripts come through the DevTools protocol, which the
# page's policy does not govern.
LISTEN = """document.addEventListener('securitypolicyviolation', (e) => {
    (window.__csp = window.__csp || []).push(e.violatedDirective + ' blocked ' + e.blockedURI);
});"""


@pytest.fixture
def browser_context_args() -> dict:
    return {"timezone_id": "Europe/Berlin", "locale": "en-GB"}


@pytest.fixture
def watched(page):
    """The page, and what it reported: CSP violations (events and console) and page errors."""
    seen = {"csp": [], "errors": []}
    page.context.add_init_script(LISTEN)
    page.on("pageerror", lambda error: seen["errors"].append(f"{page.url}: {error}"))

    def on_console(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            seen["csp"].append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    return page, seen


def visit(page, seen: dict, url: str, ready: str = "main, #content, #swagger-ui") -> None:
    response = page.goto(url)
    assert response.status == 200, url
    policy = response.headers.get("content-security-policy", "")
    script_src = next((d for d in policy.split(";") if d.strip().startswith("script-src")), "")
    assert script_src and "unsafe-inline" not in script_src, f"{url}: {policy!r}"
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")
    seen["csp"].extend(f"{url}: {v}" for v in page.evaluate("window.__csp || []"))


def test_no_page_trips_the_content_security_policy(watched, live_server, sign_in):
    page, seen = watched
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    postmortem = PostmortemFactory(facilitator=admin)
    item = ActionItemFactory(postmortem=postmortem, owner=admin)
    incident = postmortem.incident
    base = live_server.url

    visit(page, seen, f"{base}/accounts/login/")
    visit(page, seen, f"{base}/accounts/password_reset/")
    sign_in(admin)
    pages = [
        "/",
        "/incidents/",
        f"/incidents/{incident.reference}/",
        "/incidents/new/",
        "/postmortems/",
        f"/postmortems/{postmortem.pk}/",
        f"/postmortems/{postmortem.pk}/edit/",
        "/actions/",
        f"/actions/{item.reference}/",
        "/actions/board/",
        "/archive/",
        "/metrics/",
        "/api/tokens/",
        "/admin/",
        "/admin/incidents/incident/",
    ]
    for path in pages:
        visit(page, seen, base + path)
    assert seen["csp"] == []

    # Swagger UI drew the API from the schema.
    visit(page, seen, f"{base}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock-tag", timeout=20_000)
    # The admin's scripts ran: its date and time shortcuts appear next to the fields.
    visit(page, seen, f"{base}/admin/incidents/incident/{incident.pk}/change/")
    page.wait_for_selector(".datetimeshortcuts")
    # The time-zone script (now a static file) ran.
    assert {"name": "tz", "value": "Europe/Berlin"}.items() <= next(
        c for c in page.context.cookies() if c["name"] == "tz"
    ).items()

    assert seen["csp"] == []
    assert seen["errors"] == []
