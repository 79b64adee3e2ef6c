from django.urls import path

from . import archive_views

app_name = "archive"

urlpatterns = [
    path("", archive_views.archive_index, name="index"),
    path("feed/", archive_views.feed_settings, name="feed_settings"),
    path("feed/regenerate/", archive_views.feed_regenerate, name="feed_regenerate"),
    path("feed/<str:token>/", archive_views.PublishedFeed(), name="feed"),
    path("export/<int:pk>.md", archive_views.export, name="export"),
]
