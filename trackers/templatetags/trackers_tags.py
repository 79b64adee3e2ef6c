from django import template

from ..models import TrackerIssue

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
