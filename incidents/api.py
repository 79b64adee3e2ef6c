"""REST API views for users, teams, services, the taxonomies, incidents, timelines and alerts in.

Every queryset starts from the permission rules the pages use (``visible_to``,
``editable_by``, ``timeline_editable_by``); writes go through the same services.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db.models import F, Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import (
    DELETE_REFUSED,
    EDIT_INCIDENT_REFUSED,
    EDIT_TIMELINE_REFUSED,
    may_edit_incident,
    may_edit_timeline,
    require,
)
from config.api_base import AdminWritesOrReadOnly, ReadWriteCreateMixin, write_schema
from config.api_errors import ErrorSerializer
from config.api_throttles import WebhookRateThrottle

from . import serializers as s
from .api_alerts import Alert, AlertGroup, alert_group_receive
from .filters import (
    CauseCategoryFilter,
    FailureClassFilter,
    IncidentAPIFilter,
    ServiceFilter,
    SeverityFilter,
    TeamFilter,
    TimelineEventFilter,
    UserFilter,
)
from .metrics_api import MetricsAPIView
from .metrics_views import MetricsFilterForm
from .models import CauseCategory, FailureClass, Incident, Service, Severity, SeverityChange, Team, TimelineEvent
from .services import (
    audited_delete,
    incident_create,
    incident_update,
    reference_data_save,
    timeline_event_add,
    timeline_event_delete,
    timeline_event_update,
)


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Active users, to resolve the user ids found elsewhere in the API."""

    serializer_class = s.UserSerializer
    filterset_class = UserFilter

    def get_queryset(self):
        return s.active_users().order_by("username", "id")


