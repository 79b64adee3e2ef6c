from django.contrib import admin
from django.urls import include, path

from incidents.views import home

admin.site.site_header = "Postmortem tracker administration"
admin.site.site_title = "Postmortem tracker"

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
