"""Score pairs of incidents with the repeat detector, without touching the database.

Input: JSON Lines, one pair per line::

    {"id": "p1", "earlier": {...}, "later": {...}}

where each side has ``title``, ``services`` (list of names), ``cause_category`` (name or null),
``summary``, ``root_cause``, ``contributing_factors``, ``started_at`` (ISO 8601) and optionally
``failure_classes`` (a list of class slugs or names; where absent, classes are inferred from the
text as the app's suggestions are); missing text fields count as empty, other keys are ignored.
Blank lines are skipped.

The text's inverse document frequencies come from all the documents of the input (its archive),
and the failure classes from the database's taxonomy (the built-in one when there is no database).

Output: one JSON line per pair, in input order: ``{"id": "p1", "score": 0.73, "repeat": true}``.

Errors: a line that cannot be scored (bad JSON, a missing id or side, a wrong type, a bad date) is
reported on stderr with its line number and skipped; the other lines are still scored and printed.
The exit status is 1 when any line was bad, 0 otherwise.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from incidents.repeats import IncidentDoc, Scorer, Taxonomy, taxonomy

TEXT_FIELDS = ("title", "summary", "root_cause", "contributing_factors")


class BadLine(ValueError):
    pass


def _text(side: dict, name: str, label: str) -> str:
    value = side.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadLine(f"{label}.{name} must be a string")
    return value


def _started_at(value, label: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadLine(f"{label}.started_at must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadLine(f"{label}.started_at is not ISO 8601: {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _classes(side: dict, label: str, known: Taxonomy) -> frozenset[str]:
    classes = side.get("failure_classes") or []
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise BadLine(f"{label}.failure_classes must be a list of names")
    return frozenset(known.slug_of(c) for c in classes)


def doc_from_json(side, label: str, known: Taxonomy | None = None) -> IncidentDoc:
    """An ``IncidentDoc`` from one side of a pair; BadLine names the first problem."""
    if not isinstance(side, dict):
        raise BadLine(f'"{label}" must be an object')
    services = side.get("services") or []
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        raise BadLine(f"{label}.services must be a list of names")
    cause = side.get("cause_category")
    if cause is not None and not isinstance(cause, str):
        raise BadLine(f"{label}.cause_category must be a name or null")
    return IncidentDoc(
        **{name: _text(side, name, label) for name in TEXT_FIELDS},
        services=frozenset(services),
        cause_category=cause or None,
        started_at=_started_at(side.get("started_at"), label),
        failure_classes=_classes(side, label, known or Taxonomy.default()),
    )


def parse_line(line: str, known: Taxonomy) -> tuple[str | int, IncidentDoc, IncidentDoc]:
    """The id and the two sides of one input line."""
    try:
        pair = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not valid JSON ({exc.msg})") from exc
    if not isinstance(pair, dict):
        raise BadLine("each line must be a JSON object")
    if not isinstance(pair.get("id"), str | int) or isinstance(pair.get("id"), bool):
        raise BadLine('"id" is missing or not a string')
    for side in ("earlier", "later"):
        if side not in pair:
            raise BadLine(f'"{side}" is missing')
    return pair["id"], doc_from_json(pair["earlier"], "earlier", known), doc_from_json(pair["later"], "later", known)


def current_taxonomy() -> Taxonomy:
    """The admin's failure classes, or the built-in ones when the database has none to give."""
    try:
        known = taxonomy()
    except Exception:  # no usable database (none configured, not migrated, or not allowed)
        return Taxonomy.default()
    return known if known.classes else Taxonomy.default()


class Command(BaseCommand):
    help = "Score JSON Lines pairs of incidents with the repeat detector (FILE or - for stdin)."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help='JSON Lines file, or "-" for standard input.')

    def handle(self, *args, **options):
        path = options["file"]
        try:
            opened = nullcontext(sys.stdin) if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        known = current_taxonomy()
        bad, pairs = 0, []
        with opened as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    pairs.append(parse_line(line, known))
                except BadLine as exc:
                    bad += 1
                    self.stderr.write(f"line {number}: {exc}")
        scorer = Scorer.for_archive([doc for _, *sides in pairs for doc in sides], known)
        for pair_id, earlier, later in pairs:
            result = scorer.score(earlier, later, explain=False)
            self.stdout.write(json.dumps({"id": pair_id, "score": result.score, "repeat": result.repeat}))
        if bad:
            raise CommandError(f"{bad} line(s) could not be scored; see the messages above.", returncode=1)
