"""Mail under faults: kill the worker, stop the database, stop the mail server; count what arrives.

    .venv/bin/python bench/faults.py                      # 500 messages, all four trials
    .venv/bin/python bench/faults.py --messages 3000 --trials enqueue,database

Everything is real and the script's own: a PostgreSQL cluster (initdb/pg_ctl from
/usr/lib/postgresql/*/bin, on a free port, in a temporary folder, run as the postgres
user when started as root), a Redis server on a free port, a Celery worker subprocess
started as the Procfile starts it (threads pool, concurrency 2), and an aiosmtpd server
on loopback that records every message it accepts. The script plays beat: it sends the
sweep (``deliver_undelivered``) every ``--sweep-every`` seconds and the chase every
``--chase-every`` seconds, as the schedule does.

Each trial seeds ``--messages`` overdue items, one owner each, so the chase claims one
reminder per item, then:

- ``enqueue``: SIGKILL the worker (its whole process group) while the chase enqueues
  the deliveries, and start a new worker at once;
- ``delivery``: SIGKILL it once a third of the messages arrived, and start a new one;
- ``database``: stop PostgreSQL (``pg_ctl stop -m fast``) once a fifth arrived, for
  ``--outage`` seconds, and start it again;
- ``smtp``: stop the mail server once a fifth arrived, for ``--outage`` seconds, and
  start it again on the same port.

Prints, per trial: lost (items whose reminder never arrived within ``--wait`` seconds of
recovery), duplicates (messages that arrived more than once) and time-to-drain (from
recovery, i.e. the new worker ready or the server back, until the last message arrived).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Cluster:
    """A PostgreSQL cluster of our own, in a temporary folder, on a free port."""

    def __init__(self, folder: Path):
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        if not versions:
            sys.exit("No PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin, self.data, self.port = Path(versions[-1]), folder / "pgdata", free_port()
        self.log = folder / "postgres.log"
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/faults"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(_as_postgres([str(self.bin / tool), *args]), check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c fsync=off -c max_connections=50"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE faults")


class Redis:
    def __init__(self, folder: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        import redis

        self.client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Inbox:
    """The aiosmtpd handler: every recipient of every accepted message, in order."""

    def __init__(self):
        self.recipients: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    def distinct(self) -> int:
        with self.lock:
            return len(set(self.recipients))

    def counts(self) -> Counter:
        with self.lock:
            return Counter(self.recipients)


class Smtp:
    def __init__(self):
        self.inbox, self.port, self.controller = Inbox(), free_port(), None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


class Worker:
    """A Celery worker subprocess as the Procfile starts it, on a queue of its own."""

    def __init__(self, folder: Path, env: dict, queue: str):
        self.folder, self.env, self.queue, self.proc, self.runs = folder, env, queue, None, 0

    def start(self) -> float:
        self.runs += 1
        name = f"faults-{self.runs}-{uuid.uuid4().hex[:6]}@localhost"
        self.log = self.folder / f"worker-{self.runs}.log"
        cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--pool=threads"]
        cmd += ["--concurrency=2", "-n", name, "-Q", self.queue, "--without-mingle", "--without-gossip"]
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=BASE_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while f"{name} ready." not in self.log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"The worker did not start:\n{self.log.read_text()}")
            time.sleep(0.1)
        return time.monotonic()

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


class Beat(threading.Thread):
    """Sends the sweep every ``every`` seconds and the chase every ``chase_every``, as the
    schedule does (config/schedule.py: both every minute)."""

    def __init__(self, send, every: float, chase_every: float):
        super().__init__(daemon=True)
        self.send, self.every, self.chase_every, self.stopped = send, every, chase_every, threading.Event()

    def run(self) -> None:
        next_sweep, next_chase = self.every, self.chase_every
        started = time.monotonic()
        while not self.stopped.wait(min(next_sweep, next_chase) - (time.monotonic() - started)):
            elapsed = time.monotonic() - started
            for task, due in (
                ("actions.tasks.deliver_undelivered", next_sweep),
                ("actions.tasks.chase_overdue_items", next_chase),
            ):
                if elapsed >= due:
                    try:
                        self.send(task)
                    except Exception as error:  # noqa: BLE001 - a beat that cannot reach the broker tries again
                        print(f"    beat: {error}")
            while next_sweep <= elapsed:
                next_sweep += self.every
            while next_chase <= elapsed:
                next_chase += self.chase_every


def seed(count: int) -> None:
    """``count`` owners with one item each, two days overdue: one reminder per item."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from actions.models import ActionItem
    from incidents.models import Incident, ReferenceSequence, Severity
    from postmortems.models import Postmortem

    User = get_user_model()
    User.objects.bulk_create(
        User(username=f"owner{n}", email=f"owner{n}@example.com", password="!") for n in range(count)
    )
    facilitator = User.objects.create(username="facilitator", email="facilitator@example.com", password="!")
    now = timezone.now()
    incident = Incident.objects.create(
        reference="INC-2026-00001",
        title="Checkout errors",
        severity=Severity.objects.get(name="SEV2"),
        status="resolved",
        declared_at=now - timedelta(days=10, hours=2),
        resolved_at=now - timedelta(days=10),
    )
    postmortem = Postmortem.objects.create(
        incident=incident, facilitator=facilitator, status="published", published_at=now - timedelta(days=8)
    )
    owners = list(User.objects.filter(username__startswith="owner").order_by("pk").values_list("pk", flat=True))
    due = timezone.localdate() - timedelta(days=2)
    ActionItem.objects.bulk_create(
        (
            ActionItem(reference=f"AI-{n + 1:06d}", postmortem=postmortem, title=f"Fix {n}", owner_id=pk, due_date=due)
            for n, pk in enumerate(owners)
        ),
        batch_size=2000,
    )
    ReferenceSequence.objects.update_or_create(name="AI", defaults={"last_value": count})


