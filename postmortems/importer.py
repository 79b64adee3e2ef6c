"""Bring an existing archive in: JSON Lines records and Markdown files with YAML front matter
(both written by ``postmortems.exporter``; the schema is in docs/import.md).

Archive mode: an import sends no email, requests no review and queues no reminder. Closed
items stay closed with their completion times; an open item whose due date has passed is left
out of the chase until its due date moves (unless ``chase``). The search index is rebuilt once
at the end, not per record. Each record is one transaction: a bad one is refused with its file
and line, and the rest go in. Records are found again by ``external_id``, so a re-run updates.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import slugify
from taggit.models import Tag

from actions.models import ActionItem, ActionItemChange
from actions.querysets import OPEN_STATUSES
from actions.services import TRACKED_FIELDS
from incidents import repeat_batch
from incidents.models import (
    ROLE_FIELDS,
    CauseCategory,
    Incident,
    ReferenceSequence,
    RepeatLink,
    Service,
    Severity,
    SeverityChange,
    Team,
    TimelineEvent,
)

from . import search_index
from .exporter import INCIDENT_TIMES
from .models import SECTION_NAMES, SECTIONS, Postmortem, PostmortemEvent, Review

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".md": "markdown", ".markdown": "markdown"}
NOT_WRITTEN = "_Not written._"
# Links the importer resolves itself: full_clean need not look each one up again.
INCIDENT_LINKS = ["severity", "cause_category", *ROLE_FIELDS]
ITEM_LINKS = ["postmortem", "owner", "team"]
# What an import sets on an action item it finds again.
ITEM_FIELDS = [
    *ITEM_LINKS,
    *("source_url", "title", "description", "resolution_note", "external_url", "evidence_url", "kind", "priority"),
    *("status", "due_date", "completed_at", "unchased_due_date", "updated_at"),
]
# What an imported item's history may say changed (people and teams are not ids in an archive).
HISTORY_FIELDS = [name for name in TRACKED_FIELDS if not name.endswith("_id")]


class RecordError(Exception):
    """What is wrong with one record, in words its author can act on."""


@dataclass
class Report:
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refused: list[str] = field(default_factory=list)
    matched: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    created: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    seconds: float = 0.0
    index_seconds: float = 0.0
    repeat_seconds: float = 0.0

    def lines(self) -> list[str]:
        verb = "would be" if self.dry_run else "were"
        c = self.counts
        out = [
            f"Postmortems: {c['postmortem created']} {verb} created, {c['postmortem updated']} updated, "
            f"{len(self.refused)} refused.",
            f"Action items: {c['item created']} {verb} created, {c['item updated']} updated.",
        ]
        if c["incident created"] + c["incident updated"]:
            out.append(
                f"Incidents without a postmortem: {c['incident created']} {verb} created, "
                f"{c['incident updated']} updated."
            )
        if "repeat suggested" in c:
            out.append(f"Repeat links suggested among the imported incidents: {c['repeat suggested']}.")
        for kind, plural in (
            ("team", "Teams"),
            ("service", "Services"),
            ("person", "People"),
            ("cause category", "Cause categories"),
        ):
            matched, created = sorted(self.matched[kind]), sorted(self.created[kind])
            if matched or created:
                line = f"{plural}: {len(matched)} matched"
                line += f", {len(created)} {verb} created ({', '.join(created)})" if created else ""
                out.append(line + ".")
        out += [f"Refused {problem}" for problem in self.refused]
        return out


@dataclass
class Source:
    """One record and where it came from, for the messages."""

    where: str
    record: dict[str, Any] | None = None
    error: str = ""


# ---------------------------------------------------------------- reading files


def iter_sources(paths: Iterable[str | Path]) -> Iterator[Source]:
    """Every record of ``paths`` (files, or folders searched for .jsonl and .md files), in order."""
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
        elif path.is_file():
            files = [path]
        else:
            yield Source(str(path), error="no such file or folder")
            continue
        for file in files:
            yield from _read_file(file)


def _read_file(path: Path) -> Iterator[Source]:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        yield Source(str(path), error="not a .jsonl or .md file")
    elif kind == "markdown":
        yield _markdown_source(path)
    else:
        yield from _jsonl_sources(path)


def _markdown_source(path: Path) -> Source:
    try:
        return Source(f"{path}:1", parse_markdown(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError) as exc:
        return Source(str(path), error=f"cannot be read: {exc}")
    except RecordError as exc:
        return Source(f"{path}:1", error=str(exc))


def _jsonl_sources(path: Path) -> Iterator[Source]:
    """One record a line, read as it goes (an archive may not fit in memory)."""
    try:
        with path.open("rb") as lines:
            for number, raw in enumerate(lines, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    yield Source(f"{path}:{number}", error="not UTF-8 text")
                    continue
                if line.strip():
                    yield _jsonl_source(f"{path}:{number}", line)
    except OSError as exc:
        yield Source(str(path), error=f"cannot be read: {exc}")


def _jsonl_source(where: str, line: str) -> Source:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return Source(where, error=f"not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(record, dict):
        return Source(where, error="a line must hold one JSON object")
    return Source(where, record)


def parse_markdown(text: str) -> dict[str, Any]:
    """The record of a Markdown export: the front matter, with the sections read from the
    ``## Section`` headings (a redacted section, or one not written, is left out)."""
    if not text.startswith("---\n"):
        raise RecordError("no YAML front matter (the file must start with a line of ---)")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise RecordError("the YAML front matter is not closed by a line of ---")
    try:
        record = yaml.safe_load(text[4:end])
    except yaml.YAMLError as exc:
        raise RecordError(f"the front matter is not valid YAML: {exc}") from exc
    if not isinstance(record, dict) or not isinstance(record.get("postmortem"), dict):
        raise RecordError("the front matter needs an incident and a postmortem")
    redacted = set(record["postmortem"].get("redacted_sections") or [])
    sections = _markdown_sections(text[end + 5 :])
    record["postmortem"]["sections"] = {
        name: "" if value == NOT_WRITTEN else value for name, value in sections.items() if name not in redacted
    }
    return record


