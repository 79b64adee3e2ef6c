"""API representations of action items and the signed-in user's notifications."""

from __future__ import annotations

from rest_framework import serializers

from accounts.access import HISTORICAL_REFUSED, is_admin
from incidents.models import Team
from incidents.serializers import ModelSerializer, UTCDateTimeField, active_users
from postmortems.models import Postmortem
from postmortems.services import ACTION_ITEM_FIELDS
from trackers.serializers import TrackerLinkSerializer

from .models import ActionItem, Notification
from .services import EDITABLE_FIELDS


class ActionItemSerializer(ModelSerializer):
    incident = serializers.IntegerField(source="incident_pk", read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)
    can_edit = serializers.BooleanField(read_only=True, help_text="Whether you may change it.")
    tracker = TrackerLinkSerializer(
        source="tracker_issue",
        read_only=True,
        allow_null=True,
        help_text="Its GitHub or Jira issue (key, link, state), or null; more at its /tracker/ endpoint.",
    )

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "reference",
            "postmortem",
            "incident",
            *EDITABLE_FIELDS,
            "completed_at",
            "is_overdue",
            "can_edit",
            "tracker",
            "external_id",
            "source_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ActionItemWriteSerializer(ModelSerializer):
    """Change an item (its owner, the facilitator, the owner's team lead, admins). Moving a due
    date needs a ``note``; done needs a resolution note; won't-do needs the reason."""

    owner = serializers.PrimaryKeyRelatedField(queryset=active_users(), required=False, allow_null=True)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why: kept in the item's history."
    )
    completed_at = UTCDateTimeField(
        required=False,
        allow_null=True,
        help_text="Admins only, to record history: when a done item was done (else the server sets it).",
    )

    class Meta:
        model = ActionItem
        fields = [*EDITABLE_FIELDS, "note", "completed_at"]

    def validate(self, attrs: dict) -> dict:
        if "completed_at" not in attrs:
            return attrs
        status = attrs.get("status", self.instance.status if self.instance else None)
        stored = self.instance.completed_at if self.instance else None
        if attrs["completed_at"] == stored and (stored is None or status == ActionItem.Status.DONE):
            del attrs["completed_at"]  # the stored value sent back (a GET, edited, PATCH) sets nothing
            return attrs
        if not is_admin(getattr(self.context.get("request"), "user", None)):
            raise serializers.ValidationError({"completed_at": HISTORICAL_REFUSED})
        if status != ActionItem.Status.DONE or attrs["completed_at"] is None:
            raise serializers.ValidationError({"completed_at": "Only a done item has a completion time, and keeps it."})
        return attrs


class ActionItemNewSerializer(ModelSerializer):
    """A new action item of a postmortem (its facilitator, authors and admins add them, as in
    the editor). Once published, the postmortem needs an ``amendment_note``."""

    owner = serializers.PrimaryKeyRelatedField(queryset=active_users(), required=False, allow_null=True)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    amendment_note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required once the postmortem is published."
    )

    class Meta:
        model = ActionItem
        fields = [*ACTION_ITEM_FIELDS, "amendment_note"]


class ActionItemCreateSerializer(ActionItemNewSerializer):
    postmortem = serializers.PrimaryKeyRelatedField(queryset=Postmortem.objects.none())

    class Meta(ActionItemNewSerializer.Meta):
        fields = ["postmortem", *ActionItemNewSerializer.Meta.fields]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.context.get("request"), "user", None)
        self.fields["postmortem"].queryset = Postmortem.objects.visible_to(user)


class ActionItemDeleteSerializer(serializers.Serializer):
    amendment_note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required once the postmortem is published."
    )


class CompleteSerializer(serializers.Serializer):
    resolution_note = serializers.CharField(help_text="How it was done (a link to the change helps).")
    evidence_url = serializers.URLField(required=False, allow_blank=True, default="")


class ReopenSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", help_text="Why it is open again.")


class NotificationSerializer(ModelSerializer):
    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "state",
            "subject",
            "subject_key",
            "period_key",
            "item",
            "postmortem",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class NotificationDetailSerializer(NotificationSerializer):
    class Meta(NotificationSerializer.Meta):
        fields = [*NotificationSerializer.Meta.fields, "body_text"]
        read_only_fields = fields
