from django.urls import path

from . import views, webhooks

app_name = "trackers"

urlpatterns = [
    path("items/<str:reference>/create/", views.create, name="create"),
    path("items/<str:reference>/link/", views.link, name="link"),
    path("items/<str:reference>/push/", views.push, name="push"),
    path("webhooks/github/<int:connection_id>/", webhooks.github, name="webhook-github"),
    path("webhooks/jira/<int:connection_id>/", webhooks.jira, name="webhook-jira"),
]