class ReferenceDataViewSet(
    ReadWriteCreateMixin,
    mixins.UpdateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Read by anyone signed in; created and changed by admins only (``incidents.services``), each
    write recorded in the admin's history."""

    permission_classes = [IsAuthenticated, AdminWritesOrReadOnly]

    def perform_create(self, serializer):
        model = serializer.Meta.model
        return reference_data_save(instance=model(), user=self.request.user, data=dict(serializer.validated_data))

    def perform_update(self, serializer):
        instance, data = serializer.instance, dict(serializer.validated_data)
        return reference_data_save(instance=instance, user=self.request.user, data=data)


ADMIN_WRITES = "Anyone signed in reads; admins create and change."


@extend_schema_view(**write_schema(s.TeamWriteSerializer, s.TeamSerializer))
class TeamViewSet(ReferenceDataViewSet):
    __doc__ = f"Teams and their members. {ADMIN_WRITES}"

    serializer_class = s.TeamSerializer
    write_serializer_class = s.TeamWriteSerializer
    filterset_class = TeamFilter
    queryset = Team.objects.prefetch_related(Prefetch("members", queryset=s.User.objects.only("pk"))).order_by("name")


@extend_schema_view(**write_schema(s.ServiceSerializer, s.ServiceSerializer))
class ServiceViewSet(ReferenceDataViewSet):
    __doc__ = f"Services and their owning teams. {ADMIN_WRITES}"

    serializer_class = write_serializer_class = s.ServiceSerializer
    filterset_class = ServiceFilter
    queryset = Service.objects.order_by("name")


class SeverityViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.SeveritySerializer
    filterset_class = SeverityFilter
    queryset = Severity.objects.order_by("level")


@extend_schema_view(**write_schema(s.CauseCategorySerializer, s.CauseCategorySerializer))
class CauseCategoryViewSet(ReferenceDataViewSet):
    __doc__ = f"Cause categories. {ADMIN_WRITES}"

    serializer_class = write_serializer_class = s.CauseCategorySerializer
    filterset_class = CauseCategoryFilter
    queryset = CauseCategory.objects.order_by("name")


@extend_schema_view(**write_schema(s.FailureClassSerializer, s.FailureClassSerializer))
class FailureClassViewSet(ReferenceDataViewSet):
    __doc__ = f"Failure classes (what makes incidents repeats of each other). {ADMIN_WRITES}"

    serializer_class = write_serializer_class = s.FailureClassSerializer
    filterset_class = FailureClassFilter
    queryset = FailureClass.objects.order_by("name")


@extend_schema_view(
    **write_schema(
        s.IncidentWriteSerializer,
        s.IncidentDetailSerializer,
        delete="Admins only. Deletes the incident with its timeline and postmortem (and that postmortem's "
        "search document); the admin's history records who deleted it and when.",
    )
)
class IncidentViewSet(ReadWriteCreateMixin, viewsets.ModelViewSet):
    """Incidents you may see. Anyone signed in declares one; its responders, its services'
    teams and admins edit it; admins delete it. The detail carries the timeline and the
    severity history."""

    serializer_class = s.IncidentSerializer
    detail_serializer_class = s.IncidentDetailSerializer
    write_serializer_class = s.IncidentWriteSerializer
    filterset_class = IncidentAPIFilter

    def get_queryset(self):
        incidents = (
            Incident.objects.visible_to(self.request.user)
            .annotate(postmortem_pk=F("postmortem__id"))
            .prefetch_related(Prefetch("services", queryset=Service.objects.only("pk")))
        )
        if self.action != "list":
            incidents = incidents.prefetch_related(
                "timeline_events",
                Prefetch("severity_changes", queryset=SeverityChange.objects.all()),
                "failure_classes",
            )
        return incidents

    def perform_create(self, serializer) -> Incident:
        return incident_create(by=self.request.user, **serializer.validated_data)

    def check_can_update(self, incident: Incident) -> None:
        require(may_edit_incident(self.request.user, incident), EDIT_INCIDENT_REFUSED)

    def perform_update(self, serializer) -> Incident:
        return incident_update(serializer.instance, by=self.request.user, **serializer.validated_data)

    def perform_destroy(self, incident: Incident) -> None:
        audited_delete(obj=incident, user=self.request.user, refusal=DELETE_REFUSED)


@extend_schema_view(**write_schema(s.TimelineEventWriteSerializer, s.TimelineEventSerializer))
class TimelineEventViewSet(ReadWriteCreateMixin, viewsets.ModelViewSet):
    """Timeline events of the incidents you may see (filter by ``incident``). Those who may edit
    the incident, or its postmortem, add, change and delete them."""

    serializer_class = s.TimelineEventSerializer
    write_serializer_class = s.TimelineEventWriteSerializer
    filterset_class = TimelineEventFilter

    def get_queryset(self):
        visible = Incident.objects.visible_to(self.request.user).values("pk")
        return TimelineEvent.objects.filter(incident__in=visible)

    def perform_create(self, serializer) -> TimelineEvent:
        data = dict(serializer.validated_data)
        incident = data.pop("incident")
        return timeline_event_add(incident=incident, user=self.request.user, event=TimelineEvent(**data))

    def check_can_update(self, event: TimelineEvent) -> None:
        require(may_edit_timeline(self.request.user, event.incident), EDIT_TIMELINE_REFUSED)

    def perform_update(self, serializer) -> TimelineEvent:
        data = dict(serializer.validated_data)
        data.pop("incident", None)  # validated as unchanged
        return timeline_event_update(serializer.instance, by=self.request.user, **data)

    def perform_destroy(self, instance: TimelineEvent) -> None:
        timeline_event_delete(instance, by=self.request.user)


# Metrics ------------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR, description=str(field.label or ""))
            for name, field in MetricsFilterForm.base_fields.items()
        ],
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiResponse(
                {"type": "object", "properties": {"errors": {"type": "object"}}, "required": ["errors"]},
                description="A filter is invalid: `errors` maps it to its problems.",
            ),
        },
        description="The figures of the metrics page, with its filters as query parameters.",
    )
)
class MetricsView(MetricsAPIView):
    """``incidents.metrics_api.MetricsAPIView`` with its schema described."""


# Alert webhooks -----------------------------------------------------------------------------


