"""A real Celery worker, started as `make run` starts it, answers over the configured broker.

The broker is whatever the environment sets: kombu's filesystem transport by default
(in a broker folder of its own, through VAR_DIR), Redis when CELERY_BROKER_URL says so.
The worker has a node name and a queue of its own, so parallel runs sharing one Redis
never answer or consume for each other.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.workers import stop

pytestmark = pytest.mark.celery

BASE_DIR = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60
REPLY_TIMEOUT = 30


def _wait_for(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"Timed out after {timeout}s waiting for {what}. Worker log:\n{log.read_text()}")


class Worker:
    def __init__(self, tmp_path: Path):
        suffix = uuid.uuid4().hex[:12]
        self.name = f"test-{suffix}@localhost"
        self.queue = f"test-{suffix}"
        self.log = tmp_path / "worker.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            # Settings put the filesystem broker under VAR_DIR: a folder of this module's own.
            "VAR_DIR": str(tmp_path / "var"),
        }

    def celery(self, *args: str, timeout: float = REPLY_TIMEOUT) -> subprocess.CompletedProcess:
        """Run a `celery -A config ...` client command against the worker's broker."""
        return subprocess.run(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def log_text(self) -> str:
        return self.log.read_text()

    def is_ready(self, proc: subprocess.Popen) -> bool:
        return f"{self.name} ready." in self.log_text() or proc.poll() is not None


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    """A `celery worker` subprocess with the Procfile's pool, killed whatever happens.

    One per module: starting and stopping a worker takes seconds.
    """
    w = Worker(tmp_path_factory.mktemp("celery"))
    cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO"]
    cmd += ["--pool=threads", "--concurrency=2", "-n", w.name, "-Q", w.queue]
    # No mingle/gossip/heartbeat: other test workers on a shared Redis are not our neighbours.
    cmd += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
    with w.log.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=BASE_DIR, env=w.env, stdout=log, stderr=log, start_new_session=True)
    try:
        _wait_for(lambda: w.is_ready(proc), STARTUP_TIMEOUT, "the worker to be ready", w.log)
        assert proc.poll() is None, f"worker exited with {proc.returncode}:\n{w.log_text()}"
        yield w
    finally:
        stop(proc)


def test_worker_answers_ping(worker):
    result = worker.celery("inspect", "ping", "--json", "-d", worker.name, "--timeout", "10")

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {worker.name: {"ok": "pong"}}


def test_task_sent_by_name_is_executed(worker):
    result = worker.celery("call", "celery.backend_cleanup", "--queue", worker.queue)
    assert result.returncode == 0, result.stdout + result.stderr
    task_id = result.stdout.strip()

    _wait_for(
        lambda: f"Task celery.backend_cleanup[{task_id}] succeeded" in worker.log_text(),
        REPLY_TIMEOUT,
        f"task {task_id} to succeed",
        worker.log,
    )
