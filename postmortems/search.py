"""Archive search: parse what the user typed, find the postmortems they may read, rank them,
and build highlighted snippets from the text they may see.

One query syntax on both databases, parsed here: words (all required), "quoted phrases",
``OR`` between two alternatives (binding tighter than the implicit AND, as in web search
engines), and ``-word`` / ``-"phrase"`` to exclude. The parsed query is compiled to a
``tsquery`` on PostgreSQL (each term through ``plainto_tsquery``/``phraseto_tsquery``) and
to an FTS5 expression on SQLite (every term quoted), so user input never reaches either
engine's own syntax.

Who may read what comes from ``postmortems.querysets`` only: ``visible_to`` picks the rows,
``with_full_access`` decides per row whether the internal sections (kept apart in the
search document) may match and be quoted in a snippet.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import json
import math
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, reduce
from operator import and_, or_

from django.conf import settings
from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorExact,
    SearchVectorField,
)
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import CombinedExpression, RawSQL
from django.db.models.functions import Concat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .markdown import markdown_text
from .models import Postmortem, PostmortemSearchDocument
from .search_index import FTS_TABLE, MARK_END, MARK_START

MAX_QUERY_LENGTH = 500
MAX_TERMS = 32
# ts_rank weights for D (timeline, action items), C (body), B (summary), A (title, tags).
PG_WEIGHTS = [0.1, 0.2, 0.6, 1.0]
# bm25 column weights, in the FTS5 table's column order: title, summary, body, extra, internal.
FTS_WEIGHTS = "10.0, 5.0, 2.0, 1.0, 2.0"
FTS_PUBLIC_COLUMNS = "{title summary body extra}"
# Snippet sources in order of preference, as FTS5 column numbers; internal (4) only with full access.
FTS_SNIPPET_COLUMNS = (1, 2, 3)
FTS_INTERNAL_COLUMN = 4
ORDERS = {"relevance": "Relevance", "date": "Newest first"}

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
# Words that mean the same in incident reports, applied at query time (no reindex needed):
# a word of one line finds the others. Multi-word entries are matched as phrases.
SYNONYMS = [
    "cert certs certificate certificates tls ssl",
    "db dbs database databases",
    "k8s kube kubernetes",
    "config configs configuration conf",
    "outage outages down unavailable offline",
    "deleted delete deletion removed remove dropped",
    "dc datacenter datacentre|data center|data centre",
]


def _synonym_table() -> dict[str, tuple[str, ...]]:
    table = {}
    for line in SYNONYMS:
        head, _, phrases = line.partition("|")
        words = head.split() + [p for p in phrases.split("|") if p]
        for word in head.split():
            table[word] = tuple(words)
    return table


SYNONYM_TABLE = _synonym_table()
# The last word, when this long or longer, also finds the words it begins (``certi`` finds
# ``certificates``).
PREFIX_MIN = 3
_PLAIN_WORD = re.compile(r"[^\W_]+")
# ``-rf``, ``-9``: a dash and one or two characters right after a word is a command-line
# flag, not an exclusion.
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
        elif required and _FLAG.fullmatch(bare) and not negated and len(required[-1]) == 1:
            # A command and its flag, searched as the phrase they make (``rm -rf``: "rm rf").
            required[-1] = [Term(f"{required[-1][0].text} {bare[1:]}", phrase=True)]
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
    kept = _without_stop_words(required)
    groups = tuple(_widen(group, last=n == len(kept) - 1) for n, group in enumerate(kept))
    return ParsedQuery(groups, tuple(excluded), tuple(notices))


def _is_stop_word(group: list[Term]) -> bool:
    return all(not t.phrase and t.text.lower() in STOP_WORDS for t in group)


def _without_stop_words(required: list[list[Term]]) -> list[list[Term]]:
    """The groups that are not only stop words (all of them if nothing else is left)."""
    kept = [group for group in required if not _is_stop_word(group)]
    return kept or required


def _widen(group: list[Term], *, last: bool = False) -> tuple[Term, ...]:
    """A group with each plain word's synonyms; in the query's ``last`` group, the words as
    typed, when long enough, also as prefixes (the word being typed: ``expired cert``)."""
    widened: dict[Term, None] = {}
    for term in group:
        if term.phrase or not _PLAIN_WORD.fullmatch(term.text):
            widened.setdefault(term, None)
            continue
        for word in (term.text, *SYNONYM_TABLE.get(term.text.lower(), ())):
            if " " in word:
                widened.setdefault(Term(word, phrase=True), None)
            elif word.lower() not in STOP_WORDS:
                prefix = last and word == term.text and len(word) >= PREFIX_MIN
                widened.setdefault(Term(word, prefix=prefix), None)
            elif word == term.text:
                widened.setdefault(term, None)
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


def _tsquery(parsed: ParsedQuery, *, as_words: frozenset[Term] = frozenset()) -> SearchQuery:
    """``parsed`` as a ``tsquery``; the required phrases in ``as_words`` as their words only
    (for a match whose word order another condition checks)."""
    config = settings.SEARCH_CONFIG

    def term(t: Term, alone: bool = False) -> SearchQuery:
        if t.prefix:  # a plain word of letters and digits only: nothing for to_tsquery to parse
            return SearchQuery(f"{t.text}:*", search_type="raw", config=config)
        phrase = t.phrase and not (alone and t in as_words)
        return SearchQuery(t.text, search_type="phrase" if phrase else "plain", config=config)

    def group(terms: tuple[Term, ...]) -> SearchQuery:
        return term(terms[0], alone=True) if len(terms) == 1 else reduce(or_, map(term, terms))

    query = _at_least(list(map(group, parsed.required)), parsed.least, and_, or_)
    for t in parsed.excluded:
        query &= ~term(t)
    return query


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


def _fts_string(term: Term) -> str:
    return '"' + term.text.replace('"', '""') + '"' + ("*" if term.prefix else "")


def fts_expression(parsed: ParsedQuery, *, public_only: bool) -> str:
    """The FTS5 MATCH expression; ``public_only`` keeps internal sections out of matching."""
    groups = ["(" + " OR ".join(map(_fts_string, group)) + ")" for group in parsed.required]
    expression = _at_least(groups, parsed.least, lambda a, b: f"{a} AND {b}", lambda a, b: f"({a}) OR ({b})")
    if parsed.excluded:
        expression = f"({expression}) NOT ({' OR '.join(map(_fts_string, parsed.excluded))})"
    return f"{FTS_PUBLIC_COLUMNS} : ({expression})" if public_only else expression


def _fts_nearness(parsed: ParsedQuery, *, public_only: bool) -> str | None:
    """For two or more plain words, an expression matching them close together: bm25 ignores
    word distance, so this bonus makes a phrase outrank scattered words (as ts_rank does)."""
    words = [group[0] for group in parsed.required if len(group) == 1 and not group[0].phrase]
    if len(words) < 2:
        return None
    near = f"NEAR({' '.join(map(_fts_string, words))}, {2 * len(words)})"
    return f"{FTS_PUBLIC_COLUMNS} : ({near})" if public_only else near


# --- Searching ------------------------------------------------------------------------------
#
# A search runs in two passes. The first reads the search documents alone (on PostgreSQL a
# narrow heap: the long values live out of line): every match the reader may see, counted,
# and ordered by a cheap first rank (on PostgreSQL the title-and-summary vector, which is
# small and stored inline; on SQLite bm25, which FTS5 computes from its own index). The
# first ``RESCORE_WINDOW`` of them are then re-ranked on all the text their reader may
# search, the way search engines rescore their top hits; matches beyond the window keep the
# first pass's order. A search with fewer matches than the window is ranked on all its text
# exactly. The page itself is always fetched through ``Postmortem.objects.visible_to``, so a
# document whose copied fields lag behind its postmortem can never show what it should not.

# Matches re-ranked on all their text: ten pages of results.
RESCORE_WINDOW = 200
# Matches counted and shown, at most: fifty pages. A search matching more says so.
COUNT_LIMIT = 1000
NEWEST = [F("published_at").desc(nulls_first=True), F("pk").desc()]


class _FtsRowQuery(Expression):
    """A correlated FTS5 lookup for the outer row: its bm25 score (higher is better), or
    whether it matches ``match`` at all."""

    def __init__(self, match: str, pk=None, *, exists: bool = False):
        super().__init__(output_field=BooleanField() if exists else FloatField())
        self.match, self.exists, self.pk = match, exists, pk if pk is not None else F("pk")

    def get_source_expressions(self):
        return [self.pk]

    def set_source_expressions(self, exprs):
        (self.pk,) = exprs

    def as_sql(self, compiler, connection):
        pk_sql, pk_params = compiler.compile(self.pk)
        where = f"{FTS_TABLE} MATCH %s AND {FTS_TABLE}.rowid = {pk_sql}"
        if self.exists:
            return f"EXISTS (SELECT 1 FROM {FTS_TABLE} WHERE {where})", [self.match, *pk_params]
        score = f"-bm25({FTS_TABLE}, {FTS_WEIGHTS})"
        return f"(SELECT {score} FROM {FTS_TABLE} WHERE {where})", [self.match, *pk_params]


class _AnyOf(Expression):
    """``field IN (ids)`` with the ids as one array parameter (PostgreSQL) or JSON text
    (SQLite), so a reader's thousands of ids cost one parameter rather than one each."""

    output_field = BooleanField()

    def __init__(self, field, ids: list[int]):
        super().__init__()
        self.column, self.ids = field, list(ids)

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.column)
        # A subquery, not ``= ANY(array)``: PostgreSQL hashes its rows once, where it would
        # scan the array for every row tested.
        return f"{sql} IN (SELECT unnest(%s::bigint[]))", [*params, self.ids]

    def as_sqlite(self, compiler, connection):
        sql, params = compiler.compile(self.column)
        return f"{sql} IN (SELECT value FROM json_each(%s))", [*params, json.dumps(self.ids)]


