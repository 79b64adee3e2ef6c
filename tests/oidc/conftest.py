"""A real OpenID provider (npm oidc-provider, tests/oidc/provider.mjs) on loopback, and a live
server of the site configured to sign in with it.

The provider runs as a subprocess for the module. The site runs in a server thread of its own
(not pytest-django's shared live_server), started after the OIDC settings are in place, because
a server reads MIDDLEWARE once when it starts. Without Node or the npm package the tests skip,
unless REQUIRE_BROWSER is set (CI), when they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import override_settings

from tests.browser.conftest import browser, browser_context_args, page  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_SCRIPT = Path(__file__).with_name("provider.mjs")
PROVIDER_PACKAGE = ROOT / "node_modules" / "oidc-provider"
CLIENT_ID = "tracker"
CLIENT_SECRET = "tracker-test-secret"
PROVIDER_NAME = "Example SSO"
ID_TOKEN_TTL = 300


def _require_provider() -> str:
    node = shutil.which("node")
    if node and PROVIDER_PACKAGE.exists():
        return node
    message = (
        "node is not installed (apt-get install nodejs npm)"
        if not node
        else f"{PROVIDER_PACKAGE} is missing: run `npm ci` (make test does when npm is installed)"
    )
    if os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


def oidc_settings(**extra) -> dict:
    """The settings config/settings.py makes from OIDC_RP_CLIENT_ID and OIDC_OP_ISSUER."""
    from django.conf import settings

    backends = list(settings.AUTHENTICATION_BACKENDS)
    backends.insert(1, "accounts.backends.OIDCBackend")
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
        "accounts.middleware.SessionRefresh",
    )
    return {
        "OIDC_ENABLED": True,
        "OIDC_RP_CLIENT_ID": CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_PROVIDER_NAME": PROVIDER_NAME,
        "OIDC_GROUPS_CLAIM": "groups",
        "OIDC_RP_SCOPES": "openid email profile groups",
        "AUTHENTICATION_BACKENDS": backends,
        "MIDDLEWARE": middleware,
        **extra,
    }


@dataclass
class Site:
    """The site (``url``) and the provider (``issuer``) it signs in with."""

    url: str
    issuer: str
    config_path: Path
    config: dict

    def set_account(self, login: str, **fields) -> None:
        """Create or change the provider's account ``login`` (read again at each look-up)."""
        account = {"password": "pw", "email": f"{login}@example.org", "email_verified": True, "groups": []}
        account.update(self.config["accounts"].get(login, {}))
        account.update(fields)
        self.config["accounts"][login] = account
        self.config_path.write_text(json.dumps(self.config))


@pytest.fixture(scope="module")
def oidc_site(tmp_path_factory):
    from pytest_django.live_server_helper import LiveServer

    node = _require_provider()
    insecure_cookies = {"SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False}
    with override_settings(**oidc_settings(ALLOWED_HOSTS=["127.0.0.1", "testserver"], **insecure_cookies)):
        server = LiveServer("127.0.0.1:0")
        url = server.url
        config = {
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "redirectUris": [f"{url}/accounts/oidc/callback/"],
            "postLogoutRedirectUris": [f"{url}/accounts/login/"],
            "idTokenTTL": ID_TOKEN_TTL,
            "accounts": {},
        }
        config_path = tmp_path_factory.mktemp("oidc") / "provider.json"
        config_path.write_text(json.dumps(config))
        log = config_path.with_suffix(".log").open("w")  # the provider's warnings and errors
        provider = subprocess.Popen(
            [node, str(PROVIDER_SCRIPT), str(config_path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True
        )
        try:
            line = provider.stdout.readline()
            if not line:
                pytest.fail(f"the OpenID provider did not start (exit code {provider.wait(timeout=10)})")
            issuer = json.loads(line)["issuer"]
            with override_settings(OIDC_OP_ISSUER=issuer):
                yield Site(url=url, issuer=issuer, config_path=config_path, config=config)
        finally:
            provider.terminate()
            provider.wait(timeout=10)
            log.close()
            server.stop()


@pytest.fixture(autouse=True)
def _fresh_provider_accounts(request):
    """Each test starts with no accounts at the provider."""
    if "oidc_site" in request.fixturenames:
        site = request.getfixturevalue("oidc_site")
        site.config["accounts"] = {}
        site.config_path.write_text(json.dumps(site.config))
