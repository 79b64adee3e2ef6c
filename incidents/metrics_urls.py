from django.urls import path

from . import metrics_views

app_name = "metrics"

urlpatterns = [
    path("", metrics_views.metrics_page, name="index"),
    path("teams/<slug:slug>/", metrics_views.team_page, name="team"),
]
