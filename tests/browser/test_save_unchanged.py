"""In a real browser (en-GB, a zone away from UTC): every edit form, opened and saved without
touching anything, leaves every row in the database as it was.

A browser sends what the page rendered, so a value the page shows in a form the browser
rejects (a localised date in a ``type=date`` input posts as empty) or cannot keep (CRLF for
the LF of a multi-line text) turns an untouched save into a change.
"""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.forms.models import model_to_dict

from actions.models import ActionItem, ActionItemChange, NotificationPreference
from actions.services import preferences_update
from incidents.models import Incident, SeverityChange, TimelineEvent
from postmortems.models import Postmortem, PostmortemEvent
from tests.browser.seen import WIDTHS
from tests.factories import (
    T0,
    ActionItemFactory,
    IncidentFactory,
    PostmortemFactory,
    ServiceFactory,
    TeamFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MULTILINE = "First line.\n\nSecond paragraph:\n- one\n- two"


@pytest.fixture
def browser_context_args() -> dict:
    # A non-US locale and a zone away from UTC, so date and time widgets are exercised.
    return {"timezone_id": "Europe/London", "locale": "en-GB"}


@pytest.fixture
def world():
    """A facilitator who commands the incident, with a timeline, a postmortem whose sections
    have several lines, two dated action items, and saved email preferences."""
    team = TeamFactory(name="Payments", slug="payments")
    fay = UserFactory(username="fay", first_name="Fay", last_name="Facilitator")
    owner = UserFactory(username="owen", first_name="Owen", last_name="Owner")
    team.members.add(fay, owner)
    incident = IncidentFactory(title="Checkout returns 502", summary=MULTILINE, commander=fay, created_by=fay)
    incident.services.add(ServiceFactory(team=team))
    events = [
        TimelineEventFactory(incident=incident, occurred_at=T0 + timedelta(minutes=1), text=MULTILINE, author=fay),
        TimelineEventFactory(incident=incident, occurred_at=T0 + timedelta(minutes=30), kind="mitigation"),
    ]
    sections = {name: f"{name}: {MULTILINE}" for name in ("summary", "impact", "root_cause", "lessons")}
    postmortem = PostmortemFactory(incident=incident, facilitator=fay, users_affected=1200, **sections)
    postmortem.authors.add(fay)
    postmortem.reviewers.add(owner)
    postmortem.teams.add(team)
    items = [
        ActionItemFactory(postmortem=postmortem, owner=owner, team=team, due_date=date(2026, 12, 14)),
        ActionItemFactory(
            postmortem=postmortem, owner=fay, due_date=date(2027, 1, 15), resolution_note=f"Notes: {MULTILINE}"
        ),
    ]
    preferences_update(user=fay, time_zone="Europe/London", digest_opt_out=True)
    return SimpleNamespace(
        fay=fay, owner=owner, team=team, incident=incident, events=events, postmortem=postmortem, items=items
    )


def _rows(model, **filters) -> list[dict]:
    return [model_to_dict(row) for row in model.objects.filter(**filters).order_by("pk")]


def snapshot(world) -> dict:
    """Every row an edit form could touch, as plain values (``updated_at`` is not a form field)."""
    return {
        "incident": _rows(Incident),
        "severity changes": SeverityChange.objects.count(),
        "events": _rows(TimelineEvent),
        "postmortem": _rows(Postmortem),
        "postmortem events": _rows(PostmortemEvent),
        "items": _rows(ActionItem),
        "item history": _rows(ActionItemChange),
        "preferences": _rows(NotificationPreference),
    }


def save_untouched(page, url: str, button: str) -> None:
    page.goto(url)
    page.locator(button).scroll_into_view_if_needed()
    with page.expect_navigation():
        page.click(button)


def assert_unchanged(page, world, before: dict) -> None:
    after = snapshot(world)
    changed = {key: _diff(before[key], after[key]) for key in before if before[key] != after[key]}
    assert not changed, f"saving {page.url} untouched changed: {changed}"


def _diff(before, after):
    """The fields that differ, row by row (or the two values when they are not lists of rows)."""
    if not (isinstance(before, list) and isinstance(after, list) and len(before) == len(after)):
        return before, after
    return [
        {key: (old[key], new.get(key)) for key in old if old[key] != new.get(key)}
        for old, new in zip(before, after, strict=True)
        if old != new
    ]


@pytest.mark.parametrize("size", WIDTHS.values(), ids=WIDTHS.keys())
def test_saving_the_incident_form_untouched_changes_nothing(page, live_server, sign_in, world, size):
    page.set_viewport_size(size)
    sign_in(world.fay)
    before = snapshot(world)
    save_untouched(page, f"{live_server.url}/incidents/{world.incident.reference}/edit/", "main button[type=submit]")
    assert page.url == f"{live_server.url}/incidents/{world.incident.reference}/"
    assert_unchanged(page, world, before)


@pytest.mark.parametrize("size", WIDTHS.values(), ids=WIDTHS.keys())
def test_saving_a_timeline_event_untouched_changes_nothing(page, live_server, sign_in, world, size):
    page.set_viewport_size(size)
    sign_in(world.fay)
    before = snapshot(world)
    event = world.events[0]
    page.goto(f"{live_server.url}/incidents/{world.incident.reference}/")
    page.click(f"#event-{event.pk} summary")
    with page.expect_navigation():
        page.click(f"#event-{event.pk} button:has-text('Save event')")
    assert_unchanged(page, world, before)


@pytest.mark.parametrize("size", WIDTHS.values(), ids=WIDTHS.keys())
def test_saving_the_postmortem_editor_untouched_changes_nothing(page, live_server, sign_in, world, size):
    page.set_viewport_size(size)
    sign_in(world.fay)
    before = snapshot(world)
    save_untouched(page, f"{live_server.url}/postmortems/{world.postmortem.pk}/edit/", "#pm-editor button[name=save]")
    assert page.url == f"{live_server.url}/postmortems/{world.postmortem.pk}/"
    assert_unchanged(page, world, before)
    assert world.items[0].reference in page.inner_text("#action-items")
    assert "14 Dec 2026" in page.inner_text("#action-items")


@pytest.mark.parametrize(
    "size, note",
    [(WIDTHS["desktop"], ""), (WIDTHS["phone"], ""), (WIDTHS["desktop"], "Nothing really.")],
    ids=["desktop", "phone", "desktop-with-a-note"],
)
def test_saving_an_amendment_untouched_changes_nothing(page, live_server, sign_in, world, size, note):
    """With no change there is no amendment, even when the note says there is one."""
    Postmortem.objects.filter(pk=world.postmortem.pk).update(status="published", published_at=T0)
    page.set_viewport_size(size)
    sign_in(world.fay)
    before = snapshot(world)
    page.goto(f"{live_server.url}/postmortems/{world.postmortem.pk}/amend/")
    if note:
        page.fill("#id_amendment_note", note)
    with page.expect_navigation():
        page.click("#pm-editor button[name=save]")
    assert page.url == f"{live_server.url}/postmortems/{world.postmortem.pk}/"
    assert "Nothing changed, so nothing was saved." in page.inner_text("main")
    assert_unchanged(page, world, before)


@pytest.mark.parametrize("size", WIDTHS.values(), ids=WIDTHS.keys())
def test_saving_an_action_item_untouched_changes_nothing(page, live_server, sign_in, world, size):
    page.set_viewport_size(size)
    sign_in(world.fay)
    before = snapshot(world)
    item = world.items[1]
    save_untouched(page, f"{live_server.url}/actions/{item.reference}/", "main form[novalidate] button[type=submit]")
    assert page.url == f"{live_server.url}/actions/{item.reference}/"
    assert_unchanged(page, world, before)


@pytest.mark.parametrize("size", WIDTHS.values(), ids=WIDTHS.keys())
def test_saving_preferences_untouched_changes_nothing(page, live_server, sign_in, world, size):
    page.set_viewport_size(size)
    sign_in(world.fay)
    before = snapshot(world)
    save_untouched(page, f"{live_server.url}/actions/preferences/", "main form button[type=submit]")
    assert page.url == f"{live_server.url}/actions/preferences/"
    assert_unchanged(page, world, before)
