"""API representations of teams, services, the taxonomies, incidents and their history.

Relations are plain ids throughout the API (users too: ``/api/v1/users/`` resolves them).
Read serializers are separate from write serializers where the two differ.
"""

from __future__ import annotations

from datetime import UTC

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils import timezone
from rest_framework import serializers
from taggit.models import TaggedItem

from .models import (
    INCIDENT_EDITABLE_FIELDS,
    ROLE_FIELDS,
    ApiToken,
    CauseCategory,
    FailureClass,
    Incident,
    Service,
    Severity,
    SeverityChange,
    Team,
    TimelineEvent,
)
from .services import severity_reason_problem
from .timestamps import validate_timestamp

# Recording an alert takes a few queries; a delivery must finish well inside a request.
MAX_ALERTS_PER_PAYLOAD = 500

User = get_user_model()


class UTCDateTimeField(serializers.DateTimeField):
    """Times in UTC ("...Z"), whatever time zone the browser's cookie activated: scripts get
    one format, and the conversion skips a per-value time-zone lookup. Times sent without
    an offset are read as UTC."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(*args, **kwargs)


class ModelSerializer(serializers.ModelSerializer):
    """The API's base for model serializers."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


def active_users():
    return User.objects.filter(is_active=True)


class UserSerializer(ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class TeamSerializer(ModelSerializer):
    members = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "lead", "members", "digest_email"]


class TeamWriteSerializer(ModelSerializer):
    """Create or change a team (admins): ``members`` replaces the member list when sent."""

    members = serializers.PrimaryKeyRelatedField(many=True, queryset=active_users(), required=False)
    lead = serializers.PrimaryKeyRelatedField(queryset=active_users(), required=False, allow_null=True)

    class Meta:
        model = Team
        fields = ["name", "slug", "lead", "members", "digest_email"]


class ServiceSerializer(ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "name", "slug", "team", "runbook_url", "description"]


class SeveritySerializer(ModelSerializer):
    class Meta:
        model = Severity
        fields = [
            "id",
            "name",
            "level",
            "label",
            "criteria",
            "response_time",
            "update_cadence",
            "requires_postmortem",
            "postmortem_due_business_days",
        ]


class CauseCategorySerializer(ModelSerializer):
    class Meta:
        model = CauseCategory
        fields = ["id", "name", "slug", "description"]


class FailureClassSerializer(ModelSerializer):
    class Meta:
        model = FailureClass
        fields = ["id", "name", "slug", "description", "keywords"]


def attach_tag_names(incidents: list[Incident]) -> None:
    """Load the tag names of a page of incidents in one query (taggit's own prefetch
    builds a queryset per row, which costs more than the rest of the page)."""
    names: dict[int, list[str]] = {incident.pk: [] for incident in incidents}
    tagged = TaggedItem.objects.filter(
        content_type=ContentType.objects.get_for_model(Incident), object_id__in=list(names)
    ).order_by("tag__name")
    for object_id, name in tagged.values_list("object_id", "tag__name"):
        names[object_id].append(name)
    for incident in incidents:
        incident.tag_names = names[incident.pk]


class TagNamesField(serializers.ListField):
    """An incident's tags as a list of names (from ``attach_tag_names`` when it ran)."""

    child = serializers.CharField(max_length=100)

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, incident):
        if not hasattr(incident, "tag_names"):
            attach_tag_names([incident])
        return incident.tag_names


class IncidentListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        incidents = list(data.all() if hasattr(data, "all") else data)
        attach_tag_names(incidents)
        return super().to_representation(incidents)


class SeverityChangeSerializer(ModelSerializer):
    class Meta:
        model = SeverityChange
        fields = ["id", "from_severity", "to_severity", "changed_by", "changed_at", "reason"]


class TimelineEventSerializer(ModelSerializer):
    class Meta:
        model = TimelineEvent
        fields = ["id", "incident", "occurred_at", "kind", "text", "author", "created_at"]
        read_only_fields = fields


