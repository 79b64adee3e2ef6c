"""What the tests that start a real Celery worker share: the database and broker it must
use to see the test's data, waiting on it, and stopping it."""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def broker(var_dir: Path) -> tuple[str, dict]:
    """The broker URL and transport options the worker's settings will use."""
    url = os.environ.get("CELERY_BROKER_URL", "filesystem://localhost/")
    if not url.startswith("filesystem://"):
        return url, {}
    folder = var_dir / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return url, {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "control_folder": str(folder / "control"),
    }


def wait_for(predicate, what: str, log: Path):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"Timed out waiting for {what}. Worker log:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    """Warm shutdown of the worker's whole process group, then SIGKILL if it lingers (on the
    filesystem transport the worker notices the signal only between two polls of its folder)."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def worker_on_own_queue(log: Path, *, var_dir: Path, broker_url: str, env: dict | None = None):
    """Start a worker as the Procfile does (threads pool) on a queue of its own, wait until it is
    ready, yield the queue's name, and stop it. ``env`` adds to the worker's environment."""
    suffix = uuid.uuid4().hex[:12]
    name, queue = f"test-{suffix}@localhost", f"test-{suffix}"
    worker_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "tests-only-not-a-secret",
        "DEBUG": "false",
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        **(env or {}),
    }
    cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--pool=threads"]
    cmd += ["--concurrency=2", "-n", name, "-Q", queue, "--without-mingle", "--without-gossip", "--without-heartbeat"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=BASE_DIR, env=worker_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(lambda: f"{name} ready." in log.read_text() or proc.poll() is not None, "the worker", log)
        assert proc.poll() is None, log.read_text()
        yield queue
    finally:
        stop(proc)
