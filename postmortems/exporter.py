"""The archive as records: one incident with its timeline, postmortem, reviews and action items
per record, the shape ``postmortems.importer`` reads back (the schema is in docs/import.md).

The JSON Lines export writes one record a line; the Markdown export (``archive_export``) writes
the same record as YAML front matter above the sections. Who may read what is decided by the
caller's queryset and ``PostmortemAccess``: sections a reader may not see are left out and named
in ``redacted_sections``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import IO, Any

from incidents.models import ROLE_FIELDS

from .models import SECTION_NAMES, Postmortem
from .querysets import PostmortemAccess

FORMAT = "postmortem-archive/1"
INCIDENT_TIMES = ["started_at", "detected_at", "acknowledged_at", "declared_at", "mitigated_at", "resolved_at"]


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _date(value: date | None) -> str | None:
    return value.isoformat() if value else None


class FullAccess:
    """The access of the admins' export: nothing is redacted."""

    full_access = True
    hides_discussion = False

    def __init__(self, postmortem: Postmortem):
        self.postmortem = postmortem

    def redacted(self, section: str) -> bool:
        return False


def person(user, *, with_email: bool = True) -> dict[str, str] | None:
    """A user as the importer matches them: username, full name and (unless left out) email."""
    if user is None:
        return None
    record = {"username": user.username, "name": user.get_full_name()}
    if with_email and user.email:
        record["email"] = user.email
    return record


def external_id(obj, fallback: str) -> str:
    """The id a re-import finds the record by: the one it was imported with, else our reference."""
    return obj.external_id or fallback


def _incident(incident, *, with_email: bool) -> dict[str, Any]:
    who = {role: person(getattr(incident, role), with_email=with_email) for role in ROLE_FIELDS}
    return {
        "external_id": external_id(incident, incident.reference),
        "source_url": incident.source_url,
        "reference": incident.reference,
        "title": incident.title,
        "summary": incident.summary,
        "severity": incident.severity.name,
        "status": incident.status,
        "trigger": incident.trigger,
        "customer_facing": incident.customer_facing,
        "cause_category": incident.cause_category.name if incident.cause_category else None,
        "services": [{"name": s.name, "team": s.team.name} for s in incident.services.all()],
        "tags": sorted(tag.name for tag in incident.tags.all()),
        **{name: _time(getattr(incident, name)) for name in INCIDENT_TIMES},
        **who,
        "timeline": [
            {
                "occurred_at": _time(event.occurred_at),
                "kind": event.kind,
                "text": event.text,
                "author": person(event.author, with_email=with_email),
            }
            for event in incident.timeline_events.all()
        ],
        "severity_changes": [
            {
                "changed_at": _time(change.changed_at),
                "from_severity": change.from_severity.name if change.from_severity else None,
                "to_severity": change.to_severity.name,
                "changed_by": person(change.changed_by, with_email=with_email),
                "reason": change.reason,
            }
            for change in incident.severity_changes.all()
        ],
    }


def _postmortem(pm: Postmortem, access: PostmortemAccess | FullAccess | None, *, with_email: bool) -> dict[str, Any]:
    redacted = [name for name in SECTION_NAMES if access is not None and access.redacted(name)]
    return {
        "external_id": external_id(pm, pm.incident.reference),
        "source_url": pm.source_url,
        "status": pm.status,
        "facilitator": person(pm.facilitator, with_email=with_email),
        "authors": [person(u, with_email=with_email) for u in _by_username(pm.authors.all())],
        "reviewers": [person(u, with_email=with_email) for u in _by_username(pm.reviewers.all())],
        "due_date": _date(pm.due_date),
        "submitted_at": _time(pm.submitted_at),
        "published_at": _time(pm.published_at),
        "visibility": pm.visibility,
        "teams": sorted(team.name for team in pm.teams.all()),
        "internal_sections": list(pm.internal_sections or []),
        "redacted_sections": redacted,
        "users_affected": pm.users_affected,
        "revenue_impact": str(pm.revenue_impact) if pm.revenue_impact is not None else None,
        "sections": {name: getattr(pm, name) for name in SECTION_NAMES if name not in redacted},
        "reviews": []
        if access is not None and access.hides_discussion
        else [
            {
                "reviewer": person(review.reviewer, with_email=with_email),
                "decision": review.decision,
                "comment": review.comment,
                "reviewed_at": _time(review.created_at),
            }
            for review in sorted(pm.reviews.all(), key=lambda r: (r.created_at, r.pk))
        ],
    }


def _action_item(item, *, with_email: bool) -> dict[str, Any]:
    return {
        "external_id": external_id(item, item.reference),
        "source_url": item.source_url,
        "reference": item.reference,
        "title": item.title,
        "description": item.description,
        "kind": item.kind,
        "priority": item.priority,
        "owner": person(item.owner, with_email=with_email),
        "team": item.team.name if item.team else None,
        "due_date": _date(item.due_date),
        "status": item.status,
        "completed_at": _time(item.completed_at),
        "resolution_note": item.resolution_note,
        "external_url": item.external_url,
        "evidence_url": item.evidence_url,
    }


def _by_username(users) -> list:
    return sorted(users, key=lambda user: user.username)


def postmortem_record(
    pm: Postmortem, access: PostmortemAccess | None = None, *, with_email: bool = True
) -> dict[str, Any]:
    """``pm`` with its incident and action items as one record; with ``access``, the sections
    its reader may not see are left out (and listed in ``redacted_sections``)."""
    items = sorted(pm.action_items.all(), key=lambda item: item.pk)
    return {
        "format": FORMAT,
        "incident": _incident(pm.incident, with_email=with_email),
        "postmortem": _postmortem(pm, access, with_email=with_email),
        "action_items": [_action_item(item, with_email=with_email) for item in items],
    }


def for_export(queryset) -> Any:
    """``queryset`` with everything a record needs loaded in a fixed number of queries."""
    return queryset.select_related(
        "incident__severity",
        "incident__cause_category",
        "facilitator",
        *(f"incident__{role}" for role in ROLE_FIELDS),
    ).prefetch_related(
        "incident__services__team",
        "incident__tags",
        "incident__timeline_events__author",
        "incident__severity_changes__from_severity",
        "incident__severity_changes__to_severity",
        "incident__severity_changes__changed_by",
        "authors",
        "reviewers",
        "teams",
        "reviews__reviewer",
        "action_items__owner",
        "action_items__team",
    )


def iter_records(queryset, user=None, *, chunk_size: int = 500) -> Iterator[dict[str, Any]]:
    """Records of the postmortems in ``queryset``, oldest incident first, ``chunk_size`` at a
    time; with ``user``, as that reader may see them."""
    queryset = queryset.order_by("incident__declared_at", "pk")
    for chunk in _chunks(queryset, chunk_size):
        for pm in chunk:
            yield postmortem_record(pm, PostmortemAccess(pm, user) if user is not None else FullAccess(pm))


def _chunks(queryset, size: int) -> Iterator[list[Postmortem]]:
    pks = list(queryset.values_list("pk", flat=True))
    for start in range(0, len(pks), size):
        part = pks[start : start + size]
        by_pk = {pm.pk: pm for pm in for_export(Postmortem.objects.filter(pk__in=part))}
        yield [by_pk[pk] for pk in part]


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write each record as one line of JSON; returns how many were written."""
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n")
        count += 1
    return count