def _pk_in(ids) -> Q:
    return Q(_AnyOf(F("pk"), ids))


@dataclass(frozen=True)
class _Insiders:
    """Who searches whose internal text. ``access``: ``True`` or ``False`` for every row
    alike, or the ids of the matching rows (with internal text) whose reader may read it all.
    Against matching on public text alone, ``add`` holds the rows that match only through
    their internal text, ``remove`` those whose internal text holds an excluded word."""

    access: bool | list[int] = False
    add: tuple[int, ...] = ()
    remove: tuple[int, ...] = ()


def _per_reader(access: bool | list[int], full, public):
    """``full`` for the rows whose reader may search their internal text, ``public`` for the
    others."""
    if isinstance(access, bool):
        return full if access else public
    return Case(When(_pk_in(access), then=full), default=public, output_field=FloatField())


class _Match:
    """How one engine matches and ranks a parsed query. ``public``, ``full``, ``internal_full``
    and ``first_rank`` apply to search documents, ``rank`` to postmortems (through
    ``search_document__``)."""

    def __init__(self, parsed: ParsedQuery):
        self.parsed = parsed

    def public(self) -> Q:
        """Documents matching on their public text."""
        raise NotImplementedError

    def full(self) -> Q:
        """Documents matching on all their text."""
        raise NotImplementedError

    def internal_full(self) -> Q:
        """Documents with internal text matching on all their text."""
        raise NotImplementedError

    def rank(self, access: bool | list[int], prefix: str = "") -> Expression:
        raise NotImplementedError

    def first_rank(self, access: bool | list[int]) -> Expression:
        return self.rank(access)

    def head_words(self) -> Q | None:
        """Documents whose title and summary match the whole query, which the first pass puts
        first (``None``: the first rank ranks every match)."""
        return None

    def where(self, documents: QuerySet, insiders: _Insiders) -> QuerySet:
        """``documents`` that match, each on the text its reader may search."""
        if isinstance(insiders.access, bool):
            return documents.filter(self.full() if insiders.access else self.public())
        # Literal lists: the planner ORs their primary-key lookups with the GIN index's matches.
        condition = self.public() | Q(pk__in=insiders.add) if insiders.add else self.public()
        documents = documents.filter(condition)
        return documents.exclude(pk__in=insiders.remove) if insiders.remove else documents


