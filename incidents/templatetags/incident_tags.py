"""Template helpers for incident pages and the timeline partial."""

from django import template

from incidents.admin import format_duration
from incidents.forms import TimelineEventForm

register = template.Library()


@register.filter
def duration(value) -> str:
    """A timedelta as "2 h 05 min", or "—" when unknown."""
    return format_duration(value)


@register.simple_tag
def timeline_event_form(event=None) -> TimelineEventForm:
    """A form to edit ``event`` (or add one), with ids unique on a page holding many."""
    prefix = f"event{event.pk}" if event is not None else "new_event"
    return TimelineEventForm(instance=event, auto_id=f"id_{prefix}_%s")
