"""The archive's query language, parsed the same way for both databases: words (all
required), "quoted phrases", ``OR`` between two alternatives (binding tighter than the
implicit AND, as in web search engines), ``-word`` / ``-"phrase"`` to exclude, stop words
dropped, synonyms and the last word's prefix added. Never raises, whatever the input.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import reduce

from django.db.models import Case, Expression, FloatField, Value, When

from ..synonyms import MAX_TERM_WORDS, stems, synonym_table, word_stem

MAX_QUERY_LENGTH = 500
MAX_TERMS = 32


_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_HAS_WORD = re.compile(r"[^\W_]")
# Words dropped from what a query requires: PostgreSQL's English list (which it drops from
# the index too), so both databases leave out the same words.
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can did do does doing don down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with you your yours yourself yourselves""".split()  # noqa: SIM905 - a list to read
)
# The last word, when this long or longer, also finds the words it begins (``certi`` finds
# ``certificates``).
PREFIX_MIN = 3
_PLAIN_WORD = re.compile(r"[^\W_]+")
# A dash before a word excludes it (``failover -db``), except right after one of these
# commands, where a dash and one or two letters or digits is the command's flag: ``rm -rf``
# and ``kill -9`` are searched as the phrases they make.
COMMANDS = frozenset("rm kill chmod chown cp mv ls ps tar grep curl ssh".split())  # noqa: SIM905 - a list to read
_FLAG = re.compile(r"-[^\W_]{1,2}")


# --- The query language -------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    """``required``: every group must match, a group by any of its terms; ``excluded``: none may."""

    required: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    notices: tuple[str, ...] = field(default=(), compare=False)
    # How many of the required groups a match must hold (0: all of them).
    least: int = 0
    # For a relaxed query, how rare each required group is, each below 1 / the number of
    # groups: among matches holding as many groups, those holding the rarer ones rank first.
    rarity: tuple[float, ...] = field(default=(), compare=False)

    def __bool__(self) -> bool:
        """Whether there are words to find (and so matches to rank)."""
        return bool(self.required)

    @property
    def searches(self) -> bool:
        """Whether the query narrows the list at all: words to find, or only to leave out."""
        return bool(self.required or self.excluded)

    def words(self) -> list[str]:
        return [term.text for group in self.required for term in group]

    @property
    def strict(self) -> bool:
        return not self.least or self.least >= len(self.required)

    def positive(self) -> ParsedQuery:
        """The words to find, without the excluded ones: what ranks a match."""
        return ParsedQuery(required=self.required, least=self.least)

    def relaxed(self, least: int, rarity: tuple[float, ...] = ()) -> ParsedQuery:
        return ParsedQuery(self.required, self.excluded, self.notices, least=least, rarity=rarity)

    def held(self, holds) -> Expression:
        """How many required groups a match holds (``holds(group)``: a condition), plus its rarity."""
        rarity = self.rarity or (0.0,) * len(self.required)
        values = [
            Case(When(holds(group), then=Value(1.0 + rare)), default=Value(0.0), output_field=FloatField())
            for group, rare in zip(self.required, rarity, strict=True)
        ]
        return reduce(lambda a, b: a + b, values)


def _clean_query(text: str) -> tuple[str, list[str]]:
    """Control, format and private-use characters out (whitespace kept as spaces), length capped."""
    notices = []
    text = "".join(
        " " if ch.isspace() else ch for ch in text or "" if unicodedata.category(ch)[0] != "C" or ch.isspace()
    )
    if len(text) > MAX_QUERY_LENGTH:
        text = text[:MAX_QUERY_LENGTH]
        notices.append(f"Only the first {MAX_QUERY_LENGTH} characters of your search were used.")
    return text, notices


def parse_query(text: str) -> ParsedQuery:
    """Parse the archive's query syntax; never raises, whatever ``text`` holds."""
    text, notices = _clean_query(text)
    required: list[list[Term]] = []
    excluded: list[Term] = []
    pending_or = False
    for negated, quoted, bare in _TOKEN.findall(text):
        if bare and bare.upper() == "OR" and not negated:
            pending_or = bool(required)
            continue
        is_phrase = not bare
        if bare.startswith("--"):
            bare = bare.lstrip("-")
        elif _FLAG.fullmatch(bare) and not negated and _after_command(required):
            # A command and its flag, searched as the phrase they make. The dash stays: PostgreSQL
            # reads ``-9`` as a number, with its sign, and drops it before letters.
            required[-1] = [Term(f"{required[-1][0].text} {bare}", phrase=True)]
            continue
        elif bare.startswith("-") and len(bare) > 1:
            negated, bare = "-", bare[1:]
        words = " ".join((quoted if is_phrase else bare).replace('"', " ").split())
        if not _HAS_WORD.search(words):
            continue
        term = Term(words, phrase=is_phrase and " " in words)
        if negated:
            excluded.append(term)
        elif pending_or:
            required[-1].append(term)
        else:
            required.append([term])
        pending_or = False
    if sum(map(len, required)) + len(excluded) > MAX_TERMS:
        notices.append(f"Only the first {MAX_TERMS} words of your search were used.")
        required, excluded = _first_terms(required, excluded)
    table = synonym_table()
    extras = _phrase_synonyms(required, table)
    kept = _without_stop_words(required)
    groups = tuple(_widen(required[n], table, extras[n], last=n == kept[-1]) for n in kept)
    return ParsedQuery(groups, tuple(excluded), tuple(notices))