class TimelineEventWriteSerializer(ModelSerializer):
    """``incident`` is chosen among the incidents the user may see, and cannot change later."""

    class Meta:
        model = TimelineEvent
        fields = ["incident", "occurred_at", "kind", "text"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        self.fields["incident"].queryset = Incident.objects.visible_to(user)

    def validate_incident(self, incident: Incident) -> Incident:
        if self.instance is not None and incident.pk != self.instance.incident_id:
            raise serializers.ValidationError("A timeline event cannot move to another incident.")
        return incident

    def validate_text(self, text: str) -> str:
        if not text.strip():
            raise serializers.ValidationError("Say what happened.")
        return text.strip()


INCIDENT_FIELDS = [
    "id",
    "reference",
    *INCIDENT_EDITABLE_FIELDS,
    "created_by",
    "alert_group_key",
    "postmortem",
    "external_id",
    "source_url",
    "created_at",
    "updated_at",
]


class IncidentSerializer(ModelSerializer):
    """An incident in lists. ``postmortem`` is its postmortem's id (null when none is started)."""

    services = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    tags = TagNamesField()
    postmortem = serializers.IntegerField(source="postmortem_pk", read_only=True, allow_null=True)

    class Meta:
        model = Incident
        fields = INCIDENT_FIELDS
        read_only_fields = fields
        list_serializer_class = IncidentListSerializer


class IncidentDetailSerializer(IncidentSerializer):
    """One incident with its timeline and severity history."""

    timeline_events = TimelineEventSerializer(many=True, read_only=True)
    severity_changes = SeverityChangeSerializer(many=True, read_only=True)
    failure_classes = serializers.SlugRelatedField(many=True, read_only=True, slug_field="slug")

    class Meta(IncidentSerializer.Meta):
        fields = [*INCIDENT_FIELDS, "failure_classes", "timeline_events", "severity_changes"]
        read_only_fields = fields


class IncidentWriteSerializer(ModelSerializer):
    """Declare or edit an incident; the same rules as the incident form (timestamps in
    order, a reason for every severity change)."""

    services = serializers.PrimaryKeyRelatedField(many=True, queryset=Service.objects.all(), required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    severity_reason = serializers.CharField(
        write_only=True, required=False, allow_blank=True, help_text="Required when the severity changes."
    )
    declared_at = UTCDateTimeField(required=False, validators=[validate_timestamp])
    failure_classes = serializers.SlugRelatedField(
        many=True, slug_field="slug", queryset=FailureClass.objects.all(), required=False
    )

    class Meta:
        model = Incident
        fields = [*INCIDENT_EDITABLE_FIELDS[:3], "severity_reason", *INCIDENT_EDITABLE_FIELDS[3:], "failure_classes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ROLE_FIELDS:
            self.fields[name].queryset = active_users()

    def validate(self, attrs: dict) -> dict:
        plain = {k: v for k, v in attrs.items() if k not in ("services", "tags", "severity_reason", "failure_classes")}
        if self.instance is None:
            candidate = Incident(declared_at=timezone.now())
        else:
            fields = Incident._meta.concrete_fields
            candidate = Incident(**{f.attname: getattr(self.instance, f.attname) for f in fields})
        for name, value in plain.items():
            setattr(candidate, name, value)
        try:
            candidate.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from error
        problem = severity_reason_problem(
            previous=self.instance.severity if self.instance else None,
            severity=attrs.get("severity"),
            reason=attrs.get("severity_reason", ""),
        )
        if problem:
            raise serializers.ValidationError({"severity_reason": problem})
        return attrs


class ApiTokenSerializer(ModelSerializer):
    """One of your API tokens; the key itself is shown only when it is created."""

    name = serializers.CharField(max_length=100, help_text="What it is for, e.g. “CI deploy job”.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]

    def validate_name(self, name: str) -> str:
        if not name.strip():
            raise serializers.ValidationError("Say what the token is for.")
        return name.strip()


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.SerializerMethodField(help_text="The token: shown this once, store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]

    def get_key(self, token) -> str:
        return self.context["key"]


# Alert webhooks ---------------------------------------------------------------------------


class AlertTimeField(serializers.DateTimeField):
    """A time from an alert, within the bounds of ``incidents.timestamps``. Where the field may
    be null, Alertmanager's "0001-01-01T00:00:00Z" (not ended) reads as null."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [validate_timestamp])
        super().__init__(*args, **kwargs)

    def to_internal_value(self, value):
        if self.allow_null and isinstance(value, str) and value.startswith("0001-01-01"):
            return None
        return super().to_internal_value(value)


class AlertmanagerAlertSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["firing", "resolved"])
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    annotations = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    startsAt = AlertTimeField()  # noqa: N815 (Alertmanager's names)
    endsAt = AlertTimeField(required=False, allow_null=True, default=None)  # noqa: N815
    generatorURL = serializers.CharField(required=False, allow_blank=True, default="")  # noqa: N815
    fingerprint = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate_labels(self, labels: dict) -> dict:
        if not labels.get("alertname"):
            raise serializers.ValidationError("Every alert needs an alertname label.")
        return labels


class AlertmanagerPayloadSerializer(serializers.Serializer):
    """Prometheus Alertmanager's webhook body (version 4)."""

    version = serializers.CharField(required=False, default="4")
    groupKey = serializers.CharField(max_length=10_000)  # noqa: N815
    truncatedAlerts = serializers.IntegerField(required=False, default=0, min_value=0)  # noqa: N815
    status = serializers.ChoiceField(choices=["firing", "resolved"])
    receiver = serializers.CharField(required=False, allow_blank=True, default="")
    groupLabels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)  # noqa: N815
    commonLabels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)  # noqa: N815
    commonAnnotations = serializers.DictField(  # noqa: N815
        child=serializers.CharField(allow_blank=True), required=False
    )
    externalURL = serializers.CharField(required=False, allow_blank=True)  # noqa: N815
    alerts = AlertmanagerAlertSerializer(
        many=True,
        allow_empty=False,
        max_length=MAX_ALERTS_PER_PAYLOAD,
        error_messages={
            "max_length": (
                f"At most {MAX_ALERTS_PER_PAYLOAD} alerts per delivery: set max_alerts: {MAX_ALERTS_PER_PAYLOAD} "
                "in Alertmanager's webhook_config (it then sends the first ones and counts the rest in "
                "truncatedAlerts)."
            )
        },
    )

    def validate_version(self, version: str) -> str:
        if version != "4":
            raise serializers.ValidationError(f"Only version 4 of Alertmanager's webhook is understood, not {version}.")
        return version


class GenericAlertSerializer(serializers.Serializer):
    """One alert from any monitoring system. Send it again with ``status: resolved`` (and
    ``ended_at``) when it clears; alerts sharing a ``group_key`` share one open incident."""

    id = serializers.CharField(max_length=200, help_text="The alert's stable id; repeats of it are ignored.")
    status = serializers.ChoiceField(choices=["firing", "resolved"], default="firing")
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    group_key = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, default="", help_text="Defaults to the alert's id."
    )
    service = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="A service's slug (or name)."
    )
    severity = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="A label mapped through ALERT_SEVERITY_MAP (e.g. critical), or a severity name (e.g. SEV2).",
    )
    started_at = AlertTimeField(help_text="When the alert started firing; becomes detected_at.")
    ended_at = AlertTimeField(required=False, allow_null=True, default=None)
    url = serializers.URLField(required=False, allow_blank=True, default="")
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)

    def validate(self, attrs: dict) -> dict:
        ended = attrs.get("ended_at")
        if ended and ended < attrs["started_at"]:
            raise serializers.ValidationError({"ended_at": "An alert cannot end before it started."})
        return attrs


class AlertResultSerializer(serializers.Serializer):
    incident = serializers.IntegerField(allow_null=True, help_text="The incident opened or updated, if any.")
    reference = serializers.CharField(allow_null=True)
    created = serializers.BooleanField(help_text="Whether this delivery opened the incident.")
    events_added = serializers.IntegerField(help_text="Timeline events recorded by this delivery.")
