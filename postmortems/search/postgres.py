"""Searching on PostgreSQL: the parsed query as a ``tsquery``, matches answered by the GIN
indexes of the search documents' vectors (and of their word pairs, for phrases), ranked with
``ts_rank``, quoted with ``ts_headline``."""

from __future__ import annotations

from contextlib import contextmanager
from functools import reduce
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
from django.db import connection
from django.db.models import BooleanField, Case, Expression, ExpressionWrapper, F, FloatField, Q, TextField, Value, When
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Concat

from ..models import PostmortemSearchDocument
from ..search_index import MARK_END, MARK_START
from .matching import _Match, _per_reader
from .query import ParsedQuery, Term, _at_least

# ts_rank weights for D (timeline, action items), C (body), B (summary), A (title, tags).
PG_WEIGHTS = [0.1, 0.2, 0.6, 1.0]


def _tsquery(parsed: ParsedQuery, *, as_words: frozenset[Term] = frozenset(), loose: bool = False) -> SearchQuery:
    """``parsed`` as a ``tsquery``; the required phrases in ``as_words`` (every phrase, if
    ``loose``) as their words only (for a match whose word order another condition checks)."""
    config = settings.SEARCH_CONFIG

    def term(t: Term, alone: bool = False) -> SearchQuery:
        if t.prefix:  # a plain word of letters and digits only: nothing for to_tsquery to parse
            return SearchQuery(f"{t.text}:*", search_type="raw", config=config)
        phrase = t.phrase and not loose and not (alone and t in as_words)
        return SearchQuery(t.text, search_type="phrase" if phrase else "plain", config=config)

    def group(terms: tuple[Term, ...]) -> SearchQuery:
        return term(terms[0], alone=True) if len(terms) == 1 else reduce(or_, map(term, terms))

    query = _at_least(list(map(group, parsed.required)), parsed.least, and_, or_)
    for t in parsed.excluded:
        query &= ~term(t)
    return query


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

    def internal_candidates(self) -> tuple[Q, Q] | None:
        # With phrases, the planner answers ``internal_full`` from the pairs' index alone and
        # then reads every candidate's full vector (a tenth of a second for a common pair); the
        # full vector's own index gives the candidates without reading one, and only the
        # reader's rows then have their (small) pairs vector read.
        if self.pairs is not None:
            words = Q(SearchVectorExact(_full_vector(), self.words_query), has_internal=True)
            return words, Q(_TsMatch(F("full_pairs_vector"), self.pairs))
        # Phrases among alternatives (a synonym's) have no pairs to look up: a phrase makes the
        # index recheck every candidate's full vector, the reader's or not (a third of a second
        # for "connection pool" at 100,000 postmortems). Their words alone are a necessary
        # condition the index answers by itself; the phrases are then checked on the reader's
        # rows only.
        if not any(t.phrase for group in self.parsed.required for t in group):
            return None
        words = Q(SearchVectorExact(_full_vector(), _tsquery(self.parsed, loose=True)), has_internal=True)
        return words, Q(SearchVectorExact(_full_vector(), self.query))

    def first_rank(self, access: bool | list[int]) -> Expression:
        return self._ts_rank(F("head_vector"))

    def head_words(self) -> Q:
        return Q(head_vector=self.query)

    def rank(self, access: bool | list[int], prefix: str = "") -> Expression:
        return _per_reader(access, self._ts_rank(_full_vector(prefix)), self._ts_rank(F(f"{prefix}public_vector")))


@contextmanager
def _through_indexes():
    """On PostgreSQL, plan the enclosed queries without sequential scans.

    The planner does not count the cost of reading a long, out-of-line vector: on the
    narrow documents table, a scan testing every row's vector looks cheaper than the GIN
    index for a common word, and takes ten times as long. The setting is this session's (a
    rollback undoes it too) and its previous value is restored on the way out: one
    statement each way, none for a block inside another (the outer one restores it)."""
    if connection.vendor != "postgresql" or getattr(connection, "seqscan_off", False):
        yield
        return
    connection.seqscan_off = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', false)")
            (previous, _) = cursor.fetchone()
            try:
                yield
            finally:
                cursor.execute("SELECT set_config('enable_seqscan', %s, false)", [previous])
    finally:
        connection.seqscan_off = False


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
