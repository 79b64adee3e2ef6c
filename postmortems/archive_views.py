"""The archive: search page, personal Atom feed (and its settings page), Markdown export.

Everything a reader gets comes through ``postmortems.search`` or ``visible_to`` and
``PostmortemAccess``, so the archive shows, quotes and exports only what they may read.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_POST

from .archive_export import export_filename, export_markdown
from .markdown import render_markdown
from .models import FeedToken, Postmortem
from .querysets import PostmortemAccess
from .search import archive_page, feed_items


@login_required
def archive_index(request):
    return render(request, "archive/index.html", archive_page(request.user, request.GET))


@login_required
def feed_settings(request):
    token = FeedToken.for_user(request.user)
    feed_url = request.build_absolute_uri(reverse("archive:feed", args=[token.token]))
    return render(request, "archive/feed_settings.html", {"feed_url": feed_url})


@login_required
@require_POST
def feed_regenerate(request):
    FeedToken.for_user(request.user).regenerate()
    messages.success(request, "Your feed has a new address; the old one no longer works.")
    return redirect("archive:feed_settings")


class PublishedFeed(Feed):
    """Newly published postmortems, as the token's user may read them."""

    feed_type = Atom1Feed
    title = "Newly published postmortems"
    subtitle = "Postmortems published in the organisation's archive."

    def get_object(self, request, token: str):
        return get_object_or_404(FeedToken.objects.select_related("user"), token=token, user__is_active=True)

    def link(self, obj) -> str:
        return reverse("archive:index")

    def items(self, obj) -> list[Postmortem]:
        return feed_items(obj.user)

    def item_title(self, item: Postmortem) -> str:
        return f"{item.incident.reference} {item.incident.title}"

    def item_description(self, item: Postmortem) -> str:
        if PostmortemAccess.from_annotated(item, None).redacted("summary"):
            return "The summary is internal to the postmortem's teams."
        return render_markdown(item.summary)

    def item_link(self, item: Postmortem) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Postmortem):
        return item.published_at

    def item_updateddate(self, item: Postmortem):
        return item.updated_at


@login_required
def export(request, pk: int):
    queryset = Postmortem.objects.visible_to(request.user).select_related("incident__severity")
    postmortem = get_object_or_404(queryset, pk=pk)
    text = export_markdown(postmortem, PostmortemAccess(postmortem, request.user))
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(postmortem)}"'
    return response
