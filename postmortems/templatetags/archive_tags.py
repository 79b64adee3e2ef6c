from django import template

from postmortems.search import similar_postmortems as find_similar

register = template.Library()


@register.inclusion_tag("archive/_similar.html", takes_context=True)
def similar_postmortems(context, postmortem, limit: int = 5) -> dict:
    """``{% similar_postmortems postmortem %}``: published postmortems like this one that the
    signed-in reader may read (matched on its public text only)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"similar": find_similar(postmortem, user, limit=limit) if user else []}
