"""The blameless and quality hints: one pure module, no database."""

import pytest

from postmortems.hints import action_item_hints, blameful_hints, postmortem_hints, root_cause_hints


@pytest.mark.parametrize(
    "text",
    [
        "The outage was caused by human error.",
        "A careless change to the load balancer.",
        "The on-call engineer should have known the disk was full.",
        "Ops forgot to renew the certificate.",
        "The deploy failed to run the migration.",
        "It was negligent to skip the review.",
        "It was Dave's fault.",
        "Honestly it was bob’s fault",
    ],
)
def test_blameful_phrasing_is_flagged(text):
    hints = blameful_hints("summary", text)
    assert hints, text
    assert hints[0].field == "summary"
    assert hints[0].suggestion


@pytest.mark.parametrize(
    "text",
    [
        "Sam caused the outage by restarting the primary.",
        "jdoe pushed a bad config to production.",
        "After lunch, Sam broke the build.",
    ],
)
def test_a_person_named_as_the_cause_is_flagged(text):
    hints = blameful_hints("root_cause", text, people=["Sam", "jdoe", "Al"])
    assert any("named as the cause" in hint.message for hint in hints)


@pytest.mark.parametrize(
    "text",
    [
        "The deploy pipeline ran migrations without a lock timeout.",
        "Sam noticed the alert and paged the database team.",
        "The change caused a cache stampede.",
        "Samantha caused nothing; the cron job did.",  # a longer name is not "Sam"
    ],
)
def test_blameless_text_gets_no_blame_hints(text):
    assert blameful_hints("summary", text, people=["Sam"]) == []


def test_very_short_names_are_not_watched():
    assert blameful_hints("summary", "Al caused it", people=["Al"]) == []


@pytest.mark.parametrize("text", ["config change", "Config change.", "  deploy  ", "bad deploy of the API"])
def test_a_single_short_root_cause_line_is_flagged(text):
    [hint] = root_cause_hints(text)
    assert hint.field == "root_cause"
    assert "single short line" in hint.message


def test_an_explained_root_cause_is_fine():
    text = (
        "A config change lowered the pool size to 5.\n"
        "Under Monday's load every request waited for a connection, and nothing alerted on pool saturation."
    )
    assert root_cause_hints(text) == []


def test_an_empty_root_cause_is_flagged():
    assert "empty" in root_cause_hints("")[0].message


@pytest.mark.parametrize(
    "title",
    [
        "Improve monitoring",
        "improve alerting.",
        "Be more careful",
        "Add more tests",
        "Investigate further",
        "Fix the bug",
    ],
)
def test_vague_action_items_are_flagged(title):
    hints = action_item_hints(0, {"title": title, "owner": 1, "due_date": "2026-04-01"})
    assert [hint.message for hint in hints] == [f"Action item “{title}” is vague."]
    assert hints[0].field == "action_items-0"
    assert hints[0].where == "Action item 1"


def test_specific_action_items_are_fine():
    item = {"title": "Alert when the DB pool is over 80% for 5 minutes", "owner": 1, "due_date": "2026-04-01"}
    assert action_item_hints(0, item) == []


def test_action_items_without_owner_or_due_date_are_flagged():
    hints = action_item_hints(2, {"title": "Add a lock timeout", "owner": None, "due_date": ""})
    messages = [hint.message for hint in hints]
    assert messages == [
        "Action item “Add a lock timeout” has no owner.",
        "Action item “Add a lock timeout” has no due date.",
    ]
    assert {hint.field for hint in hints} == {"action_items-2"}


def test_postmortem_hints_cover_every_section_and_item():
    sections = {
        "summary": "Checkout failed.",
        "root_cause": "config change",
        "what_could_be_improved": "Sam should have known.",
        "lessons": "Human error.",
    }
    hints = postmortem_hints(sections, [{"title": "Be more careful"}], people=["Sam"])
    fields = [hint.field for hint in hints]
    assert "what_could_be_improved" in fields
    assert "lessons" in fields
    assert "root_cause" in fields
    assert fields.count("action_items-0") == 3  # vague, no owner, no due date
    assert {hint.where for hint in hints} >= {"Lessons", "Root cause", "Action item 1"}
