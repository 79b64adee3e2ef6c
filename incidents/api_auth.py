"""Personal API tokens: creating and revoking them, and authenticating requests that carry one.

A key is ``pmt_`` followed by 43 random URL-safe characters. Only its SHA-256 is stored,
so a lookup is one indexed query and the key itself is shown once, at creation. Failed checks
are counted per client address; past API_TOKEN_FAILURE_RATE every token from that address is
refused with a 429 until the oldest failure leaves the window, so guessing keys learns nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.throttling import SimpleRateThrottle

from .accounts import client_ip
from .models import ApiToken

KEY_PREFIX = "pmt_"
# ``last_used_at`` is written at most this often per token, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it and its key (which is not stored and cannot be shown again)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip(), key_hash=hash_key(key), prefix=key[: ApiToken.PREFIX_LENGTH]
    )
    return token, key


def api_token_revoke(*, user, token_id: int) -> bool:
    """Revoke one of ``user``'s own tokens; False when it is not theirs or already revoked."""
    revoked = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return revoked == 1


def user_for_key(key: str) -> tuple:
    """(user, token) for a live token of an active user, else (None, None). Records the use."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_key(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None, None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    return token.user, token


class FailedTokenThrottle(SimpleRateThrottle):
    """DRF's throttle, counting only failed token checks, per client address."""

    scope = "api-token-failures"

    def get_rate(self) -> str:
        return settings.API_TOKEN_FAILURE_RATE

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}

    def is_locked(self, request) -> bool:
        """True while the address's failures within the window reach the rate (reads only)."""
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def record_failure(self) -> None:
        self.throttle_success()  # stores this attempt's time in the address's history


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>`` (or ``Token <key>``) with a personal API token."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the token as “Authorization: Bearer <token>”.")
        try:
            key = parts[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token contains invalid characters.") from exc
        throttle = FailedTokenThrottle()
        if throttle.is_locked(request):
            wait = throttle.wait()
            # DRF adds "Expected available in N seconds." and the Retry-After header.
            raise exceptions.Throttled(wait, detail="Too many failed token checks from your address.")
        user, token = user_for_key(key)
        if user is None:
            throttle.record_failure()
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "incidents.api_auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal token from /api/tokens/: `Authorization: Bearer <token>`.",
        }
