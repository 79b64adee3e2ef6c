from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from incidents.accounts import PasswordResetConfirmView, PasswordResetView
from incidents.views import home

# Resolved on the first request, once the static files' manifest exists.
static_lazy = lazy(static, str)

admin.site.site_header = "Postmortem tracker administration"
admin.site.site_title = "Postmortem tracker"

urlpatterns = [
    path("", home, name="home"),
    # Browsers and crawlers ask for /favicon.ico whatever <link rel="icon"> says (not permanent:
    # the file's hashed name changes with it).
    path("favicon.ico", RedirectView.as_view(url=static_lazy("favicon.svg"))),
    # Reset: rate-limited and mailed by a task; a new password lifts the sign-in lock.
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/reset/<uidb64>/<token>/", PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    # Sign-in (with the identity provider's button), sign-out (RP-initiated logout) and the
    # provider's callback; before Django's own, so these login and logout views answer there.
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    # Its presence puts a "Forgotten your password?" link on the admin's sign-in page.
    path("admin/password_reset/", PasswordResetView.as_view(), name="admin_password_reset"),
    path("admin/", admin.site.urls),
    path("actions/", include("actions.urls")),
    path("trackers/", include("trackers.urls")),
    path("metrics/", include("incidents.metrics_urls")),
    path("api/", include("config.api_urls")),
    path("incidents/repeats/", include("incidents.repeat_urls")),
    path("postmortems/", include("postmortems.urls")),
    path("archive/", include("postmortems.archive_urls")),
    path("incidents/", include("incidents.urls")),
]

# Under /api/ errors are JSON (config.api_errors); elsewhere Django's HTML pages.
handler400 = "config.api_errors.handler400"
handler403 = "config.api_errors.handler403"
handler404 = "config.api_errors.handler404"
handler500 = "config.api_errors.handler500"
