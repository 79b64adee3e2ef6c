"""Sign-in and sign-out pages: Django's, plus the provider's (mozilla-django-oidc's views,
reporting a refused sign-in on the sign-in page instead of as an error page)."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .oidc import DiscoveryError, logout_endpoint, oidc_setting
from .services import groups_from_claims, teams_sync_from_groups

logger = logging.getLogger(__name__)
security_logger = logging.getLogger("django.security.oidc")


# The provider's answers to a session refresh (prompt=none) that it will not renew silently.
SESSION_ENDED_ERRORS = {"login_required", "interaction_required", "consent_required", "account_selection_required"}


def _provider() -> str:
    return settings.OIDC_PROVIDER_NAME


class LoginView(auth_views.LoginView):
    """Django's sign-in page, with a "Sign in with <provider>" button when one is configured;
    the password form only while LOCAL_LOGIN_ENABLED."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            oidc_enabled=settings.OIDC_ENABLED,
            oidc_provider_name=settings.OIDC_PROVIDER_NAME,
            local_login_enabled=settings.LOCAL_LOGIN_ENABLED,
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        if not settings.LOCAL_LOGIN_ENABLED:
            messages.error(request, f"Password sign-in is turned off. Sign in with {_provider()}.")
            return redirect(settings.LOGIN_URL)
        return super().post(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    """Ends the session; after a provider sign-in, also the provider's session (RP-initiated
    logout) when it advertises an end_session_endpoint."""

    def post(self, request, *args, **kwargs):
        provider_logout = self._provider_logout_url(request)
        response = super().post(request, *args, **kwargs)
        if not provider_logout:
            return response
        # A page that moves on by itself, not a redirect: the Content-Security-Policy's
        # form-action 'self' stops a form's submission from being redirected to another origin.
        context = {"provider_logout_url": provider_logout, "provider_name": _provider()}
        return render(request, "accounts/provider_logout.html", context)

    def _provider_logout_url(self, request) -> str | None:
        id_token = request.session.get("oidc_id_token")
        if not (settings.OIDC_ENABLED and id_token):
            return None
        try:
            endpoint = logout_endpoint()
        except DiscoveryError as exc:
            logger.warning("Signed out here only: %s", exc)
            return None
        if not endpoint:
            return None
        params = {
            "id_token_hint": id_token,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse(settings.LOGIN_URL)),
        }
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


class OIDCAuthenticateView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider (authorization code with PKCE, state and nonce)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)  # the endpoint is looked up per request, not here
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_OP_AUTH_ENDPOINT(self) -> str:  # noqa: N802 (the base class's name)
        return oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")

    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404
        try:
            return super().get(request)
        except DiscoveryError as exc:
            logger.error("Cannot start a sign-in with the provider: %s", exc)
            messages.error(request, f"{_provider()} cannot be reached just now. Try again in a minute.")
            return redirect(settings.LOGIN_URL)


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer: a wrong state, nonce, audience or issuer, an expired ID token,
    an unverifiable account or a deactivated one is refused, and the sign-in page says so.
    A successful sign-in syncs the person's teams from their groups."""

    get_settings = staticmethod(oidc_setting)

    @property
    def failure_url(self) -> str:
        return reverse(settings.LOGIN_URL)

    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404
        try:
            return super().get(request)
        except (SuspiciousOperation, requests.RequestException, DiscoveryError) as exc:
            security_logger.warning("Sign-in with the provider refused: %s", exc)
            return self.login_failure()

    def login_failure(self):
        user = getattr(self, "user", None)
        if user is not None and not user.is_active:
            reason = "This account is deactivated."
        elif self.request.GET.get("error") in SESSION_ENDED_ERRORS:
            reason = "Your session there has ended; sign in again."
        else:
            reason = getattr(self.request, "oidc_refusal", "") or "Try again."
        messages.error(self.request, f"Sign-in with {_provider()} failed. {reason}")
        return super().login_failure()

    def login_success(self):
        response = super().login_success()
        groups = groups_from_claims(getattr(self.request, "oidc_claims", {}), settings.OIDC_GROUPS_CLAIM)
        if groups is not None:
            for team in teams_sync_from_groups(user=self.user, groups=groups):
                messages.warning(
                    self.request,
                    f"You are still in {team} because you lead it, though your groups no longer include it. "
                    "An administrator has been told.",
                )
        elif settings.OIDC_GROUPS_CLAIM:
            logger.warning("No %r claim for %s: teams left as they were", settings.OIDC_GROUPS_CLAIM, self.user)
        return response
