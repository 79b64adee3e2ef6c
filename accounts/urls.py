"""Sign-in and sign-out, under /accounts/ before django.contrib.auth's own URLs (so these
login and logout views answer there). No app_name: mozilla-django-oidc reverses the names
oidc_authentication_init, oidc_authentication_callback and oidc_logout un-namespaced."""

from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("oidc/authenticate/", views.OIDCAuthenticateView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", views.OIDCCallbackView.as_view(), name="oidc_authentication_callback"),
    path("oidc/logout/", views.LogoutView.as_view(), name="oidc_logout"),
]