def _markdown_sections(body: str) -> dict[str, str]:
    """Section text between the known headings, found in the order the export writes them."""
    headings = [*SECTIONS, ("", "Timeline"), ("", "Action items")]
    found: list[tuple[str, int, int]] = []
    position = 0
    for name, title in headings:
        match = re.compile(rf"^## {re.escape(title)}[ \t]*$", re.MULTILINE).search(body, position)
        if match:
            found.append((name, match.start(), match.end()))
            position = match.end()
    sections = {}
    for (name, _, start), following in zip(found, [*found[1:], None], strict=True):
        if name:
            sections[name] = body[start : following[1] if following else len(body)].strip()
    return sections


# ---------------------------------------------------------------- the import


def import_archive(
    paths: Iterable[str | Path],
    *,
    create_missing: bool = False,
    chase: bool = False,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    repeats: bool = True,
    shift_from: datetime | None = None,
) -> Report:
    """Import every record of ``paths``, each in its own transaction; then, once, give the
    imported rows the archive's times, look for repeats among them (``repeats``; suggestions
    recorded, no email) and rebuild the search index. See the module docstring for what an
    import does and does not set off.

    With ``shift_from``, the archive is moved to the present as if it had been written then:
    every time by now − ``shift_from``, every date by whole days (today − its day), so what was
    due or overdue on that day is so today."""
    importer = Importer(create_missing=create_missing, chase=chase, dry_run=dry_run)
    if shift_from is not None:
        importer.shift = Shift.since(shift_from)
    started = timezone.now()
    with search_index.paused(), _commits_unsynced():
        try:
            for number, source in enumerate(iter_sources(paths), start=1):
                importer.run(source)
                if progress:
                    progress(number)
        finally:
            importer.numbers.give_back()
    if not dry_run:
        imported = list(dict.fromkeys(importer.imported))
        _backdate(imported)
        detecting = timezone.now()
        if repeats:
            importer.report.counts["repeat suggested"] = _detect_repeats(imported)
        importer.report.repeat_seconds = (timezone.now() - detecting).total_seconds()
    indexing = timezone.now()
    if importer.report.counts["postmortem created"] + importer.report.counts["postmortem updated"] and not dry_run:
        search_index.rebuild_index()
    importer.report.index_seconds = (timezone.now() - indexing).total_seconds()
    importer.report.seconds = (timezone.now() - started).total_seconds()
    return importer.report


BATCH = 500