def _full_vector(prefix: str = "") -> CombinedExpression:
    public, internal = F(f"{prefix}public_vector"), F(f"{prefix}internal_vector")
    return CombinedExpression(public, "||", internal, output_field=SearchVectorField())


def _tsquery_lexeme(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def phrase_pairs(parsed: ParsedQuery) -> tuple[str | None, frozenset[Term]]:
    """On PostgreSQL, the word pairs every required phrase of ``parsed`` holds, as ``tsquery``
    text over the documents' ``pairs_vector`` (``None`` without any): a necessary condition
    for the phrase, answered by the pairs' GIN index. Also the phrases of two words, for
    which the pair is the whole condition. One query, only for phrases."""
    phrases = [group[0] for group in parsed.required if len(group) == 1 and group[0].phrase]
    if not phrases:
        return None, frozenset()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.n, v.lexeme, p.pos FROM unnest(%s::text[]) WITH ORDINALITY AS t(phrase, n)"
            " CROSS JOIN LATERAL unnest(to_tsvector(%s::regconfig, t.phrase)) AS v"
            " CROSS JOIN LATERAL unnest(v.positions) AS p(pos)",
            [[term.text for term in phrases], settings.SEARCH_CONFIG],
        )
        positions: dict[int, dict[int, list[str]]] = {}
        for n, lexeme, pos in cursor.fetchall():
            positions.setdefault(n, {}).setdefault(pos, []).append(lexeme)
    pairs, whole = set(), set()
    for n, words in positions.items():
        if any(len(at) > 1 for at in words.values()):
            continue  # two words at one position: leave this phrase to the vector itself
        found = {f"{words[pos][0]} {words[pos + 1][0]}" for pos in words if pos + 1 in words}
        pairs |= found
        if len(words) == 2 and found:  # two adjacent words: the pair is the phrase
            whole.add(phrases[n - 1])
    return " & ".join(map(_tsquery_lexeme, sorted(pairs))) or None, frozenset(whole)


class _TsMatch(Expression):
    """``vector @@ 'query text'::tsquery``, for a query built here rather than parsed from
    user input by one of PostgreSQL's ``to_tsquery`` functions."""

    output_field = BooleanField()

    def __init__(self, vector, text: str):
        super().__init__()
        self.vector, self.text = vector, text

    def get_source_expressions(self):
        return [self.vector]

    def set_source_expressions(self, exprs):
        (self.vector,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.vector)
        return f"{sql} @@ %s::tsquery", [*params, self.text]


