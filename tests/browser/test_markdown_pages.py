"""In Chromium, at a desktop and a phone width: Markdown reads as formatted text on the
postmortem page (sections, timeline, reviews), on an action item (notes) and in the
archive's snippets, never as its raw syntax; a search typed into the archive's box is
ranked by relevance."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import TimelineEvent
from tests.browser.seen import WIDTHS, assert_accessible
from tests.factories import ActionItemFactory, IncidentFactory, PostmortemFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUMMARY = (
    "## What happened\n\n"
    "The **payment gateway** timed out. We rolled back in two steps:\n"
    "- paused the deploys\n"
    "- reverted the migration:\n\n"
    "  ```sh\n  kubectl rollout undo deploy/checkout --to-revision=41\n  ```\n"
)
RAW_SYNTAX = ("**", "## ", "```", "](")


@pytest.fixture
def postmortem():
    fay = UserFactory(username="fay", first_name="Fay")
    rex = UserFactory(username="rex", first_name="Rex")
    incident = IncidentFactory(title="Checkout returns 502")
    pm = PostmortemFactory(
        incident=incident, facilitator=fay, summary=SUMMARY, status="published", published_at=timezone.now()
    )
    pm.reviewers.add(rex)
    pm.reviews.create(reviewer=rex, decision="approve", comment="Good. Please *link* the dashboard.\nThanks!")
    TimelineEvent.objects.create(
        incident=incident, occurred_at=incident.started_at, kind="note", text="**Paged** the DBA: `pg_locks` full"
    )
    item = ActionItemFactory(postmortem=pm, owner=fay, title="Lock timeout on migrations")
    item.comments.create(author=fay, text="Blocked on `pg_repack`:\n- waiting for the vendor")
    return pm


def no_raw_syntax(text: str) -> None:
    for syntax in RAW_SYNTAX:
        assert syntax not in text, (syntax, text)


def inside_the_screen(page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box and box["width"] >= 40 and box["x"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= page.viewport_size["width"] + 0.5, (selector, box)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_postmortem_page_shows_formatted_markdown(page, live_server, sign_in, postmortem, width):
    page.set_viewport_size(WIDTHS[width])
    sign_in(postmortem.facilitator, next=postmortem.get_absolute_url())
    summary = page.locator("#section-summary")
    heading = summary.locator(".markdown-body h2", has_text="What happened")
    # A heading written in the section reads below the section's own title, not above it.
    size = "el => parseFloat(getComputedStyle(el).fontSize)"
    assert heading.evaluate(size) < page.locator("#heading-summary").evaluate(size)
    assert summary.locator("strong").inner_text() == "payment gateway"
    assert summary.locator("li").all_inner_texts()[0] == "paused the deploys"
    code = summary.locator("li pre code")
    assert code.inner_text().strip() == "kubectl rollout undo deploy/checkout --to-revision=41"
    inside_the_screen(page, "#section-summary li pre")  # the code wraps rather than overflows
    no_raw_syntax(summary.inner_text())

    event = page.locator("#timeline .timeline-text").first
    assert event.locator("strong").inner_text() == "Paged"
    assert event.locator("code").inner_text() == "pg_locks"
    no_raw_syntax(event.inner_text())

    review = page.locator("#reviews .review-comment")
    assert review.locator("em").inner_text() == "link"
    assert review.inner_text().splitlines() == ["Good. Please link the dashboard.", "Thanks!"]

    page.screenshot(path=f"/tmp/h3-postmortem-{width}.png", full_page=True)
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_an_action_item_s_notes_show_formatted_markdown(page, live_server, sign_in, postmortem, width):
    page.set_viewport_size(WIDTHS[width])
    item = postmortem.action_items.get()
    sign_in(postmortem.facilitator, next=item.get_absolute_url())
    note = page.locator(".item-note").first
    assert note.locator("code").inner_text() == "pg_repack"
    assert note.locator("li").inner_text() == "waiting for the vendor"
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_search_typed_into_the_archive_is_ranked_and_quotes_words_not_markdown(
    page, live_server, sign_in, postmortem, width
):
    # A newer postmortem mentioning the gateway only in passing, against an older one with
    # the gateway in its title: ranked, the title match comes first.
    postmortem.incident.title = "Payment gateway timeouts"
    postmortem.incident.save()
    type(postmortem).objects.filter(pk=postmortem.pk).update(published_at=timezone.now() - timedelta(days=60))
    PostmortemFactory(
        incident=IncidentFactory(title="Search cluster slow"),
        facilitator=postmortem.facilitator,
        summary="Search slowed; the payment gateway was fine.",
        status="published",
        published_at=timezone.now(),
    )
    page.set_viewport_size(WIDTHS[width])
    sign_in(postmortem.facilitator, next="/archive/")
    page.fill("#archive-q", "gateway")
    with page.expect_navigation():
        page.press("#archive-q", "Enter")
    assert page.locator("#archive-sort option:checked").inner_text() == "Relevance"
    titles = page.locator("#results h2 a").all_inner_texts()
    assert [t.split(" ", 1)[1] for t in titles] == ["Payment gateway timeouts", "Search cluster slow"]
    assert "best matches first" in page.inner_text("#result-count")

    snippet = page.locator("#results .snippet").first
    assert "gateway" in [m.lower() for m in snippet.locator("mark").all_inner_texts()]
    no_raw_syntax(snippet.inner_text())
    page.screenshot(path=f"/tmp/h3-archive-{width}.png", full_page=True)
    assert_accessible(page)


def test_excluding_a_word_alone_leaves_out_the_postmortems_holding_it(page, live_server, sign_in, postmortem):
    PostmortemFactory(
        incident=IncidentFactory(title="Search cluster slow"),
        facilitator=postmortem.facilitator,
        summary="Search slowed.",
        status="published",
        published_at=timezone.now(),
    )
    sign_in(postmortem.facilitator, next="/archive/")
    page.fill("#archive-q", "-gateway")
    with page.expect_navigation():
        page.press("#archive-q", "Enter")
    assert [t.split(" ", 1)[1] for t in page.locator("#results h2 a").all_inner_texts()] == ["Search cluster slow"]
