"""The search itself, engine-neutral: the postmortems a reader may read that match a parsed
query, counted and ranked in two passes (``SearchResults``), relaxed to most of the words
when few hold them all (``search_postmortems``)."""

from __future__ import annotations

import copy
import math
from functools import cached_property

from django.db import connection
from django.db.models import BooleanField, Case, ExpressionWrapper, F, FloatField, Q, QuerySet, Value, When

from accounts.access import is_active_user

from ..models import Postmortem, PostmortemSearchDocument
from .matching import _Insiders, _Match, _pk_in
from .postgres import _PostgresMatch, _through_indexes
from .query import ParsedQuery, parse_query
from .sqlite import _SqliteMatch

# --- Searching ------------------------------------------------------------------------------
#
# A search runs in two passes. The first reads the search documents alone (on PostgreSQL a
# narrow heap: the long values live out of line): every match the reader may see, counted,
# and ordered by a cheap first rank (on PostgreSQL the title-and-summary vector, which is
# small and stored inline; on SQLite bm25, which FTS5 computes from its own index). The
# first ``RESCORE_WINDOW`` of them are then re-ranked on all the text their reader may
# search, the way search engines rescore their top hits; matches beyond the window keep the
# first pass's order. A search with fewer matches than the window is ranked on all its text
# exactly. The page itself is always fetched through the visibility rule on the postmortems'
# own fields, so a document whose copied fields lag behind its postmortem can never show what
# it should not. The rule is asked once per search (``SearchResults.visible``).

# Matches re-ranked on all their text: ten pages of results.
RESCORE_WINDOW = 200
# Matches counted and shown, at most: fifty pages. A search matching more says so.
COUNT_LIMIT = 1000
NEWEST = [F("published_at").desc(nulls_first=True), F("pk").desc()]


def _find_insiders(user, match: _Match) -> _Insiders:
    """Which matching rows ``user`` may search (and be quoted) in full, and how that changes
    the matches, in one query: over the reader's own documents with internal text that match
    on all of it (found through a GIN index, never a row-by-row test of every document's
    vectors), whether each also matches on its public text. The answer enters the search as
    constant lists, which keeps every match there decided by the indexes."""
    condition = Postmortem.objects.full_access_q(user)
    if isinstance(condition, bool):  # admins and anonymous visitors: the same for every row
        return _Insiders(access=condition)

    def answer(question: Q) -> ExpressionWrapper:
        return ExpressionWrapper(question, output_field=BooleanField())

    # The reader's rows only, as a CASE (which the planner keeps a filter, after the index):
    # the vectors named in the select list are read for those rows alone.
    readers = Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())
    documents = PostmortemSearchDocument.objects.order_by().filter(readers)
    documents = documents.annotate(on_public=answer(match.public()))
    if match.parsed.excluded:  # the internal text may hold an excluded word: ask both ways
        documents = documents.filter(match.internal_full() | Q(match.public(), has_internal=True))
        rows = documents.annotate(on_full=answer(match.internal_full()))
    elif (split := match.internal_candidates()) is not None:
        candidates, rest = split
        rows = documents.filter(candidates).annotate(on_full=answer(rest))
    else:
        rows = documents.filter(match.internal_full()).annotate(on_full=Value(True))
    with _through_indexes():
        found = list(rows.values_list("pk", "on_full", "on_public"))
    full = {pk for pk, on_full, _ in found if on_full}
    public = {pk for pk, _, on_public in found if on_public}
    return _Insiders(access=sorted(full), add=tuple(sorted(full - public)), remove=tuple(sorted(public - full)))


# The newest-first rest of the window is first looked for among this many of the newest
# candidates, each tested on its (out-of-line) vector; past them, through the GIN indexes.
NEWEST_WALK = 1500


def _newest(candidates: QuerySet, match: Q, limit: int) -> list[int]:
    """The ids of the newest ``limit`` of ``candidates`` that satisfy ``match`` (PostgreSQL), in
    one statement that finds them one of two ways. Walking the candidates newest first tests
    each one's vector, read out of line (about 5 us a row): quick for a common word, slow for a
    rarer one (thousands of rows for 100). The GIN indexes give every match at once, then
    sorted: quick for a rarer word, slow for a common one (every match's row, or every
    match's vector when a phrase must be checked). The planner, which counts neither vector
    read, picks one by its estimate of the matches, often five times off. So the walk goes
    first, over the newest ``NEWEST_WALK`` candidates at most, and only when it finds fewer
    than ``limit`` do the indexes run (an InitPlan's one-time filter: not otherwise)."""
    hit = Case(When(match, then=Value(True)), default=Value(False), output_field=BooleanField())
    walk = candidates.annotate(hit=hit).order_by(*NEWEST).values_list("pk", "published_at", "hit")[:NEWEST_WALK]
    walk_sql, walk_params = walk.query.sql_with_params()
    found = candidates.filter(match).values_list("pk", "published_at")
    found_sql, found_params = found.query.sql_with_params()
    order = "ORDER BY {0}.published_at DESC NULLS FIRST, {0}.pk DESC LIMIT %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH walk AS MATERIALIZED (SELECT w.pk, w.published_at FROM ({walk_sql}) AS w"
            f" WHERE w.hit {order.format('w')})"
            f" (SELECT walk.pk FROM walk WHERE (SELECT count(*) FROM walk) >= %s {order.format('walk')})"
            f" UNION ALL (SELECT m.pk FROM ({found_sql} OFFSET 0) AS m WHERE (SELECT count(*) FROM walk) < %s"
            f" {order.format('m')})",
            [*walk_params, limit, limit, limit, *found_params, limit, limit],
        )
        return [pk for (pk,) in cursor.fetchall()]


def _engine_match(parsed: ParsedQuery) -> _Match:
    return (_PostgresMatch if connection.vendor == "postgresql" else _SqliteMatch)(parsed)


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

    @cached_property
    def visible(self) -> Q | None:
        """Who may read what, for every statement of this search: asked once, the reader's
        readable rows beyond the organisation-wide published ones coming as a list."""
        if not is_active_user(self.user):
            return Q(pk__in=[])
        return Postmortem.objects.visibility_q(self.user, listed=True)

    def _readable(self, rows: QuerySet) -> QuerySet:
        """``rows`` (search documents or postmortems) that the reader may read."""
        return rows if self.visible is None else rows.filter(self.visible)

    def _build_candidates(self) -> QuerySet:
        documents = self._readable(PostmortemSearchDocument.objects.order_by())
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
                rest = self._match.condition(self._insiders) & ~head
                ids += _newest(self._candidates(), rest, RESCORE_WINDOW - len(ids))
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
        """The postmortems of ``ranked_ids``, in that order, fetched through the visibility
        rule on the postmortems' own fields (a document whose copied fields lag behind its
        postmortem shows nothing it should not), with ``rank``, ``full_access`` and
        ``public_summary``."""
        rows = self._readable(self.queryset).filter(pk__in=[pk for pk, _ in ranked_ids])
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
        relaxed.visible = results.visible  # the same reader: their visibility is not asked again
        relaxed.pinned = results._first_pass()[1]
        if relaxed.count() > results.count():
            relaxed.every_word = results.count()
            return relaxed
    return results
