"""What the archive's pages show around a search: the archive page's data (filters, one page
of results with snippets, "Did you mean"), the similar-postmortems panel and the Atom feed."""

from __future__ import annotations

import difflib
import re

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Q
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ..markdown import markdown_text
from ..models import Postmortem
from ..search_index import MARK_END, MARK_START
from .postgres import _postgres_snippets
from .query import STOP_WORDS, ParsedQuery, Term, parse_query
from .results import NEWEST, SearchResults, search_postmortems
from .sqlite import _sqlite_snippets

ORDERS = {"relevance": "Relevance", "date": "Newest first"}


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

    from ..filters import PostmortemArchiveFilter

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
