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
from django_filters import MultipleChoiceFilter
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_errors import ErrorSerializer

from .archive_export import export_filename, export_markdown
from .filters import PostmortemArchiveFilter
from .markdown import render_markdown
from .models import FeedToken, Postmortem
from .querysets import PostmortemAccess
from .search import ORDERS, archive_page, feed_items


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


# --- The search API ---------------------------------------------------------------------------


class SearchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    reference = serializers.CharField(source="incident.reference")
    title = serializers.CharField(source="incident.title")
    url = serializers.SerializerMethodField(help_text="The postmortem's page.")
    status = serializers.CharField()
    visibility = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    severity = serializers.CharField(source="incident.severity.name")
    services = serializers.SerializerMethodField()
    cause_category = serializers.CharField(source="incident.cause_category.name", allow_null=True, default=None)
    tags = serializers.SerializerMethodField()
    open_action_items = serializers.IntegerField(source="open_action_count")
    rank = serializers.FloatField(allow_null=True, help_text="Relevance (higher is better); null when not ranked.")
    snippet = serializers.CharField(
        help_text="HTML: the matched words in <mark>, everything else escaped; quoted only from text you may read."
    )

    def get_url(self, pm) -> str:
        return self.context["request"].build_absolute_uri(pm.get_absolute_url())

    def get_services(self, pm) -> list[str]:
        return [service.name for service in pm.incident.services.all()]

    def get_tags(self, pm) -> list[str]:
        return [tag.name for tag in pm.incident.tags.all()]


class SearchResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Matches shown, at most 1000.")
    capped = serializers.BooleanField(help_text="Whether more postmortems match than are shown.")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    order = serializers.ChoiceField(choices=list(ORDERS))
    every_word = serializers.IntegerField(
        allow_null=True,
        help_text="When few postmortems hold every word, how many do (they come first); "
        "the others hold most of the words. Null otherwise.",
    )
    did_you_mean = serializers.CharField(allow_null=True, help_text="A respelling, when nothing matches.")
    notices = serializers.ListField(child=serializers.CharField())
    results = SearchResultSerializer(many=True)


def _filter_parameters() -> list[OpenApiParameter]:
    """The archive page's filters, as the schema's query parameters."""
    return [
        OpenApiParameter(name, str, many=isinstance(f, MultipleChoiceFilter), description=str(f.label))
        for name, f in PostmortemArchiveFilter.base_filters.items()
    ]


class SearchAPIView(APIView):
    """The archive's search: the same query syntax, visibility rules, ranking and snippets
    as the archive page, with its filters."""

    @extend_schema(
        operation_id="search_postmortems",
        summary="Search the postmortem archive",
        description=(
            'Words (postmortems holding every word first, then those holding most of them), "quoted '
            'phrases", OR between alternatives and -word to leave a word out. Stop words are ignored; '
            "synonyms (cert/TLS/SSL, db/database, k8s/kubernetes, ...) match, and the last word also as a beginning."
        ),
        parameters=[
            OpenApiParameter("q", str, description="What to search for; empty lists the newest first."),
            OpenApiParameter("sort", str, enum=list(ORDERS), description="relevance (default) or date."),
            OpenApiParameter("page", int, description="Page number, 20 results a page."),
            *_filter_parameters(),
        ],
        responses={
            200: SearchResponseSerializer,
            400: OpenApiResponse(ErrorSerializer, description="A filter's value is not understood."),
        },
    )
    def get(self, request):
        context = archive_page(request.user, request.query_params)
        if context["filterset"].errors:
            raise ValidationError(context["filterset"].errors)
        page = context["page"]
        body = {
            "count": page.paginator.count,
            "capped": page.paginator.object_list.capped,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "next": self._page_url(request, page.next_page_number()) if page.has_next() else None,
            "previous": self._page_url(request, page.previous_page_number()) if page.has_previous() else None,
            "order": context["order"],
            "every_word": context["every_word"],
            "did_you_mean": context["suggestion"],
            "notices": list(context["parsed"].notices),
            "results": SearchResultSerializer(page.object_list, many=True, context={"request": request}).data,
        }
        return Response(body)

    def _page_url(self, request, number: int) -> str:
        params = request.query_params.copy()
        params["page"] = number
        return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
