"""The provider's endpoints from its discovery document (held in the cache here, so no network)."""

import pytest
from django.core.cache import cache

from accounts.oidc import DiscoveryError, discovery_document, expected_issuer, logout_endpoint, oidc_setting

DOCUMENT = {
    "issuer": "https://sso.example.org/",
    "authorization_endpoint": "https://sso.example.org/authorize",
    "token_endpoint": "https://sso.example.org/token",
    "userinfo_endpoint": "https://sso.example.org/userinfo",
    "jwks_uri": "https://sso.example.org/keys",
}


@pytest.fixture
def discovered(settings):
    settings.OIDC_OP_ISSUER = "https://sso.example.org"  # as settings.py keeps it: no trailing slash
    cache.set("oidc-discovery:https://sso.example.org", DOCUMENT)
    return settings


def test_endpoints_come_from_discovery_unless_set(discovered):
    discovered.OIDC_OP_TOKEN_ENDPOINT = "https://proxy.example.org/token"

    assert oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT") == "https://sso.example.org/authorize"
    assert oidc_setting("OIDC_OP_TOKEN_ENDPOINT") == "https://proxy.example.org/token"
    assert oidc_setting("OIDC_RP_SIGN_ALGO") == "RS256"


def test_the_issuer_is_checked_as_the_provider_spells_it(discovered):
    assert expected_issuer() == "https://sso.example.org/"


def test_no_end_session_endpoint_means_signing_out_here_only(discovered):
    assert logout_endpoint() is None


def test_an_unreachable_provider_is_a_discovery_error(settings):
    settings.OIDC_OP_ISSUER = "http://127.0.0.1:9"  # the discard port: nothing answers
    settings.OIDC_TIMEOUT = 2

    with pytest.raises(DiscoveryError, match="could not read http://127.0.0.1:9/.well-known/openid-configuration"):
        discovery_document()
