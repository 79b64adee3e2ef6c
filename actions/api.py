"""REST API views for action items (read, change, complete, reopen) and the signed-in
user's notifications. Reads follow ``ActionItem.objects.visible_to``; every write is an
``actions.services`` call, so the pages' rules hold here too."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action

from accounts.access import CHANGE_ACTION_ITEM_REFUSED, may_change_action_item, require
from config.api_base import ReadWriteViewSet, write_schema
from incidents.services import historical_times_set
from postmortems.services import action_item_add, action_item_remove

from . import services
from .filters import ActionItemAPIFilter, NotificationFilter
from .models import ActionItem, Notification
from .serializers import (
    ActionItemCreateSerializer,
    ActionItemDeleteSerializer,
    ActionItemSerializer,
    ActionItemWriteSerializer,
    CompleteSerializer,
    NotificationDetailSerializer,
    NotificationSerializer,
    ReopenSerializer,
)


def readable_items(user):
    """Action items ``user`` may read, with what the read serializer shows (``can_edit``, the
    incident's id) in the one query."""
    return (
        ActionItem.objects.visible_to(user)
        .with_access(user)
        .annotate(incident_pk=F("postmortem__incident_id"))
        .select_related("tracker_issue")  # the read serializer's ``tracker``, in the same query
        .order_by("due_date", "id")
    )


DELETE_NOTE = OpenApiParameter(
    "amendment_note", str, description="Required when the postmortem is published: why the item goes."
)


@extend_schema_view(
    **write_schema(ActionItemWriteSerializer, ActionItemSerializer, create=ActionItemCreateSerializer),
    destroy=extend_schema(
        parameters=[DELETE_NOTE],
        description="Remove the item from its postmortem (the postmortem's facilitator, authors and admins).",
        responses={204: OpenApiResponse(description="Deleted.")},
    ),
)
class ActionItemViewSet(ReadWriteViewSet):
    """Action items you may read (their postmortem is visible to you, or you may change them).
    The postmortem's facilitator, authors and admins add and delete items (as in its editor);
    the owner, the facilitator, the owner's team lead and admins change them."""

    serializer_class = ActionItemSerializer
    write_serializer_class = ActionItemWriteSerializer
    filterset_class = ActionItemAPIFilter
    http_method_names = ["get", "patch", "post", "delete", "head", "options"]

    def get_serializer_class(self):
        if self.action == "create":
            return ActionItemCreateSerializer
        return super().get_serializer_class()

    def get_queryset(self):
        return readable_items(self.request.user)

    def perform_create(self, serializer) -> ActionItem:
        data = dict(serializer.validated_data)
        postmortem, note = data.pop("postmortem"), data.pop("amendment_note")
        return action_item_add(postmortem=postmortem, user=self.request.user, fields=data, amendment_note=note)

    def check_can_update(self, item: ActionItem) -> None:
        require(may_change_action_item(self.request.user, item), CHANGE_ACTION_ITEM_REFUSED)

    @transaction.atomic
    def perform_update(self, serializer) -> ActionItem:
        data = dict(serializer.validated_data)
        note = data.pop("note", "")
        times = {"completed_at": data.pop("completed_at")} if "completed_at" in data else {}
        item = services.action_item_update(item=serializer.instance, user=self.request.user, data=data, note=note)
        return historical_times_set(obj=item, user=self.request.user, times=times)

    def perform_destroy(self, item: ActionItem) -> None:
        body = ActionItemDeleteSerializer(data=self.request.query_params)
        body.is_valid(raise_exception=True)
        action_item_remove(item=item, user=self.request.user, amendment_note=body.validated_data["amendment_note"])

    @extend_schema(request=CompleteSerializer, responses={200: ActionItemSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Mark the item done, saying how (and, optionally, linking the evidence)."""
        item = self.get_object()
        body = CompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.action_item_complete(item=item, user=request.user, **body.validated_data)
        return self.read_response(item)

    @extend_schema(request=ReopenSerializer, responses={200: ActionItemSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Open a done or won't-do item again."""
        item = self.get_object()
        body = ReopenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.action_item_reopen(item=item, user=request.user, note=body.validated_data["note"])
        return self.read_response(item)


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """Your own notifications: reminders, escalations, digests and review requests sent to you."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter

    def get_serializer_class(self):
        return NotificationDetailSerializer if self.action == "retrieve" else NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Notification.objects.none()
        return Notification.objects.filter(recipient=self.request.user).order_by("-created_at", "-id")
