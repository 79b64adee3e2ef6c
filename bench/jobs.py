"""Benchmark the chase and digest jobs on 100,000 open action items for 5,000 owners.

    DEBUG=1 .venv/bin/python bench/jobs.py
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_jobs .venv/bin/python bench/jobs.py

Without DATABASE_URL it uses a fresh SQLite file, var/bench/jobs.sqlite3. With a
PostgreSQL URL it creates the database (dropping one of that name first) and drops it
at the end, so point it at a name of its own. PostgreSQL is the recommended target.

It seeds the data with bulk_create (due dates spread evenly from 45 days ago to 45
days ahead, so half the items are overdue; owners in a few European time zones), then
runs each job in a child process of its own, so that the child's peak resident memory
is the job's alone. Messages are claimed (rendered and written to the ledger) with
enqueueing off: delivery is one task per message whatever the job does. Each job is
run twice: the first run claims everything due, the second finds it all claimed.

Prints, for each run: wall time, peak memory (maxrss of the child), SQL queries and
messages claimed. ``--items`` and ``--owners`` scale the data, to see that queries do
not grow per item.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

# A Monday, noon UTC: chasing and digest time in every zone the owners live in.
NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
ZONES = ["Europe/London", "Europe/Berlin", "Europe/Paris", "Africa/Lagos"]


def _environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ["EMAIL_URL"] = "memorymail://"  # the locmem backend
    os.environ.setdefault("ORG_DIGEST_EMAIL", "leadership@example.com")
    if not os.environ.get("DATABASE_URL"):
        folder = BASE_DIR / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'jobs.sqlite3'}"


def _postgres_admin(sql: str) -> None:
    import psycopg

    url = urlparse(os.environ["DATABASE_URL"])
    admin = url._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


def _database_name() -> str:
    return urlparse(os.environ["DATABASE_URL"]).path.lstrip("/")


def fresh_database() -> None:
    url = os.environ["DATABASE_URL"]
    if url.startswith("sqlite"):
        path = Path(urlparse(url).path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{_database_name()}"')
        _postgres_admin(f'CREATE DATABASE "{_database_name()}"')


def drop_database() -> None:
    if not os.environ["DATABASE_URL"].startswith("sqlite"):
        _postgres_admin(f'DROP DATABASE IF EXISTS "{_database_name()}"')


def seed(items: int, owners: int) -> None:
    """Users, teams (with leads and members), incidents, postmortems and the open items."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from actions.models import ActionItem, NotificationPreference
    from incidents.models import Incident, ReferenceSequence, Severity, Team
    from postmortems.models import Postmortem

    call_command("migrate", verbosity=0)
    rng = random.Random(42)
    User = get_user_model()
    User.objects.bulk_create(
        User(username=f"owner{n}", email=f"owner{n}@example.com", first_name="Owner", last_name=str(n), password="!")
        for n in range(owners)
    )
    users = list(User.objects.order_by("pk").values_list("pk", flat=True))
    NotificationPreference.objects.bulk_create(
        NotificationPreference(user_id=pk, time_zone=rng.choice(ZONES)) for pk in users[::5]
    )
    team_count = max(1, owners // 100)
    Team.objects.bulk_create(
        Team(name=f"Team {n}", slug=f"team-{n}", lead_id=users[n * 100 % len(users)]) for n in range(team_count)
    )
    teams = list(Team.objects.order_by("pk").values_list("pk", flat=True))
    Membership = Team.members.through
    Membership.objects.bulk_create(
        Membership(team_id=teams[index % len(teams)], user_id=pk) for index, pk in enumerate(users)
    )
    severity = Severity.objects.get(name="SEV2")
    incident_count = max(1, items // 100)
    resolved = NOW - timedelta(days=60)
    Incident.objects.bulk_create(
        Incident(
            reference=f"INC-2026-{n:05d}",
            title=f"Incident {n}",
            severity=severity,
            status="resolved",
            declared_at=resolved - timedelta(hours=2),
            resolved_at=resolved,
        )
        for n in range(incident_count)
    )
    incidents = list(Incident.objects.order_by("pk").values_list("pk", flat=True))
    Postmortem.objects.bulk_create(
        Postmortem(
            incident_id=pk,
            facilitator_id=rng.choice(users),
            status="published",
            published_at=resolved + timedelta(days=3),
            visibility="restricted" if n % 10 == 0 else "organisation",
            due_date=(resolved + timedelta(days=7)).date(),
        )
        for n, pk in enumerate(incidents)
    )
    postmortems = list(Postmortem.objects.order_by("pk").values_list("pk", flat=True))
    Postmortem.teams.through.objects.bulk_create(
        Postmortem.teams.through(postmortem_id=pk, team_id=teams[n % len(teams)])
        for n, pk in enumerate(postmortems[::10])
    )
    batch = 10_000
    for start in range(0, items, batch):
        ActionItem.objects.bulk_create(
            ActionItem(
                reference=f"AI-{n + 1:06d}",
                postmortem_id=postmortems[n % len(postmortems)],
                title=f"Fix the thing {n}",
                owner_id=users[n % len(users)],
                team_id=teams[rng.randrange(len(teams))],
                due_date=TODAY + timedelta(days=rng.randint(-45, 45)),
                status=rng.choice(["open", "open", "in_progress", "blocked"]),
            )
            for n in range(start, min(start + batch, items))
        )
    ReferenceSequence.objects.update_or_create(name="AI", defaults={"last_value": items})
    # Fresh statistics, as autovacuum would gather on a live database: without them the
    # planner takes every table for empty.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def run_job(name: str) -> dict:
    """Run one job (in this process) and measure it."""
    from django.db import connection

    from actions import jobs

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    job = {"chase": jobs.chase_overdue_items, "digest": jobs.send_digests}[name]
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = job(now=NOW, enqueue=False)
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"job": name, "seconds": round(seconds, 1), "peak_mb": round(peak_mb), "queries": queries, "claimed": result}


def child(name: str) -> None:
    from collections import deque

    import django

    django.setup()
    from django.db import connection

    # DEBUG keeps the SQL of the last 9,000 queries, and a bulk insert of rendered emails is
    # megabytes of SQL: keep a few, so the figure is the job's memory, not the debug log's.
    connection.queries_log = deque(maxlen=20)
    print(json.dumps(run_job(name), default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=5_000)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards (to look into it).")
    parser.add_argument("--child", choices=["chase", "digest"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    _environment()
    if args.child:
        child(args.child)
        return

    import django

    django.setup()
    from django.db import connection

    print(f"Database: {connection.vendor} ({os.environ['DATABASE_URL'].split('@')[-1]})")
    fresh_database()
    connection.close()
    try:
        started = time.perf_counter()
        seed(args.items, args.owners)
        print(f"Seeded {args.items:,} open items for {args.owners:,} owners in {time.perf_counter() - started:.1f} s")
        connection.close()
        print(f"{'job':8} {'run':>4} {'seconds':>8} {'peak MB':>8} {'queries':>8}  claimed")
        for name in ("chase", "digest"):
            for run in (1, 2):
                output = subprocess.run(
                    [sys.executable, __file__, "--child", name],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=os.environ,
                ).stdout
                row = json.loads(output.strip().splitlines()[-1])
                print(
                    f"{name:8} {run:>4} {row['seconds']:>8} {row['peak_mb']:>8} {row['queries']:>8}  {row['claimed']}"
                )
    finally:
        connection.close()
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
