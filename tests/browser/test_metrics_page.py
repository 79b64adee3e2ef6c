"""The metrics page and a team's page in a real browser, at a desktop and a phone width, on the
demo organisation: the headline tiles fill the first screen, chart labels never overlap, tables
scroll in their own box, and axe-core finds nothing serious or critical."""

import os
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from incidents.models import Team
from tests.browser.seen import WIDTHS, assert_accessible, assert_usable

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SCREENSHOTS_DIR", "/tmp")
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"

# Every pair of chart labels and values whose text boxes intersect (by more than half a pixel).
OVERLAPS = """() => {
    const boxes = [...document.querySelectorAll('.metrics-bar-label, .metrics-bar-value, .metrics-chart figcaption')]
        .map(el => ({text: el.textContent.trim(), r: el.getBoundingClientRect(), el}))
        .filter(b => b.r.width > 0 && b.text);
    const out = [];
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i].r, b = boxes[j].r;
        if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5
            && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5) out.push([boxes[i].text, boxes[j].text]);
    }
    return out;
}"""
# Labels and numbers cut short: text wider than its box, or a box reaching past its chart.
TRUNCATED = """() => [...document.querySelectorAll('.metrics-bar-label, .metrics-bar td.text-end')]
    .filter(el => el.scrollWidth > el.clientWidth + 1
        || el.getBoundingClientRect().right > el.closest('.metrics-chart').getBoundingClientRect().right + 1)
    .map(el => el.textContent)"""


@pytest.fixture
def demo(page, live_server, sign_in):
    call_command("seed_demo", verbosity=0, stdout=StringIO())
    sign_in(get_user_model().objects.get(username="demo"), password="demo")
    return page


def _shot(page, name: str, width: str) -> None:
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_metrics_first_screen_holds_every_headline_tile(demo, live_server, width):
    page = demo
    page.set_viewport_size(WIDTHS[width])
    page.goto(f"{live_server.url}/metrics/")
    tiles = page.locator(".metrics-tile")
    assert tiles.count() == 7
    labels = [t.strip() for t in tiles.locator("h3 a:first-child").all_inner_texts()]
    assert labels == [
        "Time to detect",
        "Time to acknowledge",
        "Time to mitigate",
        "Time to resolve",
        "Repeat rate",
        "Postmortems",
        "Action items",
    ]
    page.screenshot(path=f"{SHOTS}/metrics-first-screen-{width}.png")
    _shot(page, "metrics", width)
    if width == "desktop":
        for box in (tiles.nth(i).bounding_box() for i in range(tiles.count())):
            assert box["y"] + box["height"] <= 900, f"a tile ends below the first screen: {box}"
        assert page.locator("#id_team").bounding_box()["y"] < 300  # the filters sit at the top
        height = page.evaluate("() => document.documentElement.scrollHeight")
        assert height <= 3 * 900, f"the page is {height} px tall, more than three screens"
    for text in page.locator("#tile-ttd dd").all_inner_texts():
        assert text.strip() and "—" not in text.split()[0], f"TTD tile without a figure: {text}"
    # Each tile leads to its breakdown and its definition.
    page.locator("#tile-action_items h3 a").first.click()
    assert page.url.endswith("#table-action_items")
    assert page.locator("#def-ttd").count() == 1
    assert page.evaluate(OVERFLOW) <= 1, "the page is wider than the screen"
    assert_usable(page, "main a, main select, main input, main button", min_width=10)
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_chart_labels_never_overlap_or_get_cut(demo, live_server, width):
    page = demo
    page.set_viewport_size(WIDTHS[width])
    page.goto(f"{live_server.url}/metrics/")
    assert page.locator(".metrics-bar").count() > 20
    assert page.evaluate(OVERLAPS) == []
    assert page.evaluate(TRUNCATED) == []
    # Every bar tells its value on hover, and no label reads zero.
    bars = page.locator(".metrics-bar-svg rect")
    assert bars.count() == page.locator(".metrics-bar-svg rect title").count() > 0
    values = [v.strip() for v in page.locator(".metrics-bar-value").all_inner_texts()]
    assert not [v for v in values if v in ("0", "0%", "0s")]
    # Each chart's numbers sit in its rows, shown: none folded into a closed disclosure.
    assert page.locator(".metrics-bar td.text-end").count() > 100
    assert page.locator("details:not([open]) .metrics-chart").count() == 0
    first = page.locator('section[aria-labelledby="table-counts_severity"] .metrics-bar').first
    assert first.locator("td.text-end").first.is_visible() and first.locator("td.text-end").first.inner_text()
    # Each severity's bars are the colour of its badge elsewhere on the site.
    badge_vs_bar = page.evaluate("""() => [['text-bg-danger', 'sev-1'], ['text-bg-warning', 'sev-2'],
        ['text-bg-info', 'sev-3'], ['text-bg-secondary', 'sev-other']].map(([badge, bar]) => {
            const span = document.createElement('span');
            span.className = 'badge ' + badge;
            document.body.append(span);
            const rect = document.querySelector('rect.' + bar);
            const pair = [getComputedStyle(span).backgroundColor, rect && getComputedStyle(rect).fill];
            span.remove();
            return pair;
        })""")
    assert all(badge == bar for badge, bar in badge_vs_bar), badge_vs_bar
    for index, chart in enumerate(page.locator(".metrics-charts").all()):
        chart.screenshot(path=f"{SHOTS}/metrics-chart-{index}-{width}.png")


@pytest.mark.parametrize("width", WIDTHS)
def test_team_page(demo, live_server, width):
    page = demo
    page.set_viewport_size(WIDTHS[width])
    team = Team.objects.order_by("name").first()
    page.goto(f"{live_server.url}/metrics/")
    # The filters live in the URL, so a filtered view can be shared.
    page.select_option("#id_team", team.slug)
    page.select_option("#id_period", "quarter")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"**team={team.slug}**")
    assert "period=quarter" in page.url and page.locator("#id_team").input_value() == team.slug
    page.get_by_role("navigation", name="Team pages").get_by_role("link", name=team.name).click()
    assert page.locator("h1").inner_text() == team.name
    assert page.locator(".metrics-tile").count() == 7
    for part in ("#owners", "#waiting", "#waiting-not_started", "#waiting-draft", "#waiting-in_review", "#repeats"):
        assert page.locator(part).is_visible(), f"the team page has no {part}"
    assert page.locator(".metrics-spark").count() == page.locator(".metrics-tile").count()  # a trend per tile
    assert page.evaluate(OVERFLOW) <= 1, "the team page is wider than the screen"
    assert_accessible(page)
    _shot(page, f"metrics-team-{team.slug}", width)
