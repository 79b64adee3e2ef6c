"""REST API views for users, teams, services, the taxonomies, incidents, timelines and alerts in.

Every queryset starts from the permission rules the pages use (``visible_to``,
``editable_by``, ``timeline_editable_by``); writes go through the same services.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_base import ReadWriteCreateMixin, write_schema
from config.api_errors import ErrorSerializer
from config.api_throttles import WebhookRateThrottle

from . import serializers as s
from .api_alerts import Alert, AlertGroup, alert_group_receive
from .filters import (
    CauseCategoryFilter,
    IncidentAPIFilter,
    ServiceFilter,
    SeverityFilter,
    TeamFilter,
    TimelineEventFilter,
    UserFilter,
)
from .metrics_api import MetricsAPIView
from .metrics_views import MetricsFilterForm
from .models import CauseCategory, Incident, Service, Severity, SeverityChange, Team, TimelineEvent
from .services import incident_save_with_severity_history


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Active users, to resolve the user ids found elsewhere in the API."""

    serializer_class = s.UserSerializer
    filterset_class = UserFilter

    def get_queryset(self):
        return s.active_users().order_by("username", "id")


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.TeamSerializer
    filterset_class = TeamFilter
    queryset = Team.objects.prefetch_related(Prefetch("members", queryset=s.User.objects.only("pk"))).order_by("name")


class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.ServiceSerializer
    filterset_class = ServiceFilter
    queryset = Service.objects.order_by("name")


class SeverityViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.SeveritySerializer
    filterset_class = SeverityFilter
    queryset = Severity.objects.order_by("level")


class CauseCategoryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.CauseCategorySerializer
    filterset_class = CauseCategoryFilter
    queryset = CauseCategory.objects.order_by("name")


@extend_schema_view(**write_schema(s.IncidentWriteSerializer, s.IncidentDetailSerializer))
class IncidentViewSet(
    ReadWriteCreateMixin,
    mixins.UpdateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Incidents you may see. Anyone signed in declares one; its responders, its services'
    teams and admins edit it. The detail carries the timeline and the severity history."""

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

    @transaction.atomic
    def perform_create(self, serializer) -> Incident:
        data = dict(serializer.validated_data)
        services, tags = data.pop("services", None), data.pop("tags", None)
        classes = data.pop("failure_classes", None)
        data.pop("severity_reason", None)
        incident = Incident(**data, created_by=self.request.user)
        incident_save_with_severity_history(incident=incident, previous=None, user=self.request.user, reason="")
        if services is not None:
            incident.services.set(services)
        if classes is not None:
            incident.failure_classes.set(classes)
        if tags is not None:
            incident.tags.set(tags)
        return incident

    def check_can_update(self, incident: Incident) -> None:
        if not Incident.objects.editable_by(self.request.user).filter(pk=incident.pk).exists():
            raise PermissionDenied("Only the incident's responders, its services' teams and admins edit it.")

    @transaction.atomic
    def perform_update(self, serializer) -> Incident:
        incident = serializer.instance
        data = dict(serializer.validated_data)
        services, tags = data.pop("services", None), data.pop("tags", None)
        classes = data.pop("failure_classes", None)
        reason = data.pop("severity_reason", "").strip()
        previous = incident.severity
        for name, value in data.items():
            setattr(incident, name, value)
        incident_save_with_severity_history(incident=incident, previous=previous, user=self.request.user, reason=reason)
        if services is not None:
            incident.services.set(services)
        if classes is not None:
            incident.failure_classes.set(classes)
        if tags is not None:
            incident.tags.set(tags)
        return incident


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

    def _check_timeline(self, incident: Incident) -> None:
        if not Incident.objects.timeline_editable_by(self.request.user).filter(pk=incident.pk).exists():
            raise PermissionDenied("You may not edit this incident's timeline.")

    def perform_create(self, serializer) -> TimelineEvent:
        self._check_timeline(serializer.validated_data["incident"])
        return serializer.save(author=self.request.user)

    def check_can_update(self, event: TimelineEvent) -> None:
        self._check_timeline(event.incident)

    def perform_update(self, serializer) -> TimelineEvent:
        return serializer.save()

    def perform_destroy(self, instance: TimelineEvent) -> None:
        self._check_timeline(instance.incident)
        instance.delete()


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
