"""Without OIDC variables the site is as it was; with them, the backend and the session refresh
are switched on. Settings are read once per process, so each case runs in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
SHOW = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps([settings.AUTHENTICATION_BACKENDS, settings.MIDDLEWARE, settings.OIDC_ENABLED]))"
)


def settings_with(**variables) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_") and k != "LOCAL_LOGIN_ENABLED"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="true", **variables)
    return subprocess.run(
        [sys.executable, "-c", SHOW], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def test_without_oidc_variables_nothing_is_switched_on():
    backends, middleware, enabled = json.loads(settings_with().stdout.splitlines()[-1])

    assert backends == ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
    assert "accounts.middleware.SessionRefresh" not in middleware
    assert enabled is False


def test_with_a_client_id_and_issuer_the_backend_and_refresh_are_on():
    result = settings_with(OIDC_RP_CLIENT_ID="tracker", OIDC_OP_ISSUER="https://sso.example.org/")
    backends, middleware, enabled = json.loads(result.stdout.splitlines()[-1])

    assert backends == [
        "axes.backends.AxesStandaloneBackend",
        "accounts.backends.OIDCBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    messages = middleware.index("django.contrib.messages.middleware.MessageMiddleware")
    assert middleware[messages + 1] == "accounts.middleware.SessionRefresh"
    assert enabled is True


def test_local_login_off_leaves_only_the_provider():
    result = settings_with(
        OIDC_RP_CLIENT_ID="tracker", OIDC_OP_ISSUER="https://sso.example.org", LOCAL_LOGIN_ENABLED="false"
    )
    backends, _, _ = json.loads(result.stdout.splitlines()[-1])

    assert backends == ["axes.backends.AxesStandaloneBackend", "accounts.backends.OIDCBackend"]


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"OIDC_RP_CLIENT_ID": "tracker"}, "set OIDC_OP_ISSUER (discovery) or the four"),
        ({"LOCAL_LOGIN_ENABLED": "false"}, "LOCAL_LOGIN_ENABLED=false needs a provider"),
    ],
)
def test_settings_that_cannot_work_refuse_to_start(variables, message):
    result = settings_with(**variables)

    assert result.returncode != 0
    assert message in result.stderr
