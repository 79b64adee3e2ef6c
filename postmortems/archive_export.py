"""A postmortem as one Markdown file: YAML front matter holding the record the importer reads
(``postmortems.exporter``), then its sections, timeline and action items for people, with the
sections its reader may not see replaced by a notice.

The importer takes the sections from the ``## Section`` headings and everything else from the
front matter; the timeline and action-item lists below them are for reading only.
"""

from __future__ import annotations

import yaml
from django.utils import timezone

from .exporter import postmortem_record
from .models import SECTIONS, Postmortem
from .querysets import PostmortemAccess


def redaction_notice(postmortem: Postmortem) -> str:
    teams = ", ".join(team.name for team in postmortem.teams.all()) or "the people working on this postmortem"
    return f"*This section is internal to {teams}.*"


def export_filename(postmortem: Postmortem) -> str:
    return f"{postmortem.incident.reference or f'postmortem-{postmortem.pk}'}.md"


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else "—"


def front_matter(postmortem: Postmortem, access: PostmortemAccess, *, with_email: bool) -> str:
    """The record as YAML between ``---`` lines, its sections left to the Markdown below."""
    record = postmortem_record(postmortem, access, with_email=with_email)
    record["postmortem"].pop("sections")
    text = yaml.safe_dump(record, sort_keys=False, allow_unicode=True, width=10_000)
    return f"---\n{text}---\n\n"


def export_markdown(postmortem: Postmortem, access: PostmortemAccess, *, with_email: bool = False) -> str:
    """The Markdown export of ``postmortem`` for the reader behind ``access``; people's email
    addresses go in the front matter only ``with_email`` (the admins' archive export)."""
    incident = postmortem.incident
    lines = [
        f"# {incident.reference} {incident.title}",
        "",
        f"- Severity: {incident.severity.name}",
        f"- Status: {postmortem.get_status_display()}",
        f"- Published: {_when(postmortem.published_at)}",
        f"- Impact started: {_when(incident.started_at)}; resolved: {_when(incident.resolved_at)}",
    ]
    if postmortem.users_affected is not None:
        lines.append(f"- Users affected: {postmortem.users_affected}")
    tags = ", ".join(tag.name for tag in incident.tags.all())
    if tags:
        lines.append(f"- Tags: {tags}")
    for name, title in SECTIONS:
        text = redaction_notice(postmortem) if access.redacted(name) else (getattr(postmortem, name) or "").strip()
        lines += ["", f"## {title}", "", text or "_Not written._"]
    lines += ["", "## Timeline", ""]
    events = list(incident.timeline_events.all())
    lines += [f"- {_when(e.occurred_at)} — {e.get_kind_display()}: {e.text}" for e in events] or ["_No events._"]
    lines += ["", "## Action items", ""]
    items = list(postmortem.action_items.select_related("owner").order_by("id"))
    lines += [
        f"- {item.reference} {item.title} — {item.get_status_display()}, owner {item.owner or '—'}, "
        f"due {item.due_date or '—'}"
        for item in items
    ] or ["_None._"]
    return front_matter(postmortem, access, with_email=with_email) + "\n".join(lines) + "\n"
