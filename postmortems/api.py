"""REST API views for postmortems: read (with redaction), start, edit with optimistic
locking, and the review workflow as actions. Every write is a ``postmortems.services`` call."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.access import DELETE_REFUSED, EDIT_POSTMORTEM_REFUSED, require
from actions.api import readable_items
from actions.serializers import ActionItemNewSerializer, ActionItemSerializer
from config.api_base import ReadWriteViewSet, write_schema
from config.api_errors import ErrorSerializer
from incidents.serializers import User
from incidents.services import audited_delete, historical_times_set

from . import services
from .filters import PostmortemAPIFilter
from .models import Postmortem, Review
from .querysets import PostmortemAccess
from .serializers import (
    HISTORICAL_FIELDS,
    PostmortemCreateSerializer,
    PostmortemSerializer,
    PostmortemWriteSerializer,
    RequestChangesSerializer,
    ReviewRequestSerializer,
)

Status = Postmortem.Status


TRANSITION_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Not allowed in the postmortem's state; `detail` says why."),
}


@extend_schema_view(
    **write_schema(
        PostmortemWriteSerializer,
        PostmortemSerializer,
        create=PostmortemCreateSerializer,
        conflict=True,
        delete="Admins only. Deletes the postmortem, its reviews and action items, and its search document; "
        "the admin's history records who deleted it and when.",
    ),
)
class PostmortemViewSet(ReadWriteViewSet):
    """Postmortems you may read; internal sections you may not read are null and listed in
    ``redacted_sections``. The facilitator and authors edit, reviewers review, the facilitator
    publishes: the same rules, and the same checks, as the pages."""

    serializer_class = PostmortemSerializer
    write_serializer_class = PostmortemWriteSerializer
    filterset_class = PostmortemAPIFilter

    def get_serializer_class(self):
        if self.action == "create":
            return PostmortemCreateSerializer
        return super().get_serializer_class()

    def get_queryset(self):
        user = self.request.user
        people = User.objects.only("pk")
        postmortems = Postmortem.objects.visible_to(user).with_full_access(user).order_by("-created_at", "-id")
        if self.action in ("action_items", "destroy"):  # the row alone: its relations are not shown
            return postmortems
        return postmortems.prefetch_related(
            Prefetch("authors", queryset=people),
            Prefetch("reviewers", queryset=people),
            "teams",
            Prefetch("reviews", queryset=Review.objects.order_by("-created_at", "-id")),
        )

    def perform_create(self, serializer) -> Postmortem:
        return services.postmortem_start(incident=serializer.validated_data["incident"], user=self.request.user)

    def check_can_update(self, postmortem: Postmortem) -> None:
        require(PostmortemAccess(postmortem, self.request.user).can_edit, EDIT_POSTMORTEM_REFUSED)

    @transaction.atomic
    def perform_update(self, serializer) -> Postmortem:
        postmortem = serializer.instance
        data = dict(serializer.validated_data)
        version = data.pop("version")
        note = data.pop("amendment_note", "")
        times = {name: data.pop(name) for name in HISTORICAL_FIELDS if name in data}
        if serializer.partial and ("visibility" in data or "teams" in data):
            # The service checks visibility and teams together: complete the pair from the saved row.
            data.setdefault("visibility", postmortem.visibility)
            data.setdefault("teams", list(postmortem.teams.all()))
        if times and not data and postmortem.version != version:
            raise services.StaleVersion(postmortem)
        postmortem = services.postmortem_update(
            postmortem=postmortem, user=self.request.user, data=data, expected_version=version, amendment_note=note
        )
        return historical_times_set(obj=postmortem, user=self.request.user, times=times)

    def perform_destroy(self, postmortem: Postmortem) -> None:
        audited_delete(obj=postmortem, user=self.request.user, refusal=DELETE_REFUSED)

    @extend_schema(
        methods=["GET"],
        responses={200: ActionItemSerializer(many=True)},
        description="The postmortem's action items (as in /api/v1/action-items/?postmortem={id}).",
    )
    @extend_schema(
        methods=["POST"],
        request=ActionItemNewSerializer,
        responses={201: ActionItemSerializer},
        description="Add an action item (the facilitator, authors and admins, as in the editor). "
        "Change or delete it at /api/v1/action-items/{id}/.",
    )
    @action(detail=True, methods=["get", "post"], url_path="action-items", filterset_class=None)
    def action_items(self, request, pk=None):
        postmortem = self.get_object()
        if request.method == "GET":
            items = readable_items(request.user).filter(postmortem=postmortem)
            page = self.paginate_queryset(items)
            return self.get_paginated_response(ActionItemSerializer(page, many=True).data)
        body = ActionItemNewSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        note = fields.pop("amendment_note")
        item = services.action_item_add(postmortem=postmortem, user=request.user, fields=fields, amendment_note=note)
        fresh = readable_items(request.user).get(pk=item.pk)
        return Response(ActionItemSerializer(fresh).data, status=201)

    @extend_schema(request=None, responses={200: PostmortemSerializer, **TRANSITION_ERRORS})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Draft → in review (the facilitator or an author; needs a reviewer, who is emailed)."""
        postmortem = services.postmortem_submit(postmortem=self.get_object(), user=request.user)
        return self.read_response(postmortem)

    @extend_schema(request=ReviewRequestSerializer, responses={200: PostmortemSerializer, **TRANSITION_ERRORS})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """A reviewer approves the current version."""
        return self._review(request, Review.Decision.APPROVE, ReviewRequestSerializer)

    @extend_schema(request=RequestChangesSerializer, responses={200: PostmortemSerializer, **TRANSITION_ERRORS})
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, pk=None):
        """A reviewer asks for changes to the current version, saying what should change."""
        return self._review(request, Review.Decision.REQUEST_CHANGES, RequestChangesSerializer)

    @extend_schema(request=None, responses={200: PostmortemSerializer, **TRANSITION_ERRORS})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """In review → published (the facilitator or an admin, once the current version is approved)."""
        postmortem = services.postmortem_publish(postmortem=self.get_object(), user=request.user)
        return self.read_response(postmortem)

    def _review(self, request, decision: str, serializer_class):
        postmortem = self.get_object()
        body = serializer_class(data=request.data)
        body.is_valid(raise_exception=True)
        services.postmortem_review(
            postmortem=postmortem, user=request.user, decision=decision, comment=body.validated_data["comment"]
        )
        return self.read_response(postmortem)
