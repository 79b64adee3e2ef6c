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