class _PostgresMatch(_Match):
    """Matches in forms the planner answers from the GIN indexes alone (of the public vector,
    of the title-and-summary vector, and of the full vector of documents with internal
    text), so no vector is read to decide a match and the big ones are read only to rank
    the window."""

    def __init__(self, parsed: ParsedQuery):
        super().__init__(parsed)
        self.query = _tsquery(parsed)
        # Ranked on the words to find only: an excluded word would score every match 0.
        positive = parsed.positive()
        self.rank_query = _tsquery(positive if parsed.strict else positive.relaxed(1))
        # A relaxed query's phrases are not all required: no pairs to look up first.
        self.pairs, whole = phrase_pairs(parsed) if parsed.strict else (None, frozenset())
        # Matching: two-word phrases as their words plus their pair, which the GIN indexes
        # answer exactly; checking the phrase itself would read every candidate's vector.
        self.words_query = _tsquery(parsed, as_words=whole) if whole else self.query

    def _ts_rank(self, vector) -> Expression:
        rank = SearchRank(vector, self.rank_query, weights=PG_WEIGHTS, cover_density=False)
        if self.parsed.strict:
            return rank
        # Relaxed: the more of the words a match holds, the higher it ranks, whatever its rank.
        held = self.parsed.held(lambda group: SearchVectorExact(vector, _tsquery(ParsedQuery(required=(group,)))))
        return ExpressionWrapper(held * Value(10.0) + rank, output_field=FloatField())

    def public(self) -> Q:
        if self.pairs is None:
            return Q(public_vector=self.query)
        return Q(_TsMatch(F("pairs_vector"), self.pairs), public_vector=self.words_query)

    def full(self) -> Q:
        # Without internal text, all the text is the public text. With an excluded word, a
        # document with internal text matches on its full vector only (the word may be there).
        public = self.public() & Q(has_internal=False) if self.parsed.excluded else self.public()
        return public | self.internal_full()

    def internal_full(self) -> Q:
        # The partial GIN indexes on the full vector (and its pairs) of documents with internal text.
        if self.pairs is None:
            return Q(SearchVectorExact(_full_vector(), self.query), has_internal=True)
        pairs = _TsMatch(F("full_pairs_vector"), self.pairs)
        return Q(SearchVectorExact(_full_vector(), self.words_query), pairs, has_internal=True)

    def first_rank(self, access: bool | list[int]) -> Expression:
        return self._ts_rank(F("head_vector"))

    def head_words(self) -> Q:
        return Q(head_vector=self.query)

    def rank(self, access: bool | list[int], prefix: str = "") -> Expression:
        return _per_reader(access, self._ts_rank(_full_vector(prefix)), self._ts_rank(F(f"{prefix}public_vector")))


class _SqliteMatch(_Match):
    """FTS5 matches by rowid (the postmortem's id), ranked by bm25 with a nearness bonus."""

    def _ids(self, public_only: bool) -> RawSQL:
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
        return RawSQL(sql, [fts_expression(self.parsed, public_only=public_only)])

    def public(self) -> Q:
        return Q(pk__in=self._ids(public_only=True))

    def full(self) -> Q:
        return Q(pk__in=self._ids(public_only=False))

    def internal_full(self) -> Q:
        return Q(self.full(), has_internal=True)

    def _score(self, public_only: bool) -> Expression:
        positive = self.parsed.positive()
        score = _FtsRowQuery(
            fts_expression(positive if self.parsed.strict else positive.relaxed(1), public_only=public_only)
        )
        near = _fts_nearness(self.parsed, public_only=public_only)
        if near is not None:
            bonus = Case(When(_FtsRowQuery(near, exists=True), then=Value(2.0)), default=Value(1.0))
            score = ExpressionWrapper(score * bonus, output_field=FloatField())
        if self.parsed.strict:
            return score
        # Relaxed: the more of the words a match holds, the higher it ranks, whatever its score.
        held = self.parsed.held(
            lambda group: _FtsRowQuery(
                fts_expression(ParsedQuery(required=(group,)), public_only=public_only), exists=True
            )
        )
        return ExpressionWrapper(held * Value(1000.0) + score, output_field=FloatField())

    def rank(self, access: bool | list[int], prefix: str = "") -> Expression:
        return _per_reader(access, self._score(False), self._score(True))


def _find_insiders(user, match: _Match) -> _Insiders:
    """Which matching rows ``user`` may search (and be quoted) in full, and how that changes
    the matches, in one query: over the documents with internal text that match on all of
    it (the partial GIN index), it asks ``with_full_access``'s rule of each and, only for
    the reader's own rows, whether they match on their public text too. The answer enters
    the search as constant lists, which keeps every match there decided by the indexes."""
    condition = Postmortem.objects.full_access_q(user)
    if isinstance(condition, bool):  # admins and anonymous visitors: the same for every row
        return _Insiders(access=condition)

    def for_insider(question: Q) -> Case:
        # NULL for rows outside the reader's: their vectors are never read.
        answer = ExpressionWrapper(question, output_field=BooleanField())
        return Case(When(condition, then=answer), default=None, output_field=BooleanField())

    documents = PostmortemSearchDocument.objects.order_by().annotate(on_public=for_insider(match.public()))
    if match.parsed.excluded:  # the internal text may hold an excluded word: ask both ways
        documents = documents.filter(match.internal_full() | Q(match.public(), has_internal=True))
        rows = documents.annotate(on_full=for_insider(match.internal_full()))
    else:
        rows = documents.filter(match.internal_full()).annotate(on_full=Value(True))
    found = list(rows.values_list("pk", "on_full", "on_public"))
    full = {pk for pk, on_full, on_public in found if on_public is not None and on_full}
    public = {pk for pk, on_full, on_public in found if on_public}
    return _Insiders(access=sorted(full), add=tuple(sorted(full - public)), remove=tuple(sorted(public - full)))


