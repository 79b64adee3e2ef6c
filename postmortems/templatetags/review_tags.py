"""Template helpers for the review workflow on the postmortem page."""

from django import template

from postmortems.selectors import publish_next as select_publish_next

register = template.Library()


@register.simple_tag(takes_context=True)
def publish_next(context, postmortem) -> dict | None:
    """Who publishes ``postmortem`` once it is approved (see ``postmortems.selectors.publish_next``)."""
    request = context.get("request")
    return select_publish_next(postmortem, getattr(request, "user", None))
