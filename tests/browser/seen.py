"""What a person meets in the browser, as assertions the browser tests share.

Playwright's own visibility check passes on an element that is clipped to nothing or
covered by another one; these checks ask the page what is really under a control.
"""

import os
from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}

# For each matching control: its box, whether it is inside the viewport after scrolling
# it into view, and whether the element at its centre is the control (or inside it).
_BOXES = """(selector) => {
    const out = [];
    for (const el of document.querySelectorAll(selector)) {
        // Not offered to a person (hidden, or inside a closed <details> or collapsed panel).
        if (el.type === 'hidden' || !el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
        el.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'});
        const r = el.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        const hit = document.elementFromPoint(x, y);
        const label = el.id || el.name || el.outerHTML.slice(0, 80);
        out.push({
            label, width: r.width, height: r.height,
            inside: r.left >= 0 && r.top >= 0
                && r.right <= window.innerWidth + 0.5 && r.bottom <= window.innerHeight + 0.5,
            hit: !!hit && (hit === el || el.contains(hit) || (el.labels && [...el.labels].some(l => l.contains(hit)))),
            under: hit ? (hit.id || hit.tagName) : null,
        });
    }
    return out;
}"""

CONTROLS = "main input:not([type=hidden]), main select, main textarea, main button"


def unusable_controls(page, selector: str = CONTROLS, min_width: int = 40) -> list[dict]:
    """The controls a person could not see or click: narrower than ``min_width`` (checkboxes
    and radios excepted), outside the viewport, or covered by another element."""
    bad = []
    for box in page.evaluate(_BOXES, selector):
        small_ok = box["label"] and box["width"] >= 12
        too_narrow = box["width"] < min_width and not (small_ok and box["height"] < 30 and box["width"] < 30)
        if too_narrow or box["height"] < 12 or not box["inside"] or not box["hit"]:
            bad.append(box)
    return bad


def assert_usable(page, selector: str = CONTROLS, min_width: int = 40) -> None:
    bad = unusable_controls(page, selector, min_width)
    assert not bad, f"controls a person cannot see or click at {page.viewport_size}: {bad}"


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """axe-core's violations of the given impacts on the current page (axe-core comes from
    the npm registry: ``npm ci`` installs it, as ``make test`` does)."""
    if not AXE.exists():
        message = f"{AXE} is missing: run `npm ci` (make test does when npm is installed)"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    # Evaluated through the DevTools protocol, so the page's Content-Security-Policy allows it.
    page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5], "help": v["help"]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core on {page.url} at {page.viewport_size}: {violations}"
