"""Set-up shared by the benchmarks: a database of their own and Django configured for it.

``DATABASE_URL`` pointing at PostgreSQL gives a database named after the bench on the
same server; otherwise a SQLite file under ``var/bench/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def _postgres_admin(url: str, sql: str, params: list | None = None) -> tuple | None:
    """Run ``sql`` on the server's maintenance database; the first row of a SELECT, else None."""
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def prepare_database(name: str, *, keep: bool) -> tuple[str, Callable[[], None]]:
    """Point DATABASE_URL at the bench database ``name`` (fresh unless ``keep`` and it exists);
    return its description and a function that drops it."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        exists = _postgres_admin(url, "SELECT 1 FROM pg_database WHERE datname = %s", [name]) is not None
        if not (keep and exists):
            _postgres_admin(url, f"DROP DATABASE IF EXISTS {name}")
            _postgres_admin(url, f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
        return f"PostgreSQL database {name}", lambda: _postgres_admin(url, f"DROP DATABASE IF EXISTS {name}")
    path = ROOT / "var" / "bench" / f"{name}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not keep:
        path.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    return f"SQLite file {path}", lambda: path.unlink(missing_ok=True)


def setup_django() -> None:
    """Production settings (DEBUG off) with a bench key, served to the test client's host."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
