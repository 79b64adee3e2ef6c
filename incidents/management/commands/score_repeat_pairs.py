"""Score pairs of incidents with the repeat detector, without touching the database.

Input: JSON Lines, one pair per line::

    {"id": "p1", "earlier": {...}, "later": {...}}

where each side has ``title``, ``services`` (list of names), ``cause_category`` (name or null),
``summary``, ``root_cause``, ``contributing_factors`` and ``started_at`` (ISO 8601); missing text
fields count as empty, other keys are ignored. Blank lines are skipped.

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

from incidents.repeats import IncidentDoc, score_pair

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


def doc_from_json(side, label: str) -> IncidentDoc:
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
    )


def score_line(line: str) -> dict:
    """The output object for one input line."""
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
    result = score_pair(doc_from_json(pair["earlier"], "earlier"), doc_from_json(pair["later"], "later"))
    return {"id": pair["id"], "score": result.score, "repeat": result.repeat}


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
        bad = 0
        with opened as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    output = score_line(line)
                except BadLine as exc:
                    bad += 1
                    self.stderr.write(f"line {number}: {exc}")
                    continue
                self.stdout.write(json.dumps(output))
        if bad:
            raise CommandError(f"{bad} line(s) could not be scored; see the messages above.", returncode=1)
