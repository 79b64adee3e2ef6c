"""Production settings pass Django's deployment checks, refuse to start without a
secret key, and the models have no migrations left unwritten.

Each check runs `manage.py` in a subprocess, because settings are read once per process.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

# Variables that would relax what is being checked if the developer's shell had them set.
_RELAXING = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "BEHIND_PROXY", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _RELAXING and not k.startswith("SECURE_")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="tracker.example.com",
        VAR_DIR=str(tmp_path / "var"),
    )
    return env


def test_deploy_checks_pass_with_production_settings(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_settings_refuse_to_start_without_secret_key(production_env):
    del production_env["SECRET_KEY"]

    result = manage("check", env=production_env)

    assert result.returncode != 0
    assert "ImproperlyConfigured: Set SECRET_KEY" in result.stderr


def test_no_missing_migrations(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", "VAR_DIR": str(tmp_path / "var")}

    result = manage("makemigrations", "--check", "--dry-run", env=env)

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_pages_forbid_inline_scripts_and_sign_in_is_locked_after_failures(production_env):
    """The served policy allows scripts from the site's own files only, and the lockout limits
    come from the environment."""
    production_env.update(AXES_FAILURE_LIMIT="4", AXES_COOLOFF_MINUTES="30")
    code = (
        "from django.conf import settings; from django.test import Client; "
        "r = Client().get('/api/v1/incidents/', secure=True, HTTP_HOST='tracker.example.com'); "
        "print(r.status_code); print(r['Content-Security-Policy']); "
        "print(settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME)"
    )

    result = manage("shell", "-c", code, env=production_env)

    assert result.returncode == 0, result.stderr
    status, policy, limits = result.stdout.strip().splitlines()[-3:]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert status == "403"  # signed out; every response carries the policy
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in directives.get("default-src", "")
    assert limits == "4 0:30:00"


def test_settings_refuse_a_lockout_that_never_locks(production_env):
    production_env["AXES_FAILURE_LIMIT"] = "0"

    result = manage("check", env=production_env)

    assert result.returncode != 0
    assert "AXES_FAILURE_LIMIT" in result.stderr


@pytest.mark.parametrize(
    ("process", "expected"),
    [("web", "statement_timeout=30000"), ("", "statement_timeout=0")],
    ids=["web process", "worker or command"],
)
def test_only_web_processes_cancel_long_statements_by_default(process, expected):
    """A page may not hold PostgreSQL for minutes; a migration or a nightly job may."""
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_PROCESS", "DATABASE_STATEMENT_TIMEOUT")}
    env |= {"DEBUG": "true", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "TRACKER_PROCESS": process}
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS']['options'])"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=env | {"DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert expected in out
