from django.urls import path

from . import repeat_views

app_name = "repeats"

urlpatterns = [
    path("<int:pk>/confirm/", repeat_views.decide, {"state": "confirmed"}, name="confirm"),
    path("<int:pk>/dismiss/", repeat_views.decide, {"state": "dismissed"}, name="dismiss"),
]
