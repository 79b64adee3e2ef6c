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

import re
import unicodedata
from dataclasses import dataclass, field
from functools import reduce
from operator import and_, or_

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVectorField
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

from .models import Postmortem
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
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "after",
        "before",
        "during",
        "when",
        "while",
        "not",
        "no",
        "we",
        "our",
        "they",
    ]
)


# --- The query language -------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    """``required``: every group must match, a group by any of its terms; ``excluded``: none may."""

    required: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    notices: tuple[str, ...] = field(default=(), compare=False)

    def __bool__(self) -> bool:
        return bool(self.required)

    def words(self) -> list[str]:
        return [term.text for group in self.required for term in group]


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
        if bare.startswith("-") and len(bare) > 1:
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
    if excluded and not required:
        notices.append("Add a word to search for: excluding words (-word) only narrows a search.")
    return ParsedQuery(tuple(tuple(g) for g in required), tuple(excluded), tuple(notices))


def _first_terms(required: list[list[Term]], excluded: list[Term]) -> tuple[list[list[Term]], list[Term]]:
    budget = MAX_TERMS
    kept = []
    for group in required:
        if budget <= 0:
            break
        kept.append(group[:budget])
        budget -= len(kept[-1])
    return kept, excluded[: max(budget, 0)]


def _tsquery(parsed: ParsedQuery) -> SearchQuery:
    config = settings.SEARCH_CONFIG

    def term(t: Term) -> SearchQuery:
        return SearchQuery(t.text, search_type="phrase" if t.phrase else "plain", config=config)

    query = reduce(and_, (reduce(or_, map(term, group)) for group in parsed.required))
    for t in parsed.excluded:
        query &= ~term(t)
    return query


def _fts_string(term: Term) -> str:
    return '"' + term.text.replace('"', '""') + '"'


def fts_expression(parsed: ParsedQuery, *, public_only: bool) -> str:
    """The FTS5 MATCH expression; ``public_only`` keeps internal sections out of matching."""
    groups = ["(" + " OR ".join(map(_fts_string, group)) + ")" for group in parsed.required]
    expression = " AND ".join(groups)
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


@dataclass(frozen=True)
class _Match:
    """How one engine matches and ranks a query: on all text, or on the public text only."""

    full: Q
    public: Q
    full_rank: Expression
    public_rank: Expression
    aliases: dict = field(default_factory=dict)

    def where(self, insiders: bool | list[int]) -> Q:
        """Rows matching on all their text for ``insiders`` (ids, or every row), on their public
        text otherwise."""
        if isinstance(insiders, bool):
            return self.full if insiders else self.public
        inside = Q(pk__in=insiders)
        return (inside & self.full) | (~inside & self.public)


@dataclass(frozen=True)
class _PostgresMatch(_Match):
    """Matches in forms the planner answers from the indexes on the search documents (the GIN
    index of each vector expression, the primary key for the few insiders' rows), so the full
    vector is built only for insiders' rows and no filter is evaluated row by row over the
    whole archive."""

    query: SearchQuery | None = None
    excludes: bool = False

    def where(self, insiders: bool | list[int]) -> Q:
        from .models import PostmortemSearchDocument

        documents = PostmortemSearchDocument.objects.order_by()
        public = documents.filter(public_vector=self.query)
        full = documents.alias(full_vector=_full_vector("")).filter(full_vector=self.query)
        if isinstance(insiders, bool):
            return Q(pk__in=(full if insiders else public).values("postmortem_id"))
        if not self.excludes:
            # A row matching on its public text matches on all of it too, and ``insiders`` are
            # the insiders' rows matching on all of it: one bitmap OR of two indexes.
            return self.public | Q(search_document__postmortem_id__in=insiders)
        outsiders = public.exclude(postmortem_id__in=insiders).values("postmortem_id")
        full = full.filter(postmortem_id__in=insiders).values("postmortem_id")
        return Q(pk__in=outsiders.union(full, all=True))


def _full_vector(prefix: str) -> CombinedExpression:
    public, internal = F(f"{prefix}public_vector"), F(f"{prefix}internal_vector")
    return CombinedExpression(public, "||", internal, output_field=SearchVectorField())


def _postgres_match(parsed: ParsedQuery) -> _Match:
    query = _tsquery(parsed)
    public = F("search_document__public_vector")
    full = _full_vector("search_document__")

    def rank(vector):
        return SearchRank(vector, query, weights=PG_WEIGHTS, cover_density=False)

    return _PostgresMatch(
        full=Q(full_vector=query),  # the expression GIN index
        public=Q(search_document__public_vector=query),
        full_rank=rank(full),
        public_rank=rank(public),
        aliases={"full_vector": full},
        query=query,
        excludes=bool(parsed.excluded),
    )


def _sqlite_match(parsed: ParsedQuery) -> _Match:
    def matching(public_only: bool) -> Q:
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
        return Q(pk__in=RawSQL(sql, [fts_expression(parsed, public_only=public_only)]))

    def rank(public_only: bool) -> Expression:
        score = _FtsRowQuery(fts_expression(parsed, public_only=public_only))
        near = _fts_nearness(parsed, public_only=public_only)
        if near is None:
            return score
        bonus = Case(When(_FtsRowQuery(near, exists=True), then=Value(2.0)), default=Value(1.0))
        return ExpressionWrapper(score * bonus, output_field=FloatField())

    return _Match(full=matching(False), public=matching(True), full_rank=rank(False), public_rank=rank(True))


