"""REST API views for action items (read, change, complete, reopen) and the signed-in
user's notifications. Reads follow ``ActionItem.objects.visible_to``; every write is an
``actions.services`` call, so the pages' rules hold here too."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import F
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action

from config.api_base import ReadWriteMixin, write_schema

from . import services
from .filters import ActionItemAPIFilter, NotificationFilter
from .models import ActionItem, Notification
from .serializers import (
    ActionItemSerializer,
    ActionItemWriteSerializer,
    CompleteSerializer,
    NotificationDetailSerializer,
    NotificationSerializer,
    ReopenSerializer,
)


@extend_schema_view(**write_schema(ActionItemWriteSerializer, ActionItemSerializer, create=False))
class ActionItemViewSet(
    ReadWriteMixin,
    mixins.UpdateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Action items you may read (their postmortem is visible to you, or you may change them).
    Items are created in their postmortem's editor."""

    serializer_class = ActionItemSerializer
    write_serializer_class = ActionItemWriteSerializer
    filterset_class = ActionItemAPIFilter
    http_method_names = ["get", "patch", "post", "head", "options"]

    def get_queryset(self):
        user = self.request.user
        return (
            ActionItem.objects.visible_to(user)
            .with_access(user)
            .annotate(incident_pk=F("postmortem__incident_id"))
            .order_by("due_date", "id")
        )

    def check_can_update(self, item: ActionItem) -> None:
        if not services.can_edit(item=item, user=self.request.user):
            raise PermissionDenied("Only the owner, the facilitator, the owner's team lead and admins change an item.")

    def perform_update(self, serializer) -> ActionItem:
        data = dict(serializer.validated_data)
        note = data.pop("note", "")
        return services.action_item_update(item=serializer.instance, user=self.request.user, data=data, note=note)

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