class WebhookView(APIView):
    """Shared-secret authentication (``Authorization: Bearer <ALERT_WEBHOOK_SECRET>``); off when unset."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [WebhookRateThrottle]
    source = ""

    def get_authenticate_header(self, request) -> str:
        return 'Bearer realm="alert-webhooks"'

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        secret = settings.ALERT_WEBHOOK_SECRET
        if not secret:
            raise exceptions.NotFound("Alert webhooks are off: set ALERT_WEBHOOK_SECRET to turn them on.")
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, sent = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), secret.encode()):
            raise exceptions.AuthenticationFailed("Send the webhook secret as “Authorization: Bearer <secret>”.")

    def receive(self, group: AlertGroup) -> Response:
        outcome = alert_group_receive(group=group)
        incident = outcome.incident
        body = {
            "incident": incident.pk if incident else None,
            "reference": incident.reference if incident else None,
            "created": outcome.created,
            "events_added": outcome.events_added,
        }
        return Response(s.AlertResultSerializer(body).data, status=201 if outcome.created else 200)


WEBHOOK_RESPONSES = {
    200: OpenApiResponse(s.AlertResultSerializer, description="Recorded on the group's existing incident."),
    201: OpenApiResponse(s.AlertResultSerializer, description="Opened an incident."),
    400: OpenApiResponse(ErrorSerializer, description="The payload is not understood; `errors` says where."),
    401: OpenApiResponse(ErrorSerializer, description="Missing or wrong secret."),
    404: OpenApiResponse(ErrorSerializer, description="Webhooks are off (no ALERT_WEBHOOK_SECRET)."),
}


class AlertmanagerWebhookView(WebhookView):
    @extend_schema(
        request=s.AlertmanagerPayloadSerializer,
        responses=WEBHOOK_RESPONSES,
        auth=[{"webhookSecret": []}],
        summary="Receive a Prometheus Alertmanager notification (webhook version 4)",
        description=(
            "Point an Alertmanager `webhook_configs` receiver here with "
            "`http_config: {authorization: {credentials: <secret>}}`. The group (`groupKey`) opens one "
            "incident; `detected_at` is the earliest `startsAt`; labels `service` (a service slug) and "
            "`severity` (through ALERT_SEVERITY_MAP) set the service and severity. Resolved alerts add a "
            "resolution event; once all have resolved, `mitigated_at` is set. People resolve the incident."
        ),
    )
    def post(self, request):
        payload = s.AlertmanagerPayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        alerts = [
            Alert(
                fingerprint=a["fingerprint"] or _fingerprint(a["labels"]),
                status=a["status"],
                title=(a["annotations"].get("summary") or a["labels"]["alertname"]).strip()[:200],
                description=a["annotations"].get("description", ""),
                starts_at=a["startsAt"],
                ends_at=a["endsAt"],
                labels={**data.get("commonLabels", {}), **a["labels"]},
                url=a["generatorURL"],
            )
            for a in data["alerts"]
        ]
        return self.receive(AlertGroup(key=data["groupKey"], source="Alertmanager", alerts=alerts))


class GenericWebhookView(WebhookView):
    @extend_schema(
        request=s.GenericAlertSerializer,
        responses=WEBHOOK_RESPONSES,
        auth=[{"webhookSecret": []}],
        summary="Receive one alert from any monitoring system",
        description=(
            "Send the alert when it fires and again with `status: resolved` and `ended_at` when it "
            "clears. Alerts with the same `group_key` share the group's open incident."
        ),
    )
    def post(self, request):
        payload = s.GenericAlertSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        labels = {**data["labels"], "service": data["service"], "severity": data["severity"]}
        alert = Alert(
            fingerprint=data["id"],
            status=data["status"],
            title=data["title"].strip() or data["id"],
            description=data["description"],
            starts_at=data["started_at"],
            ends_at=data["ended_at"],
            labels=labels,
            url=data["url"],
        )
        return self.receive(
            AlertGroup(key=f"generic:{data['group_key'] or data['id']}", source="Monitoring", alerts=[alert])
        )


def _fingerprint(labels: dict) -> str:
    """Alertmanager always sends one; this stands in for hand-written payloads without it."""
    return hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]
