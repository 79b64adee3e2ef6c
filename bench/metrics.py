"""Seed 100,000 incidents and time the metrics page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/metrics.py
    .venv/bin/python bench/metrics.py            # SQLite file under var/bench/

With a PostgreSQL DATABASE_URL the script creates its own database (``bench_metrics``, or the name
given with --db-name, so benches sharing a server keep apart) on that server (dropped and re-created
on each run, dropped at the end unless --keep); with none it uses a fresh SQLite file of that name.
It prints the page's render time (target: under 1 s) and its query count, for every incident, the
default last twelve months, by quarter, and one team's page.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import prepare_database, setup_django  # noqa: E402

BENCH_DB = "bench_metrics"


def seed(count: int) -> None:
    from django.contrib.auth import get_user_model

    from actions.models import ActionItem
    from incidents.models import CauseCategory, Incident, RepeatLink, Service, Severity, Team
    from postmortems.models import Postmortem

    rng = random.Random(7)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench", is_staff=True)
    teams = [Team.objects.create(name=f"Team {i}", slug=f"team-{i}") for i in range(8)]
    services = [
        Service.objects.create(name=f"service-{i}", slug=f"service-{i}", team=teams[i % len(teams)]) for i in range(30)
    ]
    severities = list(Severity.objects.all())
    causes = list(CauseCategory.objects.all())
    now = datetime.now(UTC)
    incidents = []
    for n in range(count):
        start = now - timedelta(days=rng.uniform(0, 730))
        detected = start + timedelta(minutes=rng.expovariate(1 / 12))
        sev = rng.choice(severities)
        mitigated = detected + timedelta(minutes=30 + rng.expovariate(1 / 40))
        incidents.append(
            Incident(
                reference=f"INC-B-{n:07d}",
                title=f"Bench incident {n}",
                severity=sev,
                status="resolved",
                cause_category=rng.choice(causes) if rng.random() > 0.1 else None,
                started_at=start if rng.random() > 0.05 else None,
                detected_at=detected,
                acknowledged_at=detected + timedelta(minutes=rng.expovariate(1 / 6)) if rng.random() > 0.05 else None,
                declared_at=detected + timedelta(minutes=1),
                mitigated_at=mitigated,
                resolved_at=mitigated + timedelta(hours=rng.expovariate(1 / 3)),
                created_by=user,
            )
        )
    Incident.objects.bulk_create(incidents, batch_size=5000)
    ids = list(Incident.objects.order_by("pk").values_list("pk", "severity__requires_postmortem", "resolved_at"))
    through = Incident.services.through
    through.objects.bulk_create(
        [through(incident_id=pk, service_id=rng.choice(services).pk) for pk, _, _ in ids], batch_size=10000
    )
    postmortems = [
        Postmortem(
            incident_id=pk,
            facilitator=user,
            status="published" if rng.random() > 0.2 else "draft",
            published_at=resolved + timedelta(days=rng.uniform(1, 12)),
            due_date=(resolved + timedelta(days=7)).date(),
        )
        for pk, required, resolved in ids
        if required
    ]
    Postmortem.objects.bulk_create(postmortems, batch_size=5000)
    pm_ids = list(Postmortem.objects.values_list("pk", "due_date"))
    items, n = [], 0
    for pm_id, due in pm_ids:
        for _ in range(2):
            n += 1
            done = rng.random() > 0.4
            items.append(
                ActionItem(
                    reference=f"AI-B-{n:07d}",
                    postmortem_id=pm_id,
                    title="Bench item",
                    due_date=due + timedelta(days=30),
                    status="done" if done else "open",
                    completed_at=datetime.combine(due, datetime.min.time(), UTC) + timedelta(days=rng.uniform(0, 60))
                    if done
                    else None,
                )
            )
    ActionItem.objects.bulk_create(items, batch_size=5000)
    links = [
        RepeatLink(incident_id=ids[i][0], earlier_id=ids[i - 1][0], score=0.7, reason="bench", state="confirmed")
        for i in range(1, len(ids), 50)
    ]
    RepeatLink.objects.bulk_create(links, batch_size=5000)
    print(f"seeded {len(ids)} incidents, {len(postmortems)} postmortems, {len(items)} action items, {len(links)} links")


def analyze() -> None:
    """Gather planner statistics, as autovacuum (or SQLite's optimize) would on a live database:
    without them the planner guesses row counts from an empty table's and picks poor plans."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(path: str, runs: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    # Production settings, except static files: no collectstatic manifest in a bench run.
    plain = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=plain):
        _measure(path, runs, Client, CaptureQueriesContext, connection)


def _measure(path, runs, Client, CaptureQueriesContext, connection) -> None:
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    client.get(path)  # warm up: templates, connection
    timings = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    print(
        f"{path}: median {statistics.median(timings):.3f} s, best {min(timings):.3f} s over {runs} runs; "
        f"{len(queries)} queries"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the bench database (and reuse it next time)")
    parser.add_argument("--db-name", default=BENCH_DB, help=f"the bench database's name (default {BENCH_DB})")
    args = parser.parse_args()

    where, drop = prepare_database(args.db_name, keep=args.keep)
    setup_django()
    from django.core.management import call_command

    from incidents.models import Incident

    print(f"database: {where}")
    try:
        call_command("migrate", verbosity=0)
        if not Incident.objects.exists():
            started = time.perf_counter()
            seed(args.incidents)
            print(f"seeding took {time.perf_counter() - started:.1f} s")
        analyze()
        measure("/metrics/?start=2000-01-01", args.runs)  # every incident
        measure("/metrics/", args.runs)  # the default: the last twelve months
        measure("/metrics/?start=2000-01-01&period=quarter", args.runs)
        measure("/metrics/teams/team-0/", args.runs)  # one team's page: an eighth of the incidents
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
