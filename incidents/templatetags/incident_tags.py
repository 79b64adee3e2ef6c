"""Template helpers for incident pages and the timeline partial."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from incidents.admin import format_duration
from incidents.forms import TimelineEventForm

register = template.Library()

# Bootstrap's badge colours, each with text that passes WCAG AA contrast: SEV1 red, SEV2 amber,
# SEV3 cyan, lower levels grey.
SEVERITY_BADGE_CLASSES = {1: "text-bg-danger", 2: "text-bg-warning", 3: "text-bg-info"}


@register.inclusion_tag("incidents/_severity_badge.html")
def severity_badge(severity, full: bool = False, badge_id: str = "") -> dict:
    """A severity's badge (its name; with ``full``, its label too), coloured by its level."""
    css = SEVERITY_BADGE_CLASSES.get(getattr(severity, "level", None), "text-bg-secondary")
    return {"severity": severity, "full": full, "badge_id": badge_id, "css": css}


@register.simple_tag
def team_link(team, empty: str = "—") -> str:
    """A team's name linked to its team page (figures, open items by owner, postmortems waiting,
    repeat-class incidents): every page that names a team shows it through this tag."""
    if team is None:
        return empty
    return format_html('<a href="{}" class="team-link">{}</a>', reverse("metrics:team", args=[team.slug]), team.name)


@register.filter
def duration(value) -> str:
    """A timedelta as "2 h 05 min", or "—" when unknown."""
    return format_duration(value)


@register.simple_tag
def timeline_event_form(event=None, incident=None, offer_mitigated=False) -> TimelineEventForm:
    """A form to edit ``event`` (or add one to ``incident``), with ids unique on a page holding many.
    ``offer_mitigated``: the viewer may edit the incident, so a new Mitigation event may set its time."""
    prefix = f"event{event.pk}" if event is not None else "new_event"
    return TimelineEventForm(
        instance=event, auto_id=f"id_{prefix}_%s", incident=incident, offer_mitigated=bool(offer_mitigated)
    )
