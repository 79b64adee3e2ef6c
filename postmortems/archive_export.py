"""A postmortem as one Markdown file: its sections, timeline and action items, with the
sections its reader may not see replaced by a notice."""

from __future__ import annotations

from django.utils import timezone

from .models import SECTIONS, Postmortem
from .querysets import PostmortemAccess


def redaction_notice(postmortem: Postmortem) -> str:
    teams = ", ".join(team.name for team in postmortem.teams.all()) or "the people working on this postmortem"
    return f"*This section is internal to {teams}.*"


def export_filename(postmortem: Postmortem) -> str:
    return f"{postmortem.incident.reference or f'postmortem-{postmortem.pk}'}.md"


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else "—"


def export_markdown(postmortem: Postmortem, access: PostmortemAccess) -> str:
    """The Markdown export of ``postmortem`` for the reader behind ``access``."""
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
    return "\n".join(lines) + "\n"
