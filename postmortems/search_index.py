"""Keeping the archive's search index current: one ``PostmortemSearchDocument`` per postmortem.

The document splits a postmortem's text into what every reader may see (title, summary,
body, timeline and action items) and the sections marked internal, which only readers
with full access may search. On PostgreSQL the weighted vectors are computed in the
database from the document's text; on SQLite the text is mirrored into an FTS5 table.
Who may read what is decided at query time (``postmortems.search``), never here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, QuerySet, Subquery

from .models import Postmortem, PostmortemSearchDocument

# The sections the archive searches, besides the summary (which has a weight of its own).
BODY_SECTIONS = ["impact", "root_cause", "contributing_factors", "what_went_well", "lessons"]
SEARCHED_SECTIONS = ["summary", *BODY_SECTIONS]
TEXT_COLUMNS = ["title", "summary", "body", "extra", "internal"]
# The postmortem's fields the document carries for the search's first pass.
COPIED_FIELDS = ["status", "visibility", "published_at"]
FTS_TABLE = "postmortems_search_fts"
DOCUMENT_TABLE = PostmortemSearchDocument._meta.db_table

# Snippets mark matches with these private-use characters, which are then turned into <mark>
# after escaping; they are removed from indexed text so user text can never fake a mark.
MARK_START, MARK_END = "\ue000", "\ue001"
_UNSAFE = re.compile(f"[\x00{MARK_START}{MARK_END}]")


def _clean(text: str | None) -> str:
    return _UNSAFE.sub(" ", text or "")


# Host and dotted names (``GitLab.com``, ``api.example.io``): PostgreSQL's parser keeps them
# whole, so their parts are indexed too.
_DOTTED = re.compile(r"\b[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+\b")


def host_parts(text: str) -> str:
    """The parts of every dotted name in ``text``, as words (empty when it holds none)."""
    return " ".join(part for name in _DOTTED.findall(text) for part in re.split(r"[.-]", name) if part)


def _names(manager) -> list[str]:
    return [item.name for item in manager.all()]


def document_values(postmortem: Postmortem) -> dict[str, str | bool]:
    """The text columns of ``postmortem``'s search document.

    Expects ``incident`` (with its cause category), its tags, timeline events, services and
    failure classes, and the postmortem's teams and action items to be loaded (or loads
    them, one query each).
    """
    incident = postmortem.incident
    internal = set(postmortem.internal_sections or [])
    # Tags and the names of services, teams, cause category and failure classes rank with the title.
    labels = _names(incident.tags) + _names(incident.services) + _names(postmortem.teams)
    labels += _names(incident.failure_classes) + ([incident.cause_category.name] if incident.cause_category else [])
    title = f"{incident.reference} {incident.title} {' '.join(labels)}"
    summary = "" if "summary" in internal else postmortem.summary
    body = [getattr(postmortem, name) for name in BODY_SECTIONS if name not in internal]
    hidden = [getattr(postmortem, name) for name in SEARCHED_SECTIONS if name in internal]
    extra = [event.text for event in incident.timeline_events.all()]
    extra += [f"{item.title}\n{item.description}".strip() for item in postmortem.action_items.all()]
    public_hosts = host_parts("\n".join([summary, *body, *extra]))
    values = {
        "title": f"{title} {host_parts(title)}",
        "summary": summary,
        "body": "\n\n".join(body),
        # The parts of dotted names go last, where they count least and are seldom quoted.
        "extra": "\n".join([*extra, public_hosts]),
        "internal": "\n\n".join([*hidden, host_parts("\n".join(hidden))]),
    }
    cleaned = {name: _clean(text).strip() for name, text in values.items()}
    copies = {name: getattr(postmortem, name) for name in COPIED_FIELDS}
    return {**cleaned, "has_internal": bool(cleaned["internal"]), **copies}


def _postmortems_to_index():
    return Postmortem.objects.select_related("incident__cause_category").prefetch_related(
        "incident__tags",
        "incident__timeline_events",
        "incident__services",
        "incident__failure_classes",
        "teams",
        "action_items",
    )


def _vector_sql() -> str:
    """``UPDATE`` setting both vectors from the document's text, for the rows matched by a WHERE
    clause appended by the caller."""
    parts = [("title", "A"), ("summary", "B"), ("body", "C"), ("extra", "D")]
    public = " || ".join(f"setweight(to_tsvector(%(config)s::regconfig, {col}), '{w}')" for col, w in parts)
    head = " || ".join(f"setweight(to_tsvector(%(config)s::regconfig, {col}), '{w}')" for col, w in parts[:2])
    internal = "setweight(to_tsvector(%(config)s::regconfig, internal), 'C')"
    return f"UPDATE {DOCUMENT_TABLE} SET head_vector = {head}, public_vector = {public}, internal_vector = {internal}"


def _pairs(vector: str) -> str:
    """Every pair of adjacent lexemes of ``vector``, as one lexeme "first second" (no stemmed
    lexeme holds a space): a quoted phrase is first looked up among these in a GIN index, so
    only the documents holding all its pairs are checked against their whole vector."""
    return f"""(
    SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.lexeme || ' ' || b.lexeme)), ''::tsvector)
    FROM (SELECT lexeme, unnest(positions) AS pos FROM unnest({vector})) a
    JOIN (SELECT lexeme, unnest(positions) AS pos FROM unnest({vector})) b ON b.pos = a.pos + 1)"""


# The pairs of the public text, and of all the text of documents with internal sections.
PAIRS_SQL = (
    f"UPDATE {DOCUMENT_TABLE} SET pairs_vector = {_pairs('public_vector')}, "
    f"full_pairs_vector = CASE WHEN has_internal THEN {_pairs('public_vector || internal_vector')} END"
)


def _sync_engine(pks: list[int] | None) -> None:
    """Bring the engine's structures in line with the documents' text (``None``: all of them)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            where, params = ("", {}) if pks is None else (" WHERE postmortem_id = ANY(%(pks)s)", {"pks": pks})
            cursor.execute(_vector_sql() + where, {"config": settings.SEARCH_CONFIG, **params})
            cursor.execute(PAIRS_SQL + where, params)
        elif connection.vendor == "sqlite":
            columns = ", ".join(TEXT_COLUMNS)
            if pks is None:
                cursor.execute(f"DELETE FROM {FTS_TABLE}")
                cursor.execute(
                    f"INSERT INTO {FTS_TABLE} (rowid, {columns}) SELECT postmortem_id, {columns} FROM {DOCUMENT_TABLE}"
                )
                return
            marks = ", ".join("%s" for _ in pks)
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})", pks)
            cursor.execute(
                f"INSERT INTO {FTS_TABLE} (rowid, {columns}) SELECT postmortem_id, {columns} "
                f"FROM {DOCUMENT_TABLE} WHERE postmortem_id IN ({marks})",
                pks,
            )


