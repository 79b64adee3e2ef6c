"""Everything under ``/api/``: the v1 resources, the alert webhooks, the OpenAPI schema and
its docs, and the page where users manage their tokens."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from actions.api import ActionItemViewSet, NotificationViewSet
from config.api_errors import api_not_found
from incidents import api as incidents_api
from incidents import api_tokens
from postmortems.api import PostmortemViewSet
from postmortems.archive_views import SearchAPIView
from trackers.api import ActionItemTrackerView

app_name = "api"

router = DefaultRouter()
router.register("users", incidents_api.UserViewSet, basename="user")
router.register("teams", incidents_api.TeamViewSet, basename="team")
router.register("services", incidents_api.ServiceViewSet, basename="service")
router.register("severities", incidents_api.SeverityViewSet, basename="severity")
router.register("cause-categories", incidents_api.CauseCategoryViewSet, basename="cause-category")
router.register("failure-classes", incidents_api.FailureClassViewSet, basename="failure-class")
router.register("incidents", incidents_api.IncidentViewSet, basename="incident")
router.register("timeline-events", incidents_api.TimelineEventViewSet, basename="timeline-event")
router.register("postmortems", PostmortemViewSet, basename="postmortem")
router.register("action-items", ActionItemViewSet, basename="action-item")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("tokens", api_tokens.ApiTokenViewSet, basename="token")

v1 = [
    path("", include(router.urls)),
    path("metrics/", incidents_api.MetricsView.as_view(), name="metrics"),
    path("search/", SearchAPIView.as_view(), name="search"),
    path("action-items/<str:reference>/tracker/", ActionItemTrackerView.as_view(), name="action-item-tracker"),
    path("webhooks/alertmanager/", incidents_api.AlertmanagerWebhookView.as_view(), name="webhook-alertmanager"),
    path("webhooks/generic/", incidents_api.GenericWebhookView.as_view(), name="webhook-generic"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up code as a script file, as the CSP requires.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("tokens/", api_tokens.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", api_tokens.token_revoke, name="token-revoke"),
    re_path(r"", api_not_found),  # last: anything else under /api/ is a JSON 404
]
