"""Blameless-writing and quality hints for a postmortem draft.

Pure functions over plain data (no database), so the editor, the live preview and
the API can all ask the same questions. Hints never block saving or publishing;
they point at wording a reader would trip over and suggest a better question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .models import SECTIONS

SECTION_TITLES = dict(SECTIONS)


@dataclass(frozen=True)
class Hint:
    field: str  # a section name, or "action_items-<n>" for the n-th action item (0-based)
    message: str
    suggestion: str

    @property
    def where(self) -> str:
        """The section's title, or "Action item <n>"."""
        if self.field.startswith("action_items-"):
            return f"Action item {int(self.field.rsplit('-', 1)[1]) + 1}"
        return SECTION_TITLES.get(self.field, self.field)


# (pattern, what is wrong, what to ask instead)
BLAMEFUL_PHRASES = [
    (r"\bhuman errors?\b", "“human error” names a person, not a cause.", "Ask what made the mistake easy to make."),
    (r"\bcareless(ly|ness)?\b", "“careless” judges a person.", "Describe what the system allowed to happen."),
    (
        r"\bshould(?:n't| not)? have (?:known|noticed|checked|realised|realized)\b",
        "“should have known” is hindsight.",
        "Describe what the person saw at the time, and why it made sense.",
    ),
    (r"\bforgot to\b", "“forgot to” puts the cause in a person.", "Ask why the step relied on memory."),
    (
        r"\bfailed to\b",
        "“failed to” puts the cause in a person.",
        "Say what did not happen and what would make it happen.",
    ),
    (r"\bnegligen(t|ce)\b", "“negligent” assigns blame.", "Describe the conditions, not the character."),
    (
        r"\b[\w.-]{1,64}['’]s fault\b",  # a bounded name: unbounded, a long text took quadratic time
        "Naming whose fault it was assigns blame.",
        "Say what in the system allowed the failure.",
    ),
]
_BLAMEFUL = [(re.compile(p, re.IGNORECASE), m, s) for p, m, s in BLAMEFUL_PHRASES]

# Verbs that, right after a person's name, make the person the cause.
CAUSE_VERBS = r"(?:caused|broke|pushed a bad|deployed a bad|deleted|dropped|misconfigured|messed up|took down)"

VAGUE_ACTIONS = [
    r"improve (?:the )?monitoring",
    r"improve (?:the )?alerting",
    r"be more careful",
    r"add more tests",
    r"more testing",
    r"investigate further",
    r"fix the bug",
    r"double[- ]check",
]
_VAGUE = [re.compile(rf"^\W*{p}\W*$", re.IGNORECASE) for p in VAGUE_ACTIONS]

# A root cause this short is a label ("config change"), not an explanation.
SHORT_ROOT_CAUSE_WORDS = 6


def blameful_hints(section: str, text: str, people: Iterable[str] = ()) -> list[Hint]:
    """Hints for blameful phrasing in one section's text; ``people`` are names to watch for."""
    found = []
    for pattern, message, suggestion in _BLAMEFUL:
        match = pattern.search(text or "")
        if match:
            found.append(Hint(section, f"{message} (“{match.group(0)}”)", suggestion))
    names = sorted({n for n in people if n and len(n) >= 3}, key=len, reverse=True)
    if names and text:
        alternatives = "|".join(re.escape(n) for n in names)
        match = re.search(rf"\b({alternatives})\s+{CAUSE_VERBS}\b", text, re.IGNORECASE)
        if match:
            found.append(
                Hint(
                    section,
                    f"A person is named as the cause (“{match.group(0)}”).",
                    "Describe the action and the conditions that let it cause harm; leave the name out.",
                )
            )
    return found


def root_cause_hints(text: str) -> list[Hint]:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return [Hint("root_cause", "The root cause is empty.", "Ask why until you reach a cause in the system.")]
    if len(lines) == 1 and len(lines[0].split()) < SHORT_ROOT_CAUSE_WORDS:
        return [
            Hint(
                "root_cause",
                f"The root cause is a single short line (“{lines[0].strip()}”).",
                "Explain the mechanism: what changed, why it broke things, and why nothing caught it.",
            )
        ]
    return []


def action_item_hints(index: int, item: Mapping) -> list[Hint]:
    """Hints for one action item: a dict with title, owner and due_date (any may be empty)."""
    field = f"action_items-{index}"
    title = (item.get("title") or "").strip()
    label = f"Action item “{title}”" if title else f"Action item {index + 1}"
    found = []
    if any(pattern.match(title) for pattern in _VAGUE):
        found.append(
            Hint(field, f"{label} is vague.", "Make it specific and checkable: what, where, and how you will know.")
        )
    if not item.get("owner"):
        found.append(Hint(field, f"{label} has no owner.", "Give it one owner; publishing needs one."))
    if not item.get("due_date"):
        found.append(Hint(field, f"{label} has no due date.", "Set a due date; publishing needs one."))
    return found


def postmortem_hints(
    sections: Mapping[str, str], action_items: Iterable[Mapping] = (), people: Iterable[str] = ()
) -> list[Hint]:
    """All hints for a draft: ``sections`` maps section names to Markdown text."""
    people = list(people)
    found: list[Hint] = []
    for name, _title in SECTIONS:
        found += blameful_hints(name, sections.get(name) or "", people)
    if "root_cause" in sections:
        found += root_cause_hints(sections.get("root_cause") or "")
    for index, item in enumerate(action_items):
        found += action_item_hints(index, item)
    return found