def _write_documents(postmortems: Iterable[Postmortem]) -> list[int]:
    docs = [PostmortemSearchDocument(postmortem_id=pm.pk, **document_values(pm)) for pm in postmortems]
    PostmortemSearchDocument.objects.bulk_create(
        docs,
        update_conflicts=True,
        unique_fields=["postmortem"],
        update_fields=[*TEXT_COLUMNS, "has_internal", *COPIED_FIELDS, "indexed_at"],
    )
    return [doc.postmortem_id for doc in docs]


def reindex_postmortem(pk: int) -> None:
    """Rebuild the search document of postmortem ``pk`` (or drop it when the postmortem is gone)."""
    postmortem = _postmortems_to_index().filter(pk=pk).first()
    with transaction.atomic():
        if postmortem is None:
            remove_from_index(pk)
            return
        _sync_engine(_write_documents([postmortem]))


def remove_from_index(pk: int) -> None:
    """Drop postmortem ``pk`` from the index."""
    PostmortemSearchDocument.objects.filter(postmortem_id=pk).delete()
    _sync_engine([pk])


def reindex_incident(incident_id: int) -> None:
    """Reindex the postmortem of incident ``incident_id``, if it has one."""
    pk = Postmortem.objects.filter(incident_id=incident_id).values_list("pk", flat=True).first()
    if pk is not None:
        reindex_postmortem(pk)


def _on_commit(func, pk) -> None:
    """Run ``func(pk)`` once the current transaction commits; a failure is logged, not raised
    (the change itself was saved, and ``rebuild_search_index`` repairs the index)."""
    if pk is not None:
        transaction.on_commit(lambda: func(pk), robust=True)


def copy_postmortem_fields(pk: int) -> None:
    """Bring the document's copies of postmortem ``pk``'s status, visibility and publication
    time up to date, in one UPDATE inside the current transaction: who may find a postmortem
    changes with the change itself, not after it commits."""
    source = Postmortem.objects.filter(pk=OuterRef("pk"))
    copies = {name: Subquery(source.values(name)[:1]) for name in COPIED_FIELDS}
    PostmortemSearchDocument.objects.filter(pk=pk).update(**copies)


# Signal receivers, connected in apps.py. Only the copied fields are written in the change's
# own transaction; the rest of the document is rebuilt after commit.

# Set by ``paused()`` for the code running inside it only (this thread or task): a web request
# served meanwhile by the same process keeps its index upkeep.
_paused: ContextVar[bool] = ContextVar("search_index_paused", default=False)