def _batches(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _backdate(incident_ids: list[int]) -> None:
    """Imported incidents and postmortems were created when they were declared and last changed
    when they were resolved or published, not today: so the nightly repeat job, which looks at what
    changed in the last two nights, does not take years-old incidents for new ones and email
    their facilitators."""
    declared = Incident.objects.filter(pk=OuterRef("incident_id")).values("declared_at")
    for batch in _batches(incident_ids):
        Incident.objects.filter(pk__in=batch).update(
            created_at=F("declared_at"), updated_at=Coalesce("resolved_at", "mitigated_at", "declared_at")
        )
        Postmortem.objects.filter(incident_id__in=batch).update(
            created_at=Subquery(declared), updated_at=Coalesce("published_at", "submitted_at", Subquery(declared))
        )


def _detect_repeats(incident_ids: list[int]) -> int:
    """Repeat detection for the imported incidents, once, in archive mode: each pair found is
    recorded as a suggestion (or refreshed; a decision is left alone) and nobody is emailed.
    Returns how many pairs were found."""
    return repeat_batch.suggest_repeats(incident_ids)


@dataclass(frozen=True)
class Shift:
    """How far to move an archive's times (``*_at``) and dates (``*_date``) into the present."""

    by: timedelta
    days: int

    @classmethod
    def since(cls, anchor: datetime) -> Shift:
        now = timezone.now()
        return cls(by=now - anchor, days=(timezone.localdate(now) - timezone.localdate(anchor)).days)

    def record(self, value: Any, key: str = "") -> Any:
        """``value`` with its times and dates moved; one that does not parse is left for the
        import to refuse by name."""
        if isinstance(value, dict):
            return {name: self.record(item, name) for name, item in value.items()}
        if isinstance(value, list):
            return [self.record(item, key) for item in value]
        if not isinstance(value, str):
            return value
        if key.endswith("_at") and (moment := _parsed_time(value)):
            return (moment + self.by).isoformat()
        if key.endswith("_date") and (day := _parsed_date(value)):
            return (day + timedelta(days=self.days)).isoformat()
        return value


def _parsed_date(value: str) -> date | None:
    try:
        return parse_date(value)
    except ValueError:
        return None


def _parsed_time(value: str) -> datetime | None:
    """``value`` as an aware time (one without an offset is in the site's zone), else None."""
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    return timezone.make_aware(parsed) if parsed and timezone.is_naive(parsed) else parsed


class _DryRun(Exception):
    """Raised at the end of a dry run's record to roll it back."""


class Importer:
    """Imports records one at a time; people and reference data are matched, or created with
    ``create_missing``, and remembered for the records that follow."""

    def __init__(self, *, create_missing: bool = False, chase: bool = False, dry_run: bool = False):
        self.create_missing, self.chase = create_missing, chase
        self.report = Report(dry_run=dry_run)
        self._cache: dict[tuple[str, str], Any] = {}
        self._noted: list[tuple[str, str, str]] = []
        # The external ids in the database when the import began, and those it added: a record
        # whose ids are not among them is new, and needs no lookup.
        self._known = {model: set(_external_ids(model)) for model in (Incident, Postmortem, ActionItem)}
        self.imported: list[int] = []  # the incidents imported, for the work done once at the end
        self.shift: Shift | None = None
        self.numbers = _Numbers()

    def run(self, source: Source) -> bool:
        """Import one record; a refusal is added to the report with its file and line."""
        if source.error:
            self.report.refused.append(f"{source.where}: {source.error}")
            return False
        self._noted = []
        outcome: list[str] = []
        numbers = self.numbers.saved()
        try:
            with transaction.atomic():
                outcome = self.import_record(self.shift.record(source.record) if self.shift else source.record)
                if self.report.dry_run:
                    raise _DryRun
        except _DryRun:
            self._rolled_back(numbers)
        except (RecordError, ValidationError, IntegrityError, ValueError, TypeError, KeyError) as exc:
            self._rolled_back(numbers)
            self.report.refused.append(f"{source.where}: {describe(exc)}")
            return False
        for kind, outcome_of, name in self._noted:
            getattr(self.report, outcome_of)[kind].add(name)
        if not self.report.dry_run:
            self.imported.append(self._incident_id)
        for key in outcome:
            self.report.counts[key] += 1
        return True

    def _rolled_back(self, numbers: dict[str, list[int]]) -> None:
        """Forget what the record's rolled-back transaction created, and reuse its numbers."""
        self._cache.clear()
        self.numbers.restore(numbers)

    def import_record(self, record: dict[str, Any]) -> list[str]:
        """Create or update the record's incident, postmortem and action items; returns what
        happened (e.g. ``["postmortem created", "item created"]``)."""
        incident_data = _part(record, "incident")
        postmortem_data = record.get("postmortem")
        if postmortem_data is not None:
            postmortem_data = _part(record, "postmortem")
        elif record.get("action_items"):
            raise RecordError("action_items: an incident without a postmortem has no action items")
        incident = _prefixed("incident", self._save_incident, incident_data)
        self._incident_id = incident.pk
        if postmortem_data is None:  # an incident without a postmortem (one it has is left alone)
            return ["incident created" if incident.created_now else "incident updated"]
        postmortem, created = _prefixed("postmortem", self._save_postmortem, incident, postmortem_data)
        outcome = ["postmortem created" if created else "postmortem updated"]
        items = record.get("action_items") or []
        if not isinstance(items, list):
            raise RecordError("action_items: must be a list")
        return outcome + self._save_items(postmortem, items)

    # -------------------------------------------------------- incident

    def _save_incident(self, data: dict[str, Any]) -> Incident:
        external = _required(data, "external_id")
        incident = self._existing(Incident, external) or Incident(external_id=external)
        incident.source_url = data.get("source_url") or ""
        incident.title = _required(data, "title")
        incident.summary = data.get("summary") or ""
        incident.severity = self.severity(_required(data, "severity"))
        incident.status = data.get("status") or Incident.Status.RESOLVED
        incident.trigger = data.get("trigger") or Incident.Trigger.UNKNOWN
        incident.customer_facing = bool(data.get("customer_facing"))
        category = data.get("cause_category")
        incident.cause_category = self.cause_category(category) if category else None
        for name in INCIDENT_TIMES:
            setattr(incident, name, _time(data, name))
        incident.declared_at = incident.declared_at or incident.detected_at or incident.started_at
        if incident.declared_at is None:
            raise RecordError("declared_at: give when it was declared (or detected_at or started_at)")
        for role in ROLE_FIELDS:
            setattr(incident, role, self.person(data.get(role)))
        incident.full_clean(exclude=["reference", *INCIDENT_LINKS], validate_unique=False, validate_constraints=False)
        created = incident.pk is None
        if created:
            self._keep_reference(incident, data.get("reference"), r"INC-(\d{4})-(\d{4,})", lambda m: f"INC-{m[1]}")
            if not incident.reference:  # as Incident.save numbers it
                year = incident.declared_at.year
                incident.reference = f"INC-{year}-{self.numbers.next(f'INC-{year}'):04d}"
        incident.save()
        self._known[Incident].add(external)
        _set_related(incident.services, [self.service(spec) for spec in data.get("services") or []], created=created)
        self._set_tags(incident, [str(tag) for tag in data.get("tags") or []], created=created)
        if not created:
            incident.timeline_events.all().delete()
            incident.severity_changes.all().delete()
        incident.created_now = created
        TimelineEvent.objects.bulk_create(
            _timeline_event(incident, event, self.person(event.get("author"))) for event in data.get("timeline") or []
        )
        changes = data.get("severity_changes") or []
        if not isinstance(changes, list):
            raise RecordError("severity_changes: must be a list")
        SeverityChange.objects.bulk_create(
            _prefixed(f"severity_changes[{index}]", self._severity_change, incident, change)
            for index, change in enumerate(changes)
        )
        links = data.get("repeats") or []
        if not isinstance(links, list):
            raise RecordError("repeats: must be a list")
        for index, link in enumerate(links):
            _prefixed(f"repeats[{index}]", self._repeat_link, incident, link)
        return incident

    def _repeat_link(self, incident: Incident, data: dict[str, Any]) -> None:
        """Record that ``incident`` repeats an earlier one (found by its external id or reference,
        so it must be imported first); a link between the two is updated, not duplicated."""
        key = str(_required(data, "earlier"))
        earlier = Incident.objects.filter(Q(external_id=key) | Q(reference=key)).exclude(pk=incident.pk).first()
        if earlier is None:
            raise RecordError(f"earlier: no incident “{key}” (import the earlier incident first)")
        link = RepeatLink.objects.filter(incident=incident, earlier=earlier).first() or RepeatLink(
            incident=incident, earlier=earlier
        )
        link.score = _required(data, "score")
        if not isinstance(link.score, int | float) or not 0 <= link.score <= 1:
            raise RecordError(f"score: “{link.score}” is not a number from 0 to 1")
        link.reason = _required(data, "reason")
        link.state = data.get("state") or RepeatLink.State.SUGGESTED
        decided = link.state != RepeatLink.State.SUGGESTED
        link.decided_by = self.person(data.get("decided_by")) if decided else None
        link.decided_at = _time(data, "decided_at") if decided else None
        if decided and link.decided_at is None:
            raise RecordError("decided_at: a confirmed or dismissed link needs the time it was decided")
        link.full_clean(exclude=["incident", "earlier", "decided_by"], validate_unique=False)
        link.save()

    def _severity_change(self, incident: Incident, data: dict[str, Any]) -> SeverityChange:
        old = data.get("from_severity")
        _required(data, "changed_at")
        change = SeverityChange(
            incident=incident,
            from_severity=self.severity(old) if old else None,
            to_severity=self.severity(_required(data, "to_severity")),
            changed_by=self.person(data.get("changed_by")),
            changed_at=_time(data, "changed_at"),
            reason=_required(data, "reason"),
        )
        if change.from_severity == change.to_severity:
            raise RecordError("to_severity: a severity change must change the severity")
        change.full_clean(
            exclude=["incident", "from_severity", "to_severity", "changed_by"], validate_constraints=False
        )
        return change

    # -------------------------------------------------------- postmortem

    def _save_postmortem(self, incident: Incident, data: dict[str, Any]) -> tuple[Postmortem, bool]:
        external = data.get("external_id") or incident.external_id
        pm = (
            Postmortem(incident=incident)
            if incident.created_now and external not in self._known[Postmortem]
            else self._existing(Postmortem, external)
            or Postmortem.objects.filter(incident=incident).first()
            or Postmortem(incident=incident)
        )
        if pm.incident_id != incident.pk:
            raise RecordError(f"external_id: {external} belongs to the postmortem of another incident")
        created = pm.pk is None
        pm.external_id, pm.source_url = external, data.get("source_url") or ""
        pm.status = data.get("status") or Postmortem.Status.PUBLISHED
        pm.facilitator = self.person(data.get("facilitator"))
        if pm.facilitator is None:
            raise RecordError("facilitator: every postmortem needs its facilitator")
        pm.due_date = _date(data, "due_date")
        pm.submitted_at, pm.published_at = _time(data, "submitted_at"), _time(data, "published_at")
        if pm.status == Postmortem.Status.PUBLISHED and pm.published_at is None:
            raise RecordError("published_at: a published postmortem needs the time it was published")
        pm.visibility = data.get("visibility") or Postmortem.Visibility.ORGANISATION
        pm.internal_sections = list(data.get("internal_sections") or [])
        pm.users_affected = data.get("users_affected")
        pm.revenue_impact = _decimal(data.get("revenue_impact"))
        self._set_sections(pm, data.get("sections") or {})
        pm.full_clean(exclude=["incident", "facilitator"], validate_unique=False, validate_constraints=False)
        teams = [self.team(name) for name in data.get("teams") or []]
        if pm.visibility == Postmortem.Visibility.RESTRICTED and not teams:
            raise RecordError("teams: a restricted postmortem needs the teams that may read it")
        pm.save()
        self._known[Postmortem].add(external)
        _set_related(pm.authors, self.people(data.get("authors")), created=created)
        _set_related(pm.reviewers, self.people(data.get("reviewers")), created=created)
        _set_related(pm.teams, teams, created=created)
        self._save_reviews(pm, data.get("reviews") or [], created=created)
        if created:
            _record_import_events(pm, data.get("source_url") or external)
        return pm, created

    def _set_tags(self, incident: Incident, names: list[str], *, created: bool) -> None:
        """A new incident's tags in one insert; an updated one's through taggit."""
        tags = [self._tag(name) for name in dict.fromkeys(name.strip() for name in names if name.strip())]
        if not created:
            incident.tags.set(tags)
            return
        through = Incident.tags.through
        through.objects.bulk_create(through(tag=tag, content_object=incident) for tag in tags)

    def _tag(self, name: str) -> Tag:
        key = ("tag", name.lower())
        if key not in self._cache:
            self._cache[key] = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        return self._cache[key]

    def _set_sections(self, pm: Postmortem, sections: dict[str, Any]) -> None:
        unknown = sorted(set(sections) - set(SECTION_NAMES))
        if unknown:
            raise RecordError(f"sections: unknown {', '.join(unknown)}; choose from {', '.join(SECTION_NAMES)}")
        for name, text in sections.items():
            setattr(pm, name, str(text or ""))

    def _save_reviews(self, pm: Postmortem, reviews: list[dict[str, Any]], *, created: bool) -> None:
        if not created:
            pm.reviews.all().delete()
        built, times = [], []
        for index, data in enumerate(reviews):
            review = Review(
                postmortem=pm,
                reviewer=self.person(data.get("reviewer")),
                decision=data.get("decision") or "",
                comment=data.get("comment") or "",
                postmortem_version=pm.version,
            )
            try:
                review.full_clean(exclude=["postmortem", "reviewer"])
            except ValidationError as exc:
                raise RecordError(f"reviews[{index}]: {describe(exc)}") from exc
            built.append(review)
            times.append(_time(data, "reviewed_at"))
        Review.objects.bulk_create(built)
        # created_at is set on insert; a review keeps its own time.
        timed = []
        for review, when in zip(built, times, strict=True):
            if when:
                review.created_at = when
                timed.append(review)
        if timed:
            Review.objects.bulk_update(timed, ["created_at"])

    # -------------------------------------------------------- action items

    def _save_items(self, postmortem: Postmortem, items: list[dict[str, Any]]) -> list[str]:
        """Update the items found by external id one by one; insert the new ones in bulk, each
        with a "created" history row saying it was imported."""
        externals = [data.get("external_id") or f"{postmortem.external_id}/{n + 1}" for n, data in enumerate(items)]
        known = [external for external in externals if external in self._known[ActionItem]]
        found = {item.external_id: item for item in ActionItem.objects.filter(external_id__in=known)} if known else {}
        built = [
            _prefixed(
                f"action_items[{n}]",
                self._item,
                postmortem,
                data,
                found.get(external) or ActionItem(external_id=external),
            )
            for n, (data, external) in enumerate(zip(items, externals, strict=True))
        ]
        new = [item for item in built if item.pk is None]
        found_again = [item for item in built if item.pk is not None]
        for item in found_again:
            item.updated_at = timezone.now()
        if found_again:  # one UPDATE for them all (_item has set what ActionItem.save would)
            ActionItem.objects.bulk_update(found_again, ITEM_FIELDS)
        self._insert_items(
            new, [data.get("reference") for data, item in zip(items, built, strict=True) if item.pk is None]
        )
        return ["item created"] * len(new) + ["item updated"] * (len(built) - len(new))

    def _item(self, postmortem: Postmortem, data: dict[str, Any], item: ActionItem) -> ActionItem:
        if item.pk and item.postmortem_id != postmortem.pk:
            raise RecordError(f"external_id: {item.external_id} belongs to an action item of another postmortem")
        item.postmortem = postmortem
        item.source_url = data.get("source_url") or ""
        for name in ("title", "description", "resolution_note", "external_url", "evidence_url"):
            setattr(item, name, data.get(name) or "")
        item.kind = data.get("kind") or ActionItem.Kind.PREVENT
        item.priority = data.get("priority") or ActionItem.Priority.P3
        item.status = data.get("status") or ActionItem.Status.OPEN
        item.owner = self.person(data.get("owner"))
        item.team = self.team(data["team"]) if data.get("team") else None
        item.due_date = _date(data, "due_date")
        item.completed_at = None if item.status in OPEN_STATUSES else _time(data, "completed_at")
        if item.status == ActionItem.Status.DONE and item.completed_at is None:
            raise RecordError("completed_at: a done item needs the time it was completed")
        overdue = item.status in OPEN_STATUSES and item.due_date and item.due_date < timezone.localdate()
        item.unchased_due_date = item.due_date if overdue and not self.chase else None
        item.full_clean(exclude=["reference", *ITEM_LINKS], validate_unique=False, validate_constraints=False)
        history = data.get("history")
        if history is not None and not isinstance(history, list):
            raise RecordError("history: must be a list")
        item.imported_history = (
            None
            if history is None
            else [_prefixed(f"history[{n}]", self._item_change, item, change) for n, change in enumerate(history)]
        )
        return item

    def _item_change(self, item: ActionItem, data: dict[str, Any]) -> ActionItemChange:
        changes = data.get("changes") or {}
        unknown = sorted(set(changes) - set(HISTORY_FIELDS)) if isinstance(changes, dict) else ["(not an object)"]
        if unknown:
            raise RecordError(f"changes: unknown {', '.join(unknown)}; choose from {', '.join(HISTORY_FIELDS)}")
        for name, values in changes.items():
            if not (isinstance(values, list) and len(values) == 2):
                raise RecordError(f'changes.{name}: give the old and the new value, e.g. ["open", "done"]')
        _required(data, "changed_at")
        return ActionItemChange(
            item=item,
            changed_by=self.person(data.get("changed_by")),
            changed_at=_time(data, "changed_at"),
            changes=changes,
            note=str(data.get("note") or ""),
        )

    def _insert_items(self, items: list[ActionItem], references: list[Any]) -> None:
        for item, reference in zip(items, references, strict=True):
            self._keep_reference(item, reference, r"AI-(\d{4,})", lambda m: "AI")
        unnumbered = [item for item in items if not item.reference]
        for item in unnumbered:
            item.reference = f"AI-{self.numbers.next('AI'):04d}"
        ActionItem.objects.bulk_create(items)
        self._known[ActionItem].update(item.external_id for item in items)
        ActionItemChange.objects.bulk_create(
            change
            for item in items
            for change in (
                [ActionItemChange(item=item, changes=_initial_values(item), created=True, note="Imported.")]
                if item.imported_history is None
                else item.imported_history
            )
        )

    def _keep_reference(self, obj, reference: Any, pattern: str, sequence_of: Callable[[re.Match], str]) -> None:
        """Give a new ``obj`` the reference it had in the archive when that is free, and move the
        sequence past it so the next one we allocate never collides."""
        match = re.fullmatch(pattern, str(reference or ""))
        if not match or type(obj).objects.filter(reference=reference).exists():
            return
        sequence, number = sequence_of(match), int(match[match.lastindex])
        ReferenceSequence.objects.get_or_create(name=sequence)
        ReferenceSequence.objects.filter(name=sequence, last_value__lt=number).update(last_value=number)
        self.numbers.skip(sequence, number)
        obj.reference = reference

    # -------------------------------------------------------- people and reference data

    def _existing(self, model, external: str):
        """The row of ``model`` imported before as ``external``, or None."""
        if external not in self._known[model]:
            return None
        return model.objects.filter(external_id=external).first()

    def _remember(self, kind: str, key: str, find: Callable[[], Any], create: Callable[[], Any]) -> Any:
        cached = self._cache.get((kind, key.lower()))
        if cached is not None:
            return cached
        obj = find()
        if obj is not None:
            self._noted.append((kind, "matched", key))
        elif self.create_missing:
            obj = create()
            self._noted.append((kind, "created", key))
        else:
            raise RecordError(f"no {kind} “{key}” (run with --create-missing to create it)")
        self._cache[(kind, key.lower())] = obj
        return obj

    def person(self, spec: Any):
        """The user ``spec`` names: an email or username string, or a dict with ``email``,
        ``username`` and ``name``; matched by email, then username. None for none."""
        if not spec:
            return None
        if isinstance(spec, str):
            spec = {"email": spec} if "@" in spec else {"username": spec}
        if not isinstance(spec, dict) or not (spec.get("email") or spec.get("username")):
            raise RecordError(f"a person needs an email or a username, not {spec!r}")
        email, username = (spec.get("email") or "").strip(), (spec.get("username") or "").strip()
        return self._remember(
            "person", email or username, lambda: _find_user(email, username), lambda: _create_user(spec)
        )

    def people(self, specs: Any) -> list:
        return [self.person(spec) for spec in specs or []]

    def team(self, name: Any) -> Team:
        name = _name(name, "team")
        return self._remember(
            "team", name, lambda: _by_name(Team, name), lambda: Team.objects.create(name=name, slug=_slug(Team, name))
        )

    def service(self, spec: Any) -> Service:
        spec = spec if isinstance(spec, dict) else {"name": spec}
        name = _name(spec.get("name"), "service")

        def create() -> Service:
            if not spec.get("team"):
                raise RecordError(f"services: “{name}” is new and needs its owning team to be created")
            return Service.objects.create(name=name, slug=_slug(Service, name), team=self.team(spec["team"]))

        return self._remember("service", name, lambda: _by_name(Service, name), create)

    def cause_category(self, name: Any) -> CauseCategory:
        name = _name(name, "cause category")
        return self._remember(
            "cause category",
            name,
            lambda: _by_name(CauseCategory, name),
            lambda: CauseCategory.objects.create(name=name, slug=_slug(CauseCategory, name)),
        )

    def severity(self, name: Any) -> Severity:
        key = ("severity", str(name).lower())
        if key not in self._cache:
            found = Severity.objects.filter(name__iexact=str(name)).first()
            if found is None:
                known = ", ".join(Severity.objects.values_list("name", flat=True))
                raise RecordError(f"severity: no severity “{name}”; choose from {known}")
            self._cache[key] = found
        return self._cache[key]


# ---------------------------------------------------------------- helpers


def describe(exc: Exception) -> str:
    """One line naming each field that is wrong and why."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items())
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, KeyError):
        return f"{exc.args[0]}: missing"
    return str(exc)


def _prefixed(prefix: str, func: Callable, *args):
    """Call ``func``; its errors name ``prefix`` (``incident``, ``action_items[2]``) first."""
    try:
        return func(*args)
    except (RecordError, ValidationError, ValueError, TypeError, KeyError) as exc:
        message = describe(exc)
        joiner = "." if re.match(r"[\w\[\].]+: ", message) else ": "
        raise RecordError(f"{prefix}{joiner}{message}") from exc


def _part(record: dict[str, Any], name: str) -> dict[str, Any]:
    value = record.get(name)
    if not isinstance(value, dict):
        raise RecordError(f"{name}: missing (each record holds an incident, and its postmortem or null)")
    return value


def _required(data: dict[str, Any], name: str) -> Any:
    value = data.get(name)
    if value in (None, ""):
        raise RecordError(f"{name}: required")
    return value


def _time(data: dict[str, Any], name: str):
    value = data.get(name)
    if value in (None, ""):
        return None
    parsed = _parsed_time(value) if isinstance(value, str) else None
    if parsed is None:
        raise RecordError(f"{name}: “{value}” is not a time like 2024-03-05T14:30:00Z")
    return parsed


def _date(data: dict[str, Any], name: str):
    value = data.get(name)
    if value in (None, ""):
        return None
    parsed = _parsed_date(str(value))
    if parsed is None:
        raise RecordError(f"{name}: “{value}” is not a date like 2024-03-05")
    return parsed


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise RecordError(f"revenue_impact: “{value}” is not a number") from exc


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordError(f"a {what} needs a name, not {value!r}")
    return value.strip()


def _by_name(model, name: str):
    return model.objects.filter(name__iexact=name).first() or model.objects.filter(slug=slugify(name)).first()


def _slug(model, name: str) -> str:
    base = slugify(name)[:90] or "imported"
    slug, number = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


def _find_user(email: str, username: str):
    users = get_user_model().objects
    if email:
        found = users.filter(email__iexact=email).order_by("pk").first()
        if found is not None:
            return found
    return users.filter(username=username).first() if username else None


def _create_user(spec: dict[str, Any]):
    """A person of the old archive: no password and inactive (no email, no sign-in) until an
    admin activates them."""
    email = (spec.get("email") or "").strip()
    username = (spec.get("username") or "").strip() or email.split("@")[0]
    first, _, last = (spec.get("name") or "").strip().partition(" ")
    model = get_user_model()
    candidate, number = username[:140], 2
    while model.objects.filter(username=candidate).exists():
        candidate, number = f"{username[:140]}-{number}", number + 1
    user = model(username=candidate, email=email, first_name=first[:150], last_name=last[:150], is_active=False)
    user.set_unusable_password()
    user.save()
    return user


@contextmanager
def _commits_unsynced() -> Iterator[None]:
    """On PostgreSQL, commit without waiting for the disk (``synchronous_commit``): a crash can
    lose the last moment's records, never corrupt them, and a re-run imports them again. The
    connection's setting is restored afterwards."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


class _Numbers:
    """Reference numbers, taken from their sequence a block at a time rather than a query per
    record. A block taken in a record's transaction goes with it if the record is refused; the
    numbers left at the end are given back unless someone took later ones meanwhile."""

    BLOCK = 200

    def __init__(self) -> None:
        self._free: dict[str, list[int]] = {}  # sequence -> [next number, last number of the block]

    def next(self, sequence: str) -> int:
        free = self._free.get(sequence)
        if free is None or free[0] > free[1]:
            block = _allocate(sequence, self.BLOCK)
            free = self._free[sequence] = [block.start, block.stop - 1]
        free[0] += 1
        return free[0] - 1

    def skip(self, sequence: str, number: int) -> None:
        """``number`` was taken by a kept reference: a block holding it is dropped."""
        free = self._free.get(sequence)
        if free and free[0] <= number <= free[1]:
            del self._free[sequence]

    def saved(self) -> dict[str, list[int]]:
        return {sequence: list(free) for sequence, free in self._free.items()}

    def restore(self, saved: dict[str, list[int]]) -> None:
        self._free = saved

    def give_back(self) -> None:
        for sequence, (following, last) in self._free.items():
            ReferenceSequence.objects.filter(name=sequence, last_value=last).update(last_value=following - 1)
        self._free = {}


def _allocate(sequence: str, count: int) -> range:
    """``count`` numbers of the reference sequence ``sequence``, in one query whatever the count
    (two the first time a sequence is used). Like ``ReferenceSequence.next_value``, the UPDATE
    locks the row until the caller's transaction commits."""
    table = connection.ops.quote_name(ReferenceSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_value = last_value + %s WHERE name = %s RETURNING last_value", [count, sequence]
        )
        row = cursor.fetchone()
    if row is None:
        ReferenceSequence.objects.get_or_create(name=sequence)
        return _allocate(sequence, count)
    return range(row[0] - count + 1, row[0] + 1)


def _external_ids(model) -> Iterator[str]:
    return model.objects.exclude(external_id="").values_list("external_id", flat=True).iterator(chunk_size=5000)


def _set_related(manager, objects: list, *, created: bool) -> None:
    """A many-to-many relation's rows: for a new row, one insert (``set`` would first read the
    rows there are none of)."""
    if not created:
        manager.set(objects)
    elif objects:
        manager.add(*objects)


def _initial_values(item: ActionItem) -> dict[str, list[str | None]]:
    """A new item's first history row, as ``actions.services.action_item_record_created`` writes it."""
    values = {name: getattr(item, name) for name in TRACKED_FIELDS}
    return {name.removesuffix("_id"): [None, str(value)] for name, value in values.items() if value not in (None, "")}


def _timeline_event(incident: Incident, data: dict[str, Any], author) -> TimelineEvent:
    event = TimelineEvent(
        incident=incident,
        occurred_at=_time(data, "occurred_at"),
        kind=data.get("kind") or TimelineEvent.Kind.NOTE,
        text=_required(data, "text"),
        author=author,
    )
    event.full_clean(exclude=["incident", "author"])
    return event


def _record_import_events(pm: Postmortem, source: str) -> None:
    """The postmortem's history says it was imported (and, if it was, when it was published)."""
    note = f"Imported from {source}."
    started = PostmortemEvent(postmortem=pm, kind=PostmortemEvent.Kind.CREATED, to_status=pm.status, note=note)
    started.created_at = pm.incident.declared_at  # when the postmortem is taken to have begun (_backdate)
    events = [started]
    if pm.published_at:
        events.append(
            PostmortemEvent(
                postmortem=pm,
                kind=PostmortemEvent.Kind.PUBLISHED,
                to_status=Postmortem.Status.PUBLISHED,
                created_at=pm.published_at,
                postmortem_version=pm.version,
            )
        )
    for event in events:
        event.postmortem_version = pm.version
    PostmortemEvent.objects.bulk_create(events)
