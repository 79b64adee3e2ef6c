"""Every main page, on the demo organisation, at a desktop and a phone width, as a person
meets it: nothing wider than the screen, every control visible and clickable, no script
error, and axe-core finding nothing serious or critical.

`make screenshots` runs this module with SCREENSHOTS_DIR set, and each page is saved as
a PNG there, so anyone can look at the product before and after a change.
"""

import os
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from actions.models import ActionItem
from incidents.models import Incident, Team
from postmortems.models import Postmortem
from tests.browser.seen import WIDTHS, axe_violations, unusable_controls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SCREENSHOTS_DIR")

_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def main_pages() -> dict[str, str]:
    """name -> path of each main page, on the demo data (the demo user facilitates a draft)."""
    demo = get_user_model().objects.get(username="demo")
    published = Postmortem.objects.filter(status="published").order_by("-published_at").first()
    draft = Postmortem.objects.filter(facilitator=demo).exclude(status="published").first()
    incident = Incident.objects.filter(postmortem=published).get()
    item = ActionItem.objects.filter(postmortem=published).order_by("pk").first()
    return {
        "home": "/",
        "incidents": "/incidents/",
        "incident": f"/incidents/{incident.reference}/",
        "incident-edit": f"/incidents/{incident.reference}/edit/",
        "declare": "/incidents/new/",
        "postmortems": "/postmortems/",
        "postmortem": f"/postmortems/{published.pk}/",
        "postmortem-edit": f"/postmortems/{draft.pk}/edit/",
        "amend": f"/postmortems/{published.pk}/amend/",
        "my-items": "/actions/",
        "item": item.get_absolute_url(),
        "team-items": f"/actions/teams/{Team.objects.order_by('slug').first().slug}/",
        "board": "/actions/board/",
        "preferences": "/actions/preferences/",
        "archive": "/archive/",
        "archive-search": "/archive/?q=certificate",
        "feed": "/archive/feed/",
        "metrics": "/metrics/",
        "team-metrics": f"/metrics/teams/{Team.objects.order_by('slug').first().slug}/",
        "tokens": "/api/tokens/",
    }


def look_at(page, name: str, width: str) -> list[str]:
    """What is wrong on the current page, in words; saves a screenshot when asked to."""
    problems = []
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    overflow = page.evaluate(_OVERFLOW)
    if overflow > 1:
        problems.append(f"{name} at {width}: the page is {overflow} px wider than the screen")
    for box in unusable_controls(page):
        problems.append(f"{name} at {width}: control {box['label']} cannot be used: {box}")
    for violation in axe_violations(page):
        problems.append(f"{name} at {width}: axe {violation}")
    return problems


@pytest.mark.parametrize("width", WIDTHS)
def test_every_main_page_is_usable(page, live_server, sign_in, width):
    call_command("seed_demo", verbosity=0, stdout=StringIO())
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.set_viewport_size(WIDTHS[width])
    problems = []
    page.goto(f"{live_server.url}/accounts/login/")
    problems += look_at(page, "login", width)
    sign_in(get_user_model().objects.get(username="demo"), password="demo")
    for name, path in main_pages().items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, f"{name}: {path} answered {response.status}"
        problems += look_at(page, name, width)
    assert not errors, errors
    assert not problems, "\n".join(problems)
