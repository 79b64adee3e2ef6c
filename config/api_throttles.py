"""The API's request throttles: a 429 with Retry-After (DRF's ``Throttled``, shaped by
``config.api_errors``) past the rates in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (env
API_RATE_USER, API_RATE_ANON, API_RATE_WEBHOOK)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.access import is_active_user
from incidents.accounts import client_ip


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str:
        # Read on each request, not at import like DRF's THROTTLE_RATES: settings overrides apply.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]


class TokenOrUserRateThrottle(_SettingsRateThrottle):
    """Signed-in requests: each personal token has its own budget (a CI job cannot starve its
    owner's browser), and a session counts as the user."""

    scope = "api-user"

    def get_cache_key(self, request, view) -> str | None:
        if not is_active_user(request.user):
            return None
        token_pk = getattr(request.auth, "pk", None)
        ident = f"token-{token_pk}" if token_pk else f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonIPRateThrottle(_SettingsRateThrottle):
    """Requests without a sign-in, per client address (behind TRUSTED_PROXY_COUNT proxies)."""

    scope = "api-anon"

    def get_cache_key(self, request, view) -> str | None:
        if is_active_user(request.user):
            return None
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}


class WebhookRateThrottle(AnonIPRateThrottle):
    """Alert webhooks, per sending address, with a budget of their own: a storm of alerts
    must not be cut short by the anonymous rate meant for guessers."""

    scope = "api-webhook"