@contextmanager
def paused() -> Iterator[None]:
    """No per-change index upkeep for the changes made inside the block (an import, which
    rebuilds the index once at the end)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def _unless_paused(receiver: Callable) -> Callable:
    @wraps(receiver)
    def run(*args, **kwargs) -> None:
        if not _paused.get():
            receiver(*args, **kwargs)

    return run


@_unless_paused
def postmortem_saved(sender, instance, created=False, **kwargs) -> None:
    if not created:
        copy_postmortem_fields(instance.pk)
    _on_commit(reindex_postmortem, instance.pk)


@_unless_paused
def postmortem_deleted(sender, instance, **kwargs) -> None:
    _on_commit(reindex_postmortem, instance.pk)


@_unless_paused
def workflow_step(sender, instance, **kwargs) -> None:
    """A postmortem's workflow event: the step may have changed its status or visibility
    (the editor's conditional UPDATEs send no ``post_save`` of their own)."""
    copy_postmortem_fields(instance.postmortem_id)
    _on_commit(reindex_postmortem, instance.postmortem_id)


@_unless_paused
def part_changed(sender, instance, **kwargs) -> None:
    """An action item of a postmortem."""
    _on_commit(reindex_postmortem, instance.postmortem_id)


@_unless_paused
def incident_changed(sender, instance, **kwargs) -> None:
    _on_commit(reindex_incident, instance.pk)


@_unless_paused
def incident_part_changed(sender, instance, **kwargs) -> None:
    """A timeline event."""
    _on_commit(reindex_incident, instance.incident_id)


@_unless_paused
def incident_tags_changed(sender, instance, action, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        _on_commit(reindex_incident, instance.pk)


# The names every document of a postmortem carries beside its title, by the model that holds
# them, and how a postmortem reaches one: renaming or deleting one reindexes its carriers.
LABELS = {
    "incidents.Service": "incident__services",
    "incidents.Team": "teams",
    "incidents.CauseCategory": "incident__cause_category",
    "incidents.FailureClass": "incident__failure_classes",
}


def _carriers(label) -> QuerySet[Postmortem]:
    return Postmortem.objects.filter(**{LABELS[label._meta.label]: label.pk})


@_unless_paused
def label_saving(sender, instance, raw=False, **kwargs) -> None:
    """Before a service, team, cause category or failure class is saved: is its name changing?"""
    if instance.pk is not None and not raw:
        before = sender.objects.filter(pk=instance.pk).values_list("name", flat=True).first()
        instance._search_renamed = before is not None and before != instance.name


@_unless_paused
def label_saved(sender, instance, **kwargs) -> None:
    """A renamed label: once committed, the postmortems carrying it are reindexed by the worker."""
    if getattr(instance, "_search_renamed", False):
        instance._search_renamed = False
        carriers = _carriers(instance)
        transaction.on_commit(lambda: _reindex_later(carriers.values_list("pk", flat=True).distinct()), robust=True)


@_unless_paused
def label_deleting(sender, instance, **kwargs) -> None:
    """A deleted label: its carriers, known only before the delete, are reindexed after commit."""
    pks = list(_carriers(instance).values_list("pk", flat=True).distinct())
    if pks:
        transaction.on_commit(lambda: _reindex_later(pks), robust=True)


# A label can be carried by thousands of postmortems (20 s of reindexing at 100,000): a rename
# in the admin or the API must not wait for that, so the worker does it, this many per task.
REINDEX_TASK_SIZE = 500


def _reindex_later(pks) -> None:
    from .tasks import reindex_postmortems

    pks = sorted(pks)
    for start in range(0, len(pks), REINDEX_TASK_SIZE):
        reindex_postmortems.delay(pks[start : start + REINDEX_TASK_SIZE])


def reindex_in_chunks(postmortems: QuerySet[Postmortem], *, chunk_size: int = 500) -> int:
    """Rebuild the search documents of ``postmortems``, ``chunk_size`` at a time, each chunk in
    a transaction of its own (memory and lock time stay bounded whatever their number).
    Returns the number of postmortems indexed."""
    total, last = 0, 0
    ids = postmortems.order_by("pk").values_list("pk", flat=True).distinct()
    while chunk := list(ids.filter(pk__gt=last)[:chunk_size]):
        with transaction.atomic():
            _sync_engine(_write_documents(_postmortems_to_index().filter(pk__in=chunk)))
        total, last = total + len(chunk), chunk[-1]
    return total


def rebuild_index(*, chunk_size: int = 500) -> int:
    """Rebuild every search document, ``chunk_size`` postmortems at a time (memory stays bounded
    whatever the archive's size), then drop documents of postmortems that no longer exist.
    Returns the number of postmortems indexed."""
    total = reindex_in_chunks(Postmortem.objects.all(), chunk_size=chunk_size)
    with transaction.atomic():
        PostmortemSearchDocument.objects.exclude(postmortem__in=Postmortem.objects.all()).delete()
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {FTS_TABLE} WHERE rowid NOT IN (SELECT postmortem_id FROM {DOCUMENT_TABLE})"
                )
    return total


def rebuild_engine_index() -> None:
    """Recompute every vector (PostgreSQL) or refill the FTS5 table (SQLite) from the stored
    document text, in one statement: what a configuration change or a bulk load needs."""
    with transaction.atomic():
        _sync_engine(None)