def ledger() -> Counter:
    from django.db import connection

    from actions.models import Notification

    connection.close()  # the database may have restarted since
    return Counter(Notification.objects.values_list("state", flat=True))


class Trials:
    def __init__(self, args, folder: Path):
        self.args, self.folder = args, folder
        self.cluster = Cluster(folder / "pg")
        self.cluster.start()
        self.cluster.create_database()
        self.redis, self.smtp = Redis(folder), Smtp()
        self.smtp.start()
        self.queue = f"faults-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "bench-only-not-a-secret",
            "DEBUG": "false",
            "DATABASE_URL": self.cluster.url,
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp.port}",
            "EMAIL_TIMEOUT": "10",
            "CELERY_BROKER_URL": self.redis.url,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "ACTION_CHASE_WEEKDAYS": "0,1,2,3,4,5,6",  # chase whatever the day and hour
            "ACTION_CHASE_HOUR": "0",
        }
        os.environ.update(env)
        import django

        django.setup()
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        seed(args.messages)
        self.worker = Worker(folder, env, self.queue)
        from celery import Celery

        self.sender = Celery("faults-bench", broker=self.redis.url, set_as_current=False)

    def send(self, task: str) -> None:
        self.sender.send_task(task, queue=self.queue)

    def reset(self) -> None:
        from django.db import connection

        from actions.models import Notification

        self.worker.stop()
        self.redis.client.flushall()
        connection.close()
        Notification.objects.all().delete()
        with self.smtp.inbox.lock:
            self.smtp.inbox.recipients.clear()

    def wait_for(self, predicate, seconds: float = 300, step: float = 0.005) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(step)
        return False

    def run(self, trial: str) -> dict:
        self.reset()
        self.worker.start()
        beat = Beat(self.send, self.args.sweep_every, self.args.chase_every)
        beat.start()
        started = time.monotonic()
        self.send("actions.tasks.chase_overdue_items")
        count, inbox = self.args.messages, self.smtp.inbox
        note = ""
        if trial == "enqueue":
            # The chase claims the rows, then enqueues one delivery each: kill it part-way through.
            self.wait_for(lambda: self.redis.client.llen(self.queue) >= max(1, count // 4), seconds=120, step=0.001)
            self.worker.kill()
            note = f"killed with {self.redis.client.llen(self.queue)} deliveries queued, {inbox.distinct()} sent"
            recovered = self.worker.start()
        elif trial == "delivery":
            self.wait_for(lambda: inbox.distinct() >= count // 3)
            self.worker.kill()
            note = f"killed after {inbox.distinct()} sent"
            recovered = self.worker.start()
        elif trial == "database":
            self.wait_for(lambda: inbox.distinct() >= count // 5)
            self.cluster.stop()
            note = f"PostgreSQL stopped after {inbox.distinct()} sent, for {self.args.outage:.0f} s"
            time.sleep(self.args.outage)
            self.cluster.start()
            recovered = time.monotonic()
        elif trial == "smtp":
            self.wait_for(lambda: inbox.distinct() >= count // 5)
            self.smtp.stop()
            note = f"mail server stopped after {inbox.distinct()} sent, for {self.args.outage:.0f} s"
            time.sleep(self.args.outage)
            self.smtp.start()
            recovered = time.monotonic()
        else:
            raise ValueError(trial)
        drained = self.wait_for(lambda: inbox.distinct() >= count, seconds=self.args.wait, step=0.05)
        finished = time.monotonic()
        # A message the server accepted but the ledger never marked sent goes out again
        # once its lease runs out: count duplicates only when the ledger has settled.
        settled = self.wait_for(lambda: set(ledger()) <= {"sent"}, seconds=self.args.wait, step=1)
        settled_at = time.monotonic()
        beat.stopped.set()
        time.sleep(2)  # a send under way when the ledger settled
        counts = inbox.counts()
        result = {
            "trial": trial,
            "messages": count,
            "lost": count - len(counts),
            "duplicates": sum(n - 1 for n in counts.values()),
            "drain_s": round(finished - recovered, 1) if drained else None,
            "settled_s": round(settled_at - recovered, 1) if settled else None,
            "total_s": round(finished - started, 1),
            "ledger": dict(ledger()),
            "note": note,
        }
        self.worker.stop()
        return result

    def close(self) -> None:
        self.worker.stop()
        self.smtp.stop()
        self.redis.close()
        with contextlib.suppress(subprocess.CalledProcessError):
            self.cluster.stop()
        shutil.rmtree(self.cluster.data, ignore_errors=True)  # keep the logs, not the data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--trials", default="enqueue,delivery,database,smtp")
    parser.add_argument("--outage", type=float, default=28.0, help="seconds the database or mail server is down")
    parser.add_argument("--sweep-every", type=float, default=60.0, help="seconds between sweeps (the schedule)")
    parser.add_argument("--chase-every", type=float, default=60.0, help="seconds between chases (the schedule)")
    parser.add_argument("--wait", type=float, default=600.0, help="seconds after recovery before counting losses")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="faults-"))
    os.chmod(folder, 0o755)
    trials = Trials(args, folder)
    results = []
    try:
        for trial in args.trials.split(","):
            print(f"{trial}: running ...", flush=True)
            result = trials.run(trial)
            results.append(result)
            print(f"    {result}", flush=True)
    finally:
        trials.close()
    print(f"\n{'trial':<10} {'messages':>8} {'lost':>5} {'dupes':>5} {'drain s':>8} {'ledger s':>8}  what happened")
    for r in results:
        drain, settled = (("-" if v is None else f"{v:.1f}") for v in (r["drain_s"], r["settled_s"]))
        print(
            f"{r['trial']:<10} {r['messages']:>8} {r['lost']:>5} {r['duplicates']:>5} {drain:>8} {settled:>8}"
            f"  {r['note']}"
        )
    print(
        "\ndrain s: from recovery (the new worker ready, or the server back) to the last message arriving;"
        "\nledger s: to every ledger row marked sent (duplicates are counted after that)."
        f"\nlost: not arrived {args.wait:.0f} s after recovery. Logs and data: {folder}"
    )


if __name__ == "__main__":
    main()
