"""Archive search: parse what the user typed, find the postmortems they may read, rank them,
and build highlighted snippets from the text they may see.

One query syntax on both databases, parsed in ``query``; compiled to a ``tsquery`` on
PostgreSQL (``postgres``: each term through ``plainto_tsquery``/``phraseto_tsquery``) and to
an FTS5 expression on SQLite (``sqlite``: every term quoted), so user input never reaches
either engine's own syntax. ``results`` runs the search; ``page`` builds what the archive
page, the similar-postmortems panel and the feed show.

Who may read what comes from ``postmortems.querysets`` only: ``visible_to`` picks the rows,
``with_full_access`` decides per row whether the internal sections (kept apart in the
search document) may match and be quoted in a snippet.

The names other modules import are re-exported here: import from ``postmortems.search``.
"""

from .page import (
    ORDERS,
    PAGE_SIZE,
    archive_page,
    attach_snippets,
    did_you_mean,
    feed_items,
    highlight,
    similar_postmortems,
    similar_query,
)
from .postgres import PG_WEIGHTS, phrase_pairs
from .query import MAX_QUERY_LENGTH, MAX_TERMS, STOP_WORDS, ParsedQuery, Term, parse_query
from .results import SearchResults, search_postmortems
from .sqlite import FTS_WEIGHTS, fts_expression

__all__ = [
    "FTS_WEIGHTS",
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "ORDERS",
    "PAGE_SIZE",
    "PG_WEIGHTS",
    "STOP_WORDS",
    "ParsedQuery",
    "SearchResults",
    "Term",
    "archive_page",
    "attach_snippets",
    "did_you_mean",
    "feed_items",
    "fts_expression",
    "highlight",
    "parse_query",
    "phrase_pairs",
    "search_postmortems",
    "similar_postmortems",
    "similar_query",
]
