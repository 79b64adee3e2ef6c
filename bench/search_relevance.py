"""Archive search relevance on a labelled set: load ``bench/data/search_queries`` (postmortems
written for it, and queries with the postmortems that answer them) into a fresh database,
run each query through the archive's search, and print MRR, hit@1, hit@3 and the queries
that found nothing, overall and per kind of query.

    .venv/bin/python bench/search_relevance.py                 # SQLite (var/bench/)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/search_relevance.py
    BENCH_DATABASE=name ...    # the database (or SQLite file) to create and drop (bench_relevance)
    .venv/bin/python bench/search_relevance.py --data bench/data/search_queries_heldout   # another set

The set was written before the search was tuned and is kept fixed: do not edit it to make
the figures better.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "bench" / "data" / "search_queries"
KINDS = ["keyword", "natural", "abbreviation", "synonym", "operator"]


def load_set(data: Path = DATA) -> tuple[list[dict], list[dict]]:
    """The labelled postmortems and queries in the folder ``data``."""

    def read(name: str) -> list[dict]:
        return [json.loads(line) for line in (data / name).read_text().splitlines() if line.strip()]

    return read("postmortems.jsonl"), read("queries.jsonl")


def seed_set(postmortems: list[dict]):
    """Publish every labelled postmortem (organisation-wide), index them, and return a reader
    and the postmortem ids by key."""
    from django.contrib.auth import get_user_model
    from django.utils.text import slugify

    from actions.models import ActionItem
    from incidents.models import CauseCategory, Incident, Service, Severity, Team
    from postmortems.models import Postmortem
    from postmortems.search_index import rebuild_index

    user, _ = get_user_model().objects.get_or_create(username="relevance-reader")
    severity = Severity.objects.order_by("level").first()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ids = {}
    for n, data in enumerate(postmortems):
        team, _ = Team.objects.get_or_create(name=data["team"], defaults={"slug": slugify(data["team"])})
        cause = CauseCategory.objects.filter(slug=slugify(data["cause"])).first() or CauseCategory.objects.create(
            name=data["cause"].capitalize(), slug=slugify(data["cause"])
        )
        began = start + timedelta(days=9 * n)
        incident = Incident.objects.create(
            title=data["title"], severity=severity, cause_category=cause, started_at=began, declared_at=began
        )
        for name in data["services"]:
            service, _ = Service.objects.get_or_create(name=name, defaults={"slug": slugify(name), "team": team})
            incident.services.add(service)
        incident.tags.add(*data["tags"])
        pm = Postmortem.objects.create(
            incident=incident,
            facilitator=user,
            status=Postmortem.Status.PUBLISHED,
            published_at=began + timedelta(days=3),
            summary=data["summary"],
            root_cause=data["root_cause"],
            what_went_well=data.get("what_went_well", ""),
        )
        pm.teams.add(team)
        for title in data["actions"]:
            ActionItem.objects.create(postmortem=pm, title=title, owner=user, due_date=began.date())
        ids[data["key"]] = pm.pk
    rebuild_index()
    return user, ids


def evaluate(user, ids: dict[str, int], queries: list[dict]) -> list[dict]:
    """Each query with the rank (1-based) of its first relevant result, or None."""
    from postmortems.search import search_postmortems

    keys = {pk: key for key, pk in ids.items()}
    rows = []
    for query in queries:
        found = [keys.get(pm.pk) for pm in search_postmortems(user, query["q"])[:10]]
        rank = next((i + 1 for i, key in enumerate(found) if key in query["relevant"]), None)
        rows.append({**query, "rank": rank, "found": found, "empty": not found})
    return rows


def figures(rows: list[dict]) -> dict[str, float]:
    n = len(rows) or 1
    return {
        "queries": len(rows),
        "mrr": sum(1 / r["rank"] for r in rows if r["rank"]) / n,
        "hit@1": sum(1 for r in rows if r["rank"] == 1) / n,
        "hit@3": sum(1 for r in rows if r["rank"] and r["rank"] <= 3) / n,
        "zero": sum(1 for r in rows if r["empty"]),
    }


def report(rows: list[dict], vendor: str) -> None:
    by_kind = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    groups = [("all", rows), ("non-keyword", [r for r in rows if r["kind"] != "keyword"])]
    groups += [(kind, by_kind[kind]) for kind in KINDS]
    print(f"Archive search relevance on {vendor}")
    print(f"{'queries':<14}{'n':>4}{'MRR':>8}{'hit@1':>8}{'hit@3':>8}{'zero':>6}")
    for name, group in groups:
        f = figures(group)
        print(f"{name:<14}{f['queries']:>4}{f['mrr']:>8.3f}{f['hit@1']:>8.3f}{f['hit@3']:>8.3f}{f['zero']:>6}")
    misses = [r for r in rows if r["rank"] != 1]
    if misses:
        print("\nnot first:")
        for r in misses:
            print(f"  {r['q']!r:<50} rank {r['rank']}  top: {r['found'][:3]}")


def main() -> int:
    import argparse

    from bench.common import prepare_database, setup_django

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DATA, help="folder holding postmortems.jsonl and queries.jsonl (%(default)s)"
    )
    args = parser.parse_args()

    where, drop = prepare_database(os.environ.get("BENCH_DATABASE", "bench_relevance"), keep=False)
    setup_django()
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0)
    try:
        postmortems, queries = load_set(args.data)
        user, ids = seed_set(postmortems)
        report(evaluate(user, ids, queries), f"{connection.vendor} ({where})")
    finally:
        connections.close_all()
        drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