def _after_command(required: list[list[Term]]) -> bool:
    """Whether the query so far ends with one of ``COMMANDS`` on its own."""
    last = required[-1] if required else []
    return len(last) == 1 and not last[0].phrase and last[0].text.lower() in COMMANDS


def _is_stop_word(group: list[Term]) -> bool:
    return all(not t.phrase and t.text.lower() in STOP_WORDS for t in group)


def _without_stop_words(required: list[list[Term]]) -> list[int]:
    """The positions of the groups that are not only stop words (all of them if nothing else is left)."""
    kept = [n for n, group in enumerate(required) if not _is_stop_word(group)]
    return kept or list(range(len(required)))


def _phrase_synonyms(required: list[list[Term]], table: dict[str, tuple[str, ...]]) -> list[tuple[str, ...]]:
    """For each group, the synonyms of the phrase it is a word of: words typed one after the
    other (without quotes) that make a phrase of ``table``, the longest first. Each of those
    groups gets them, which makes (``load`` and ``balancer``) or ``lb`` of ``load balancer``."""
    words = [g[0].text.lower() if len(g) == 1 and not g[0].phrase else None for g in required]
    extras: list[tuple[str, ...]] = [()] * len(required)
    n = 0
    while n < len(words):
        size = _phrase_size(words[n : n + MAX_TERM_WORDS], table)
        if size > 1:
            extras[n : n + size] = [table[" ".join(words[n : n + size])]] * size
        n += size
    return extras


def _phrase_size(words: list[str | None], table: dict[str, tuple[str, ...]]) -> int:
    """How many of ``words`` (``None``: not a lone word) make the longest phrase of ``table``
    they begin with (1: none does)."""
    for size in range(len(words), 1, -1):
        if None not in words[:size] and " ".join(words[:size]) in table:
            return size
    return 1


def _widen(
    group: list[Term], table: dict[str, tuple[str, ...]], extra: tuple[str, ...] = (), *, last: bool = False
) -> tuple[Term, ...]:
    """A group with the synonyms of each of its words and phrases, and ``extra`` ones; in the
    query's ``last`` group, the words as typed, when long enough, also as prefixes (the word
    being typed: ``expired cert``). A synonym holding a form of one of the group's words
    finds nothing more than that word does, and is left out (a phrase costs PostgreSQL a read
    of each candidate's positions)."""
    widened: dict[Term, None] = {}
    for term in group:
        text = term.text.lower()
        prefix = last and bool(_PLAIN_WORD.fullmatch(text)) and len(text) >= PREFIX_MIN and text not in STOP_WORDS
        widened.setdefault(Term(term.text, prefix=True) if prefix else term, None)
    synonyms = [*(word for term in group for word in table.get(term.text.lower(), ())), *extra]
    words = [word for word in synonyms if " " not in word and word not in STOP_WORDS]
    typed = {word_stem(term.text.lower()) for term in group if not term.phrase}
    covered = typed | set(map(word_stem, words))
    for word in words:
        if word_stem(word) not in typed:
            widened.setdefault(Term(word), None)
    for phrase in synonyms:
        if " " in phrase and covered.isdisjoint(stems(phrase)):
            widened.setdefault(Term(phrase, phrase=True), None)
    return tuple(widened)


def _first_terms(required: list[list[Term]], excluded: list[Term]) -> tuple[list[list[Term]], list[Term]]:
    budget = MAX_TERMS
    kept = []
    for group in required:
        if budget <= 0:
            break
        kept.append(group[:budget])
        budget -= len(kept[-1])
    return kept, excluded[: max(budget, 0)]


# A relaxed query is written out as every combination of ``least`` groups; past this many
# combinations, any one group will do.
MAX_COMBINATIONS = 64


def _at_least(groups: list, least: int, all_of, any_of):
    """``groups`` combined so that at least ``least`` of them hold (0: all of them)."""
    if not least or least >= len(groups):
        return reduce(all_of, groups)
    if least <= 1 or math.comb(len(groups), least) > MAX_COMBINATIONS:
        return reduce(any_of, groups)
    return reduce(any_of, (reduce(all_of, combo) for combo in itertools.combinations(groups, least)))