def _engine_match(parsed: ParsedQuery) -> _Match:
    return (_PostgresMatch if connection.vendor == "postgresql" else _SqliteMatch)(parsed)


@contextmanager
def _through_indexes():
    """On PostgreSQL, plan the enclosed queries without sequential scans.

    The planner does not count the cost of reading a long, out-of-line vector: on the
    narrow documents table, a scan testing every row's vector looks cheaper than the GIN
    index for a common word, and takes ten times as long. The setting is this session's
    (a rollback undoes it too) and its previous value is restored on the way out."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', false)")
        (previous, _) = cursor.fetchone()
        try:
            yield
        finally:
            cursor.execute("SELECT set_config('enable_seqscan', %s, false)", [previous])


# A search whose every word fewer postmortems than this hold (a page's worth) is widened to
# those holding most of its words.
RELAX_BELOW = 20


class SearchResults:
    """The postmortems ``user`` may read that match a query, in order: a sequence that a
    paginator counts and slices, each slice one query for the page's rows.

    Rows come annotated with ``full_access`` (may the reader see the internal sections),
    ``public_summary`` (the summary as indexed) and ``rank`` (``None`` outside the window
    and without a query).
    """

    def __init__(self, user, parsed: ParsedQuery, *, queryset=None, documents: Q | None = None, order="relevance"):
        self.user, self.parsed, self.order = user, parsed, order
        self.queryset = queryset if queryset is not None else Postmortem.objects.all()
        self.documents = documents
        self._related: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self._first: tuple[int, list[int]] | None = None
        # For a relaxed search, how many postmortems hold every word (ranked first), and their ids.
        self.every_word: int | None = None
        self.pinned: list[int] = []

    # --- Django QuerySet-like chaining, for the page's rows

    def _clone(self, **changes) -> SearchResults:
        clone = copy.copy(self)
        clone.__dict__.update(changes)
        return clone

    def select_related(self, *fields: str) -> SearchResults:
        return self._clone(_related=(self._related[0] + fields, self._related[1]))

    def prefetch_related(self, *lookups: str) -> SearchResults:
        return self._clone(_related=(self._related[0], self._related[1] + lookups))

    # --- The first pass

    @cached_property
    def _match(self) -> _Match | None:
        return _engine_match(self.parsed) if self.parsed else None

    @cached_property
    def _left_out(self) -> _Match | None:
        """For excluded words alone, a match of the postmortems holding any of them."""
        if self.parsed or not self.parsed.excluded:
            return None
        return _engine_match(ParsedQuery(required=(self.parsed.excluded,)))

    @cached_property
    def _insiders(self) -> _Insiders:
        return _find_insiders(self.user, self._match) if self._match else _Insiders()

    @property
    def _ranked(self) -> bool:
        return self._match is not None and self.order == "relevance"

    @cached_property
    def _candidates_qs(self) -> QuerySet:
        return self._build_candidates()

    def _candidates(self) -> QuerySet:
        """The documents of the visible postmortems the filters let through (built once)."""
        return self._candidates_qs.all()

    def _build_candidates(self) -> QuerySet:
        documents = PostmortemSearchDocument.objects.order_by()
        if not (self.user and self.user.is_authenticated and self.user.is_active):
            return documents.none()
        visible = Postmortem.objects.visibility_q(self.user, pk="pk")
        if visible is not None:
            documents = documents.filter(visible)
        if self.documents is not None:
            documents = documents.filter(self.documents)
        if self.queryset.query.has_filters():
            documents = documents.filter(pk__in=self.queryset.order_by().values("pk"))
        return documents

    @cached_property
    def _matches_qs(self) -> QuerySet:
        documents = self._candidates()
        if self._match is not None:
            return self._match.where(documents, self._insiders)
        if self._left_out is not None:
            # Every candidate but those holding an excluded word in the text their reader may
            # search (a word in a section the reader may not see excludes nothing).
            holding = self._left_out.where(self._candidates(), _find_insiders(self.user, self._left_out))
            return documents.exclude(pk__in=holding.values("pk"))
        return documents

    def _matches(self) -> QuerySet:
        """The documents of the matches (of every candidate, without a query; built once)."""
        return self._matches_qs.all()

    def _documents(self) -> QuerySet:
        """The documents of the matches, in the first pass's order."""
        if not self._ranked:
            return self._matches().order_by(*NEWEST)
        first_rank = self._match.first_rank(self._insiders.access)
        head = self._match.head_words()
        if head is not None:
            first_rank = Case(When(head, then=first_rank), default=Value(0.0), output_field=FloatField())
        return self._matches().annotate(first_rank=first_rank).order_by(F("first_rank").desc(), *NEWEST)

    def _first_pass(self) -> tuple[int, list[int]]:
        """The number of matches (counted up to one past ``COUNT_LIMIT``), and the ids of the
        first ``RESCORE_WINDOW`` in the first pass's order.

        On PostgreSQL the matches whose title and summary hold the whole query come first,
        ranked on those (found through that small vector's own index); the rest follow
        newest first, fetched only when the first kind leaves room in the window. Neither
        query reads every match of a common word."""
        if self._first is not None:
            return self._first
        head = self._match.head_words() if self._ranked else None
        with _through_indexes():
            ordered = self._documents().values_list("pk", flat=True)
            if head is not None:
                # Without excluded words, a title and summary holding the query make a match:
                # they are public text, and no match needs a reader's internal text for them.
                ordered = ordered.filter(head)
                if not self.parsed.excluded:
                    first_rank = self._match.first_rank(self._insiders.access)
                    ranked = self._candidates().filter(head).annotate(first_rank=first_rank)
                    ordered = ranked.order_by(F("first_rank").desc(), *NEWEST).values_list("pk", flat=True)
            ids = list(ordered[:RESCORE_WINDOW])
            if head is not None and len(ids) < RESCORE_WINDOW:
                rest = self._matches().exclude(head).order_by(*NEWEST).values_list("pk", flat=True)
                ids += list(rest[: RESCORE_WINDOW - len(ids)])
                head = None
            # Fewer than a window's worth, with every kind fetched: that is every match.
            complete = head is None and len(ids) < RESCORE_WINDOW
            total = len(ids) if complete else self._matches()[: COUNT_LIMIT + 1].count()
        if self.pinned:  # a relaxed search: the matches holding every word stay in the window
            ids = [*self.pinned, *(pk for pk in ids if pk not in set(self.pinned))][:RESCORE_WINDOW]
        self._first = (total, ids)
        return self._first

    # --- The sequence

    def count(self) -> int:
        """How many results can be shown: every match, up to ``COUNT_LIMIT``."""
        return min(self._first_pass()[0], COUNT_LIMIT)

    @property
    def capped(self) -> bool:
        """Whether more than ``COUNT_LIMIT`` postmortems match (only that many are shown)."""
        return self._first_pass()[0] > COUNT_LIMIT

    def __len__(self) -> int:
        return self.count()

    def __iter__(self):
        for start in range(0, self.count(), 100):
            yield from self[start : start + 100]

    def __getitem__(self, key):
        if isinstance(key, int):
            return self[key : key + 1][0]
        start, stop, _ = key.indices(self.count())
        if start >= stop:
            return []
        rows = []
        if start < RESCORE_WINDOW:
            rows += self._window_rows(start, min(stop, RESCORE_WINDOW))
        if stop > RESCORE_WINDOW:
            rows += self._rows_beyond(max(start, RESCORE_WINDOW), stop)
        return rows

    @cached_property
    def _window(self) -> list[tuple[int, float | None]]:
        """The window's ids in their final order, with their rank (``None`` when not ranked):
        re-ranked on all the text each reader may search, in one query on the documents."""
        ids = self._first_pass()[1]
        if not self._ranked:
            return [(pk, None) for pk in ids]
        rank = self._match.rank(self._insiders.access)
        documents = PostmortemSearchDocument.objects.filter(_pk_in(ids)).annotate(rank=rank)
        return list(documents.order_by(F("rank").desc(), *NEWEST).values_list("pk", "rank"))

    def _rows(self, ranked_ids: list[tuple[int, float | None]]) -> list[Postmortem]:
        """The postmortems of ``ranked_ids``, in that order, fetched through ``visible_to``
        (a document whose copied fields lag behind its postmortem shows nothing it should
        not), with ``rank``, ``full_access`` and ``public_summary``."""
        rows = self.queryset.visible_to(self.user).filter(pk__in=[pk for pk, _ in ranked_ids])
        rows = rows.select_related(*self._related[0]).prefetch_related(*self._related[1])
        rows = rows.annotate(public_summary=F("search_document__summary"))
        if self._match is None:
            rows = rows.with_full_access(self.user)
        else:
            inside = self._insiders.access
            access = Value(inside) if isinstance(inside, bool) else ExpressionWrapper(_pk_in(inside), BooleanField())
            rows = rows.annotate(full_access=access)
        found = {pm.pk: pm for pm in rows}
        page = []
        for pk, rank in ranked_ids:
            if pk in found:
                found[pk].rank = rank
                page.append(found[pk])
        return page

    def _window_rows(self, start: int, stop: int) -> list[Postmortem]:
        """Rows ``start:stop`` of the window."""
        return self._rows(self._window[start:stop])

    def _rows_beyond(self, start: int, stop: int) -> list[Postmortem]:
        """Rows past the window, in the first pass's order (the pinned rows, all in the window,
        left out)."""
        documents, shift = self._documents(), len(self.pinned)
        if shift:
            documents = documents.exclude(pk__in=self.pinned)
        with _through_indexes():
            ids = list(documents.values_list("pk", flat=True)[start - shift : stop - shift])
        return self._rows([(pk, None) for pk in ids])


