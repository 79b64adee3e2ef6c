"""API representations of postmortems and reviews.

Readers without full access (``with_full_access``) get each internal section as ``null``
and its name in ``redacted_sections``; the text itself never leaves the server.
"""

from __future__ import annotations

from rest_framework import serializers

from accounts.access import HISTORICAL_REFUSED, is_admin
from incidents.models import Incident, Team
from incidents.serializers import ModelSerializer, UTCDateTimeField, active_users

from .models import SECTION_NAMES, Postmortem, Review
from .querysets import PostmortemAccess
from .services import M2M_FIELDS, PLAIN_FIELDS


class ReviewSerializer(ModelSerializer):
    class Meta:
        model = Review
        fields = ["id", "reviewer", "decision", "comment", "postmortem_version", "created_at"]
        read_only_fields = fields
        # null for readers outside the teams of a postmortem with internal sections
        extra_kwargs = {"comment": {"allow_null": True}}


class PostmortemSerializer(ModelSerializer):
    """A postmortem as the requesting user may read it."""

    authors = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    reviewers = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    teams = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    reviews = ReviewSerializer(many=True, read_only=True)
    redacted_sections = serializers.SerializerMethodField(
        help_text="Internal sections you may not read; each is null above."
    )
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Postmortem
        fields = [
            "id",
            "incident",
            "status",
            "facilitator",
            "authors",
            "reviewers",
            "due_date",
            "is_overdue",
            *SECTION_NAMES,
            "users_affected",
            "revenue_impact",
            "visibility",
            "teams",
            "internal_sections",
            "redacted_sections",
            "version",
            "submitted_at",
            "published_at",
            "external_id",
            "source_url",
            "created_at",
            "updated_at",
            "reviews",
        ]
        read_only_fields = fields
        extra_kwargs = {name: {"allow_null": True} for name in SECTION_NAMES}

    def get_redacted_sections(self, postmortem: Postmortem) -> list[str]:
        access = PostmortemAccess.from_annotated(postmortem, None)
        return [name for name in SECTION_NAMES if access.redacted(name)]

    def to_representation(self, postmortem: Postmortem) -> dict:
        data = super().to_representation(postmortem)
        for name in data["redacted_sections"]:
            data[name] = None
        if PostmortemAccess.from_annotated(postmortem, None).hides_discussion:
            for review in data.get("reviews", []):
                review["comment"] = None
        return data


class PostmortemCreateSerializer(serializers.Serializer):
    """Start the postmortem of an incident you may edit (its commander, a responder, its declarer, a
    member of a team owning one of its services, or an admin): you become its facilitator. An incident
    you may only see answers 403."""

    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.context.get("request"), "user", None)
        self.fields["incident"].queryset = Incident.objects.visible_to(user)


# Times the server sets (on submitting, on publishing, from the severity's rule) that admins may
# set to record history, e.g. when bringing in an archive.
HISTORICAL_FIELDS = ["due_date", "submitted_at", "published_at"]
ACTION_ITEMS_ELSEWHERE = (
    "Action items are not changed here: add them at /api/v1/postmortems/{id}/action-items/ and "
    "change or delete them at /api/v1/action-items/{id}/."
)


class PostmortemWriteSerializer(ModelSerializer):
    """Edit a postmortem: send the ``version`` you read; a newer saved version answers 409.
    ``due_date``, ``submitted_at`` and ``published_at`` are the server's unless an admin sets
    them (anyone else sending them gets a 400); action items have endpoints of their own."""

    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The version you read; someone else's later save makes it stale."
    )
    amendment_note = serializers.CharField(
        required=False, allow_blank=True, help_text="Required once published: what changed and why."
    )
    authors = serializers.PrimaryKeyRelatedField(many=True, queryset=active_users(), required=False)
    reviewers = serializers.PrimaryKeyRelatedField(many=True, queryset=active_users(), required=False)
    teams = serializers.PrimaryKeyRelatedField(many=True, queryset=Team.objects.all(), required=False)
    internal_sections = serializers.ListField(child=serializers.ChoiceField(choices=SECTION_NAMES), required=False)
    submitted_at = UTCDateTimeField(required=False, help_text="Admins only.")
    published_at = UTCDateTimeField(required=False, help_text="Admins only.")

    class Meta:
        model = Postmortem
        fields = ["version", *PLAIN_FIELDS, *M2M_FIELDS, "amendment_note", *HISTORICAL_FIELDS]
        extra_kwargs = {"due_date": {"help_text": "Admins only; otherwise set from the severity's rule."}}

    def validate(self, attrs: dict) -> dict:
        errors = {}
        if "version" not in attrs:  # PATCH too: every edit says which version it changes
            errors["version"] = [serializers.Field.default_error_messages["required"]]
        if "action_items" in self.initial_data:  # never silently dropped
            errors["action_items"] = [ACTION_ITEMS_ELSEWHERE]
        for name in HISTORICAL_FIELDS:  # sending back the stored value (a GET, edited, PUT) sets nothing
            if name in attrs and self.instance is not None and attrs[name] == getattr(self.instance, name):
                del attrs[name]
        if not is_admin(getattr(self.context.get("request"), "user", None)):
            errors.update({name: [HISTORICAL_REFUSED] for name in HISTORICAL_FIELDS if name in attrs})
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ReviewRequestSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class RequestChangesSerializer(serializers.Serializer):
    comment = serializers.CharField(help_text="What should change.")
