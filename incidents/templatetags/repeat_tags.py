from django import template

from accounts.access import may_decide_repeat
from incidents import repeats

register = template.Library()


@register.inclusion_tag("incidents/_repeat_links_body.html", takes_context=True)
def repeat_links(context, incident):
    """The earlier incidents ``incident`` repeats (those the user may see), with their action items
    never completed and those done that did not prevent it, and the confirm/dismiss buttons."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "incident": incident,
        "entries": repeats.repeat_links_for(incident=incident, user=user),
        "can_decide": may_decide_repeat(user, incident),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("incidents/_repeat_links_classes.html", takes_context=True)
def failure_classes(context, incident):
    """The failure classes set on ``incident``; when none is, those its title and summary suggest,
    each with a button to confirm it for those who may edit the incident (the page's ``can_edit``)."""
    chosen = list(incident.failure_classes.all())
    suggested = []
    if not chosen:
        known = repeats.taxonomy()
        suggested = [(slug, known.name_of(slug)) for slug in repeats.suggested_class_slugs(incident, known)]
    return {
        "incident": incident,
        "chosen": chosen,
        "suggested": suggested,
        "can_confirm": bool(suggested) and bool(context.get("can_edit")),
        "csrf_token": context.get("csrf_token"),
    }