def _rarity(results: SearchResults, parsed: ParsedQuery) -> tuple[float, ...]:
    """How rare each required group of ``parsed`` is among ``results``' candidates (on their
    public text), as an inverse document frequency scaled below 1 / the number of groups.
    A count per group and one of the candidates, each answered by an index."""
    with _through_indexes():
        total = results._candidates().count()
        held = [
            results._candidates().filter(_engine_match(ParsedQuery(required=(group,))).public()).count()
            for group in parsed.required
        ]
    idf = [math.log((total + 1) / (n + 1)) for n in held]
    top = max(idf) or 1.0
    return tuple(0.99 * max(value, 0.0) / top / len(idf) for value in idf)


def search_postmortems(
    user, query: str | ParsedQuery = "", *, queryset=None, documents: Q | None = None, order: str = "relevance"
) -> SearchResults:
    """Postmortems ``user`` may read matching ``query``, ordered by relevance (best first) or
    date (newest first), ties broken by id.

    ``queryset`` narrows the candidates (the archive's filters) and ``documents`` narrows
    them by the fields the search documents copy (``status``, ``visibility``,
    ``published_at``), which costs no join; visibility is always applied here. An empty
    query lists the newest published first (drafts, unpublished, come first). Each row
    matches and ranks on the text its reader may see: all of it for readers with full
    access, the public text otherwise.
    """
    parsed = query if isinstance(query, ParsedQuery) else parse_query(query)
    results = SearchResults(user, parsed, queryset=queryset, documents=documents, order=order)
    if len(parsed.required) < 2 or not parsed.strict or results.count() >= RELAX_BELOW:
        return results
    # Few postmortems hold every word: those that hold most of them follow (they rank below,
    # as holding fewer words), or, when none does, those that hold any.
    words = len(parsed.required)
    rarity = _rarity(results, parsed)
    for least in sorted({words - max(1, words // 3), 1}, reverse=True):
        relaxed = parsed.relaxed(least, rarity)
        relaxed = SearchResults(user, relaxed, queryset=queryset, documents=documents, order=order)
        relaxed.pinned = results._first_pass()[1]
        if relaxed.count() > results.count():
            relaxed.every_word = results.count()
            return relaxed
    return results


# --- Snippets -------------------------------------------------------------------------------


_MARKED = re.compile(f"{MARK_START}([^{MARK_START}{MARK_END}]*){MARK_END}")


def highlight(text: str, *, words: int | None = None) -> SafeString:
    """A quote of Markdown ``text`` as one line of its words (none of its syntax; the first
    ``words`` only, if given), escaped, with the engine's match markers turned into ``<mark>``
    (a marker without its pair dropped)."""
    plain = markdown_text(text)
    escaped = escape(_shorten(plain, words) if words else plain)
    marked = _MARKED.sub(r"<mark>\1</mark>", escaped).replace(MARK_START, "").replace(MARK_END, "")
    return mark_safe(marked)  # noqa: S308 - escaped above


def _postgres_snippets(ids_by_access: dict[bool, list[int]], parsed: ParsedQuery) -> dict[int, str]:
    sep = Value("\n")
    query = _tsquery(parsed)
    public = Concat("summary", sep, "body", sep, "extra", output_field=TextField())
    full = Concat("summary", sep, "body", sep, "extra", sep, "internal", output_field=TextField())
    # A summary that holds the whole query is quoted on its own: the best place for the
    # snippet, and a tenth of the text to parse.
    in_summary = SearchVectorExact(SearchVector("summary", config=settings.SEARCH_CONFIG), query)
    headline = SearchHeadline(
        Case(
            When(in_summary, then=F("summary")),
            When(postmortem_id__in=ids_by_access[True], then=full),
            default=public,
            output_field=TextField(),
        ),
        query,
        config=settings.SEARCH_CONFIG,
        start_sel=MARK_START,
        stop_sel=MARK_END,
        max_words=30,
        min_words=12,
        max_fragments=2,
        fragment_delimiter=" … ",
    )
    rows = PostmortemSearchDocument.objects.filter(postmortem_id__in=sum(ids_by_access.values(), []))
    return dict(rows.annotate(snippet=headline).values_list("postmortem_id", "snippet"))


def _sqlite_snippets(ids_by_access: dict[bool, list[int]], parsed: ParsedQuery) -> dict[int, str]:
    snippets: dict[int, str] = {}
    for full_access, ids in ids_by_access.items():
        if not ids:
            continue
        columns = FTS_SNIPPET_COLUMNS + ((FTS_INTERNAL_COLUMN,) if full_access else ())
        calls = ", ".join(f"snippet({FTS_TABLE}, {col}, %s, %s, ' … ', 24)" for col in columns)
        marks = ", ".join("%s" for _ in ids)
        sql = f"SELECT rowid, {calls} FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid IN ({marks})"
        params = [MARK_START, MARK_END] * len(columns) + [fts_expression(parsed, public_only=not full_access), *ids]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for rowid, *candidates in cursor.fetchall():
                texts = [c for c in candidates if c and c.strip()]
                snippets[rowid] = next((c for c in texts if MARK_START in c), texts[0] if texts else "")
    return snippets


def attach_snippets(postmortems: list[Postmortem], parsed: ParsedQuery) -> None:
    """Set ``snippet`` (safe HTML) on each of ``postmortems`` (from ``search_postmortems``):
    matches highlighted, quoted only from text its reader may see. One or two queries."""
    if not postmortems:
        return
    if not parsed:
        for pm in postmortems:
            pm.snippet = highlight(pm.public_summary or "", words=40)
        return
    ids_by_access = {True: [], False: []}
    for pm in postmortems:
        ids_by_access[bool(pm.full_access)].append(pm.pk)
    build = _postgres_snippets if connection.vendor == "postgresql" else _sqlite_snippets
    found = build(ids_by_access, parsed)
    for pm in postmortems:
        pm.snippet = highlight(found.get(pm.pk) or "")


def _shorten(text: str, words: int = 40) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


# --- Around the search ------------------------------------------------------------------------


def similar_query(postmortem: Postmortem) -> ParsedQuery:
    """Any of the distinctive words of ``postmortem``'s incident title and public summary (as
    indexed: its internal sections never feed the panel, whoever is reading). Not its labels
    (tags, services, teams, categories): every postmortem of a team shares those."""
    document = getattr(postmortem, "search_document", None)
    title = postmortem.incident.title
    text = f"{title} {document.summary}" if document else title
    seen: dict[str, None] = {}
    for word in re.findall(r"[^\W\d_][\w'-]{2,}", text.lower()):
        if word not in STOP_WORDS:
            seen.setdefault(word, None)
    terms = tuple(Term(word) for word in list(seen)[:12])
    return ParsedQuery(required=(terms,) if terms else ())


def similar_postmortems(postmortem: Postmortem, user, *, limit: int = 5) -> list[Postmortem]:
    """Published postmortems ``user`` may read that share the most words with ``postmortem``."""
    parsed = similar_query(postmortem)
    if not parsed:
        return []
    candidates = Q(status=Postmortem.Status.PUBLISHED) & ~Q(pk=postmortem.pk)
    results = search_postmortems(user, parsed, documents=candidates).select_related("incident__severity")
    return list(results[:limit])


# --- The archive page -------------------------------------------------------------------------

PAGE_SIZE = 20


def archive_page(user, params) -> dict:
    """What the archive shows ``user`` for the GET parameters ``params``: the filters (with any
    errors), the parsed query and its notices, and one page of results with snippets and the
    open action-item count. A fixed number of queries, whatever the page holds."""
    from actions.models import ActionItem

    from .filters import PostmortemArchiveFilter

    filterset = PostmortemArchiveFilter(params, queryset=Postmortem.objects.all())
    parsed = parse_query(params.get("q", ""))
    # The select starts on relevance, so a search typed into the box is ranked; without
    # words to find there is nothing to rank, and the list is newest first.
    sort = params.get("sort") if params.get("sort") in ORDERS else "relevance"
    order = sort if parsed else "date"
    results = (
        search_postmortems(user, parsed, queryset=filterset.qs, order=order)
        .select_related("incident__severity", "incident__cause_category")
        .prefetch_related("incident__services", "incident__tags")
    )
    page = Paginator(results, PAGE_SIZE).get_page(params.get("page"))
    page.object_list = list(page.object_list)
    attach_snippets(page.object_list, results.parsed)
    open_items = dict(
        ActionItem.objects.open()
        .filter(postmortem__in=[pm.pk for pm in page.object_list])
        .values_list("postmortem")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for pm in page.object_list:
        pm.open_action_count = open_items.get(pm.pk, 0)
    suggestion = did_you_mean(user, parsed) if parsed and not page.paginator.count else None
    return {
        "filterset": filterset,
        "parsed": parsed,
        "every_word": results.every_word,
        "suggestion": suggestion,
        "order": order,
        "sort": sort,
        "orders": ORDERS,
        "page": page,
    }


# Titles and summaries read for "Did you mean": the newest this many the reader may see.
VOCABULARY_DOCUMENTS = 2000


def did_you_mean(user, parsed: ParsedQuery) -> str | None:
    """For a search that found nothing, the same words spelled as the titles and summaries
    ``user`` may read spell them, where one is close (``None`` when none is)."""
    documents = SearchResults(user, ParsedQuery())._candidates().order_by(*NEWEST)
    vocabulary = set()
    for title, summary in documents.values_list("title", "summary")[:VOCABULARY_DOCUMENTS]:
        vocabulary.update(re.findall(r"[^\W\d_]{3,}", f"{title} {summary}".lower()))
    changed, words = False, []
    for group in parsed.required:
        word = group[0].text
        close = (
            []
            if group[0].phrase or word.lower() in vocabulary
            else difflib.get_close_matches(word.lower(), vocabulary, n=1, cutoff=0.75)
        )
        changed |= bool(close)
        words.append(close[0] if close else (f'"{word}"' if group[0].phrase else word))
    words += [f'-"{t.text}"' if t.phrase else f"-{t.text}" for t in parsed.excluded]
    return " ".join(words) if changed else None


def feed_items(user, *, limit: int = 30) -> list[Postmortem]:
    """The newest published postmortems ``user`` may read, for their Atom feed."""
    published = Q(status=Postmortem.Status.PUBLISHED)
    return list(search_postmortems(user, "", documents=published, order="date").select_related("incident")[:limit])
