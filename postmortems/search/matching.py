"""What both engines' matches share: the base class of a match, the reader's access to
internal text (``_Insiders``), and the id lists that enter a search as one parameter."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db.models import BooleanField, Case, Expression, F, FloatField, Q, QuerySet, When

from .query import ParsedQuery


class AnyOf(Expression):
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
    return Q(AnyOf(F("pk"), ids))


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

    def internal_candidates(self) -> tuple[Q, Q] | None:
        """``internal_full`` split in two: a necessary condition that one index answers on its
        own, and the rest, cheap to test row by row (``None``: keep ``internal_full`` whole)."""
        return None

    def rank(self, access: bool | list[int], prefix: str = "") -> Expression:
        raise NotImplementedError

    def first_rank(self, access: bool | list[int]) -> Expression:
        return self.rank(access)

    def head_words(self) -> Q | None:
        """Documents whose title and summary match the whole query, which the first pass puts
        first (``None``: the first rank ranks every match)."""
        return None

    def condition(self, insiders: _Insiders) -> Q:
        """Documents that match, each on the text its reader may search."""
        if isinstance(insiders.access, bool):
            return self.full() if insiders.access else self.public()
        # Literal lists: the planner ORs their primary-key lookups with the GIN index's matches.
        condition = self.public() | Q(pk__in=insiders.add) if insiders.add else self.public()
        return condition & ~Q(pk__in=insiders.remove) if insiders.remove else condition

    def where(self, documents: QuerySet, insiders: _Insiders) -> QuerySet:
        """``documents`` that match, each on the text its reader may search."""
        return documents.filter(self.condition(insiders))
