"""The tag filter, before and after it became one grouped query, and the cap on filter values.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/filters.py
    .venv/bin/python bench/filters.py                   # SQLite file under var/bench/

Seeds ``--incidents`` incidents (default 5,000) with three of 200 tags each, in a database
of its own (``bench_filters``, dropped at the end unless --keep). Then, for 20, 60 and 80
tag values, it times the incident list's count and first page (what ``?tags=`` costs the
API) built the old way (one ``IN (subquery)`` per tag) and the new way (one grouped query);
the old way runs under a ``statement_timeout`` of ``--old-timeout`` seconds (it took 27 s at
80 values on the audit's server). Last, it times ``GET /api/v1/incidents/?tags=<80 values>``,
which the cap now answers with a 400.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # not bench/ itself, whose markdown.py would shadow the package

from bench.common import prepare_database, setup_django  # noqa: E402

BENCH_DB = "bench_filters"
TAGS = 200


def seed(count: int) -> None:
    from django.contrib.contenttypes.models import ContentType
    from taggit.models import Tag, TaggedItem

    from incidents.models import Incident, Severity

    rng = random.Random(12)
    severities = list(Severity.objects.all())
    incidents = [
        Incident(reference=f"INC-F-{n:06d}", title=f"Bench {n}", severity=rng.choice(severities)) for n in range(count)
    ]
    Incident.objects.bulk_create(incidents, batch_size=2000)
    tags = Tag.objects.bulk_create([Tag(name=f"tag{n}", slug=f"tag{n}") for n in range(TAGS)])
    kind = ContentType.objects.get_for_model(Incident)
    TaggedItem.objects.bulk_create(
        [
            TaggedItem(tag=tag, content_type=kind, object_id=pk)
            for pk in Incident.objects.values_list("pk", flat=True)
            for tag in rng.sample(tags, 3)
        ],
        batch_size=5000,
    )
    print(f"seeded {count} incidents with 3 of {TAGS} tags each")


def old_filter(queryset, tags: list[str]):
    """The filter as it was: one subquery per tag."""
    from incidents.models import Incident

    for tag in tags:
        queryset = queryset.filter(pk__in=Incident.objects.filter(tags__name__iexact=tag).values("pk"))
    return queryset


def new_filter(queryset, tags: list[str]):
    from incidents.filters import filter_by_tags

    return filter_by_tags(queryset, "pk", tags)


def timed(build, tags: list[str], timeout_s: int) -> str:
    """Seconds for the count and the first page of 50, or how it ended."""
    from django.db import OperationalError, connection, transaction

    from incidents.models import Incident

    started = time.perf_counter()
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL statement_timeout = {timeout_s * 1000}")
            queryset = build(Incident.objects.all(), tags)
            queryset.count()
            list(queryset[:50])
    except OperationalError:
        return f"over {timeout_s} s: cancelled by statement_timeout after {time.perf_counter() - started:.1f} s"
    return f"{time.perf_counter() - started:.3f} s"


def api_request(tags: list[str]) -> str:
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    user, _ = get_user_model().objects.get_or_create(username="bench")
    client = APIClient()
    client.force_authenticate(user)
    started = time.perf_counter()
    response = client.get("/api/v1/incidents/", {"tags": ",".join(tags)})
    elapsed = time.perf_counter() - started
    return f"HTTP {response.status_code} in {elapsed:.3f} s: {response.json().get('detail', '')[:80]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=5000)
    parser.add_argument("--old-timeout", type=int, default=60, help="seconds the old way may run per query")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the bench database")
    args = parser.parse_args()
    where, drop = prepare_database(BENCH_DB, keep=args.keep)
    setup_django()
    from django.core.management import call_command

    from incidents.models import Incident

    print(where)
    call_command("migrate", verbosity=0)
    if not Incident.objects.exists():
        seed(args.incidents)
    rng = random.Random(5)
    try:
        for size in (20, 60, 80):
            tags = [f"tag{n}" for n in rng.sample(range(TAGS), size)]
            new = min((timed(new_filter, tags, 60) for _ in range(3)), key=lambda t: float(t.split()[0]))
            print(f"{size} tags: old {timed(old_filter, tags, args.old_timeout)}; new {new} (best of 3)")
        tags = [f"tag{n}" for n in range(80)]
        api_request(tags[:1])  # warm up: URL patterns, serializers
        print(f"GET /api/v1/incidents/?tags=<80 values>: {api_request(tags)}")
        print(f"GET /api/v1/incidents/?tags=<20 values>: {api_request(tags[:20])}")
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop()


if __name__ == "__main__":
    main()
