"""Searching on SQLite: the parsed query as an FTS5 expression (every term quoted, so user
input never reaches FTS5's own syntax), ranked with bm25 and a nearness bonus, quoted with
FTS5's ``snippet``."""

from __future__ import annotations

from django.db import connection
from django.db.models import BooleanField, Case, Expression, ExpressionWrapper, F, FloatField, Q, Value, When
from django.db.models.expressions import RawSQL

from ..search_index import FTS_TABLE, MARK_END, MARK_START
from .matching import _Match, _per_reader
from .query import ParsedQuery, Term, _at_least

# bm25 column weights, in the FTS5 table's column order: title, summary, body, extra, internal.
FTS_WEIGHTS = "10.0, 5.0, 2.0, 1.0, 2.0"
FTS_PUBLIC_COLUMNS = "{title summary body extra}"
# Snippet sources in order of preference, as FTS5 column numbers; internal (4) only with full access.
FTS_SNIPPET_COLUMNS = (1, 2, 3)
FTS_INTERNAL_COLUMN = 4


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
