from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Postmortem tracker administration"
admin.site.site_title = "Postmortem tracker"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
