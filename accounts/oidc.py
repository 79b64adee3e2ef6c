"""The provider's settings, with its endpoints from its discovery document.

Settings name the issuer (OIDC_OP_ISSUER) or each endpoint. The discovery document is fetched
on first use, never at import time, and kept in the cache for an hour; an endpoint set
explicitly wins over the discovered one.
"""

from __future__ import annotations

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from mozilla_django_oidc.utils import import_from_settings

# Each endpoint setting and the discovery document's key for it.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
}
DISCOVERY_CACHE_SECONDS = 3600


class DiscoveryError(Exception):
    """The provider's discovery document could not be read, or names another issuer."""


def discovery_document() -> dict:
    """The provider's /.well-known/openid-configuration, cached."""
    issuer = settings.OIDC_OP_ISSUER
    key = f"oidc-discovery:{issuer}"
    document = cache.get(key)
    if document is None:
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise DiscoveryError(f"could not read {url}: {exc}") from exc
        if document.get("issuer", "").rstrip("/") != issuer:
            raise DiscoveryError(f"{url} names the issuer {document.get('issuer')!r}, not {issuer!r}")
        cache.set(key, document, DISCOVERY_CACHE_SECONDS)
    return document


def oidc_setting(attr: str, *default):
    """A mozilla-django-oidc setting; an endpoint left unset comes from discovery."""
    if attr in DISCOVERED and not getattr(settings, attr, "") and settings.OIDC_OP_ISSUER:
        value = discovery_document().get(DISCOVERED[attr])
        if value:
            return value
        if default:
            return default[0]
        raise ImproperlyConfigured(f"The provider advertises no {DISCOVERED[attr]}; set {attr}.")
    value = import_from_settings(attr, *default)
    if attr in DISCOVERED and not value and default:
        return default[0]
    return value


def logout_endpoint() -> str | None:
    """The provider's end_session_endpoint (RP-initiated logout), if it has one."""
    return oidc_setting("OIDC_OP_LOGOUT_ENDPOINT", None) or None


def expected_issuer() -> str | None:
    """The issuer an ID token must name, exactly as the discovery document spells it (some end
    in a slash that the setting may not have); None when endpoints are set one by one."""
    if not settings.OIDC_OP_ISSUER:
        return None
    return discovery_document()["issuer"]
