from django import template

from ..models import TrackerIssue
from ..selectors import tracker_issue_of

register = template.Library()


@register.simple_tag
def tracker_issue_for(item):
    """``item``'s tracker issue. The issues of all items of its postmortem are read once and kept
    on the postmortem object, so the editor's cards cost one query, not one per item."""
    if not getattr(item, "pk", None):
        return None
    postmortem = item.postmortem
    cache = getattr(postmortem, "_tracker_issues", None)
    if cache is None:
        rows = TrackerIssue.objects.filter(item__postmortem_id=postmortem.pk).select_related("connection")
        cache = postmortem._tracker_issues = {row.item_id: row for row in rows}
    return cache.get(item.pk)


@register.simple_tag
def tracker_connection_for(item):
    """The tracker an issue for ``item`` would go to (cached on the item)."""
    if not hasattr(item, "_tracker_connection"):
        from ..services import connection_for

        item._tracker_connection = connection_for(item)
    return item._tracker_connection


def _creatable(context, postmortem) -> dict:
    """The editor's items that get a "Create … issue" button, with their tracker: worked out
    once per page and kept on the postmortem object."""
    cache = getattr(postmortem, "_tracker_creatable", None)
    if cache is None:
        from ..services import creatable_in_editor

        cache = postmortem._tracker_creatable = creatable_in_editor(postmortem, context["request"].user)
    return cache


@register.simple_tag(takes_context=True)
def tracker_create_target(context, item):
    """The tracker the editor's "Create … issue" button for ``item`` would use, or None when the
    user may not change the item, it has an issue already, or its team has no tracker."""
    if not getattr(item, "pk", None):
        return None
    return _creatable(context, item.postmortem).get(item)


@register.inclusion_tag("trackers/_editor_create_forms.html", takes_context=True)
def tracker_create_forms(context, postmortem):
    """The small forms the editor's "Create … issue" buttons submit (through their ``form``
    attribute). They sit outside the editor's form, so creating an issue never submits the postmortem."""
    return {
        "references": [item.reference for item in _creatable(context, postmortem)],
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("trackers/_item_key.html")
def tracker_key(item):
    """The issue key of ``item`` as a link to the issue (or its state while being created), for the
    rows of item lists. Their querysets join the issue in (``selectors.with_tracker_issue``)."""
    return {"issue": tracker_issue_of(item)}