def _insiders(user, parsed: ParsedQuery, match: _Match) -> bool | list[int]:
    """Per row: may ``user`` search (and be quoted) its internal text? ``True`` or ``False``
    for every row alike, or the ids (never empty) of the matching rows where the answer is yes.

    ``with_full_access`` decides. It is asked only about postmortems with internal text that
    match on all their text (or, when the query excludes words, on their public text: the
    internal text may hold an excluded word), in one query, so its cost follows those few
    rows rather than the archive's size; the answer enters the search as a constant list.
    """
    annotation = Postmortem.objects.with_full_access(user).query.annotations["full_access"]
    if isinstance(annotation, Value):  # admins and anonymous visitors: the same for every row
        return bool(annotation.value)
    ids = list(
        Postmortem.objects.alias(**match.aliases)
        .filter(match.full | match.public if parsed.excluded else match.full, search_document__has_internal=True)
        .with_full_access(user)
        .filter(full_access=True)
        .values_list("pk", flat=True)
    )
    return ids or False


def search_postmortems(user, query: str | ParsedQuery = "", *, queryset=None, order: str = "relevance") -> QuerySet:
    """Postmortems ``user`` may read matching ``query``, annotated with ``full_access`` and
    ``rank`` (None without a query) and ordered by relevance or date, ties broken by id.

    ``queryset`` narrows the candidates (filters); visibility is always applied here.
    An empty query lists the newest published first (drafts, unpublished, come first).
    With a query, who may search which internal text is asked here, in one query.
    Each row matches and ranks on the text its reader may see: all of it for readers
    with full access, the public text otherwise.
    """
    parsed = query if isinstance(query, ParsedQuery) else parse_query(query)
    base = queryset if queryset is not None else Postmortem.objects.all()
    results = base.visible_to(user).annotate(public_summary=F("search_document__summary"))
    newest = [F("published_at").desc(nulls_first=True), F("pk").desc()]
    if not parsed:
        results = results.with_full_access(user).annotate(rank=Value(None, output_field=FloatField()))
        return results.order_by(*newest)
    match = (_postgres_match if connection.vendor == "postgresql" else _sqlite_match)(parsed)
    # Insiders' rows match and rank on all their text, the others on their public text only.
    insiders = _insiders(user, parsed, match)
    results = results.alias(**match.aliases).filter(match.where(insiders))
    if isinstance(insiders, bool):
        results = results.annotate(full_access=Value(insiders), rank=match.full_rank if insiders else match.public_rank)
    else:
        inside = Q(pk__in=insiders)
        results = results.annotate(
            full_access=ExpressionWrapper(inside, output_field=BooleanField()),
            rank=Case(When(inside, then=match.full_rank), default=match.public_rank, output_field=FloatField()),
        )
    return results.order_by(*newest) if order == "date" else results.order_by(F("rank").desc(), *newest)


# --- Snippets -------------------------------------------------------------------------------


def highlight(text: str) -> SafeString:
    """Escape ``text``, then turn the engine's match markers into ``<mark>``."""
    escaped = escape(text)
    return mark_safe(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))  # noqa: S308


def _postgres_snippets(ids_by_access: dict[bool, list[int]], parsed: ParsedQuery) -> dict[int, str]:
    from .models import PostmortemSearchDocument

    sep = Value("\n")
    public = Concat("summary", sep, "body", sep, "extra", output_field=TextField())
    full = Concat("summary", sep, "body", sep, "extra", sep, "internal", output_field=TextField())
    headline = SearchHeadline(
        Case(When(postmortem_id__in=ids_by_access[True], then=full), default=public),
        _tsquery(parsed),
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
            pm.snippet = highlight(_shorten(pm.public_summary or ""))
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
    """Any of the distinctive words of ``postmortem``'s public title, tags and summary (as indexed:
    its internal sections never feed the panel, whoever is reading)."""
    document = getattr(postmortem, "search_document", None)
    text = f"{document.title} {document.summary}" if document else postmortem.incident.title
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
    candidates = Postmortem.objects.filter(status=Postmortem.Status.PUBLISHED).exclude(pk=postmortem.pk)
    results = search_postmortems(user, parsed, queryset=candidates).select_related("incident__severity")
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
    order = params.get("sort") if params.get("sort") in ORDERS else ("relevance" if parsed else "date")
    results = (
        search_postmortems(user, parsed, queryset=filterset.qs, order=order)
        .select_related("incident__severity", "incident__cause_category")
        .prefetch_related("incident__services", "incident__tags")
    )
    page = Paginator(results, PAGE_SIZE).get_page(params.get("page"))
    page.object_list = list(page.object_list)
    attach_snippets(page.object_list, parsed)
    open_items = dict(
        ActionItem.objects.open()
        .filter(postmortem__in=[pm.pk for pm in page.object_list])
        .values_list("postmortem")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for pm in page.object_list:
        pm.open_action_count = open_items.get(pm.pk, 0)
    return {"filterset": filterset, "parsed": parsed, "order": order, "orders": ORDERS, "page": page}


def feed_items(user, *, limit: int = 30) -> list[Postmortem]:
    """The newest published postmortems ``user`` may read, for their Atom feed."""
    published = Postmortem.objects.filter(status=Postmortem.Status.PUBLISHED)
    return list(search_postmortems(user, "", queryset=published, order="date").select_related("incident")[:limit])
