"""Seed 10,000 incidents and measure the API's incident and action-item lists.

    .venv/bin/python bench/api.py                       # SQLite file under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api.py

With a PostgreSQL DATABASE_URL the script creates its own database ``bench_api`` on that
server (dropped at the end unless --keep). For each list it prints requests per second
through Django's test client (in process, so the figures are the application's own cost)
for the API endpoint and for a plain Django view that returns the same rows, built by
hand from ``.values()`` with the same permission rules, count and page size; and the
ratio of the two (target: under 2x). The user is a signed-in team member, not an admin,
so the visibility rules are part of every query.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import prepare_database, setup_django  # noqa: E402

BENCH_DB = "bench_api"
PAGE_SIZE = 50


def seed(count: int) -> None:
    """``count`` incidents over two years, each with one or two services; a postmortem for those
    whose severity requires one (a tenth restricted to a team), two action items each."""
    from django.contrib.auth import get_user_model

    from actions.models import ActionItem
    from incidents.models import CauseCategory, Incident, Service, Severity, Team
    from postmortems.models import Postmortem

    rng = random.Random(11)
    users = get_user_model().objects
    bench = users.create_user("bench", "bench@example.com", "bench")
    others = [users.create_user(f"user{i}", f"user{i}@example.com", "x") for i in range(20)]
    teams = [Team.objects.create(name=f"Team {i}", slug=f"team-{i}", lead=others[i]) for i in range(8)]
    teams[0].members.add(bench)
    services = [Service.objects.create(name=f"svc-{i}", slug=f"svc-{i}", team=teams[i % 8]) for i in range(30)]
    severities, causes = list(Severity.objects.all()), list(CauseCategory.objects.all())
    now = datetime.now(UTC)
    incidents = []
    for n in range(count):
        detected = now - timedelta(days=rng.uniform(1, 730))
        resolved = detected + timedelta(minutes=20) + timedelta(hours=rng.expovariate(1 / 3))
        incidents.append(
            Incident(
                reference=f"INC-B-{n:06d}",
                title=f"Bench incident {n}",
                severity=rng.choice(severities),
                status="resolved",
                cause_category=rng.choice(causes),
                started_at=detected - timedelta(minutes=5),
                detected_at=detected,
                declared_at=detected + timedelta(minutes=1),
                mitigated_at=resolved - timedelta(minutes=10),
                resolved_at=resolved,
                commander=rng.choice(others),
            )
        )
    Incident.objects.bulk_create(incidents, batch_size=2000)
    rows = list(Incident.objects.values_list("pk", "severity__requires_postmortem", "resolved_at"))
    through = Incident.services.through
    links = {(pk, rng.choice(services).pk) for pk, _, _ in rows} | {
        (pk, rng.choice(services).pk) for pk, _, _ in rows if rng.random() < 0.3
    }
    through.objects.bulk_create([through(incident_id=i, service_id=s) for i, s in links], batch_size=5000)
    postmortems = [
        Postmortem(
            incident_id=pk,
            facilitator=rng.choice(others),
            status="published",
            published_at=resolved + timedelta(days=3),
            due_date=(resolved + timedelta(days=7)).date(),
            visibility="restricted" if rng.random() < 0.1 else "organisation",
            summary="What happened.",
        )
        for pk, required, resolved in rows
        if required
    ]
    Postmortem.objects.bulk_create(postmortems, batch_size=2000)
    restricted = Postmortem.objects.filter(visibility="restricted").values_list("pk", flat=True)
    Postmortem.teams.through.objects.bulk_create(
        [Postmortem.teams.through(postmortem_id=pk, team_id=rng.choice(teams).pk) for pk in restricted]
    )
    items, n = [], 0
    for pm_id, due in Postmortem.objects.values_list("pk", "due_date"):
        for _ in range(2):
            n += 1
            items.append(
                ActionItem(
                    reference=f"AI-B-{n:06d}",
                    postmortem_id=pm_id,
                    title=f"Bench item {n}",
                    owner=bench if rng.random() < 0.05 else rng.choice(others),
                    team=rng.choice(teams),
                    due_date=due + timedelta(days=30),
                )
            )
    ActionItem.objects.bulk_create(items, batch_size=2000)
    print(f"seeded {len(rows)} incidents, {len(postmortems)} postmortems, {len(items)} action items")


# The plain views: the same rows, permission rules, count and page, as JSON built by hand.

INCIDENT_VALUES = [
    "id", "reference", "title", "summary", "severity", "status", "cause_category", "trigger", "customer_facing",
    "started_at", "detected_at", "acknowledged_at", "declared_at", "mitigated_at", "resolved_at", "commander",
    "operations_lead", "communications_lead", "scribe", "created_by", "alert_group_key", "postmortem_pk",
    "created_at", "updated_at",
]  # fmt: skip
ITEM_VALUES = [
    "id", "reference", "postmortem", "incident_pk", "title", "description", "kind", "priority", "owner", "team",
    "due_date", "status", "completed_at", "resolution_note", "external_url", "evidence_url", "can_edit",
    "created_at", "updated_at",
]  # fmt: skip


def _page(request, queryset):
    page = max(1, int(request.GET.get("page", "1")))
    return queryset.count(), list(queryset[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])


def plain_incidents(request):
    from django.db.models import F
    from django.http import JsonResponse
    from taggit.models import TaggedItem

    from incidents.models import Incident

    incidents = Incident.objects.visible_to(request.user).annotate(postmortem_pk=F("postmortem__id"))
    count, rows = _page(request, incidents.values(*INCIDENT_VALUES))
    ids = [row["id"] for row in rows]
    services, tags = {}, {}
    for incident_id, service_id in Incident.services.through.objects.filter(incident_id__in=ids).values_list(
        "incident_id", "service_id"
    ):
        services.setdefault(incident_id, []).append(service_id)
    tagged = TaggedItem.objects.filter(content_type__model="incident", object_id__in=ids)
    for object_id, name in tagged.values_list("object_id", "tag__name"):
        tags.setdefault(object_id, []).append(name)
    for row in rows:
        row["postmortem"] = row.pop("postmortem_pk")
        row["services"], row["tags"] = services.get(row["id"], []), tags.get(row["id"], [])
    return JsonResponse({"count": count, "results": rows})


def plain_action_items(request):
    from django.db.models import F
    from django.http import JsonResponse
    from django.utils import timezone

    from actions.models import ActionItem

    user = request.user
    items = ActionItem.objects.visible_to(user).with_access(user).annotate(incident_pk=F("postmortem__incident_id"))
    count, rows = _page(request, items.order_by("due_date", "id").values(*ITEM_VALUES))
    today = timezone.localdate()
    for row in rows:
        row["incident"] = row.pop("incident_pk")
        row["is_overdue"] = row["status"] in ("open", "in_progress", "blocked") and row["due_date"] < today
    return JsonResponse({"count": count, "results": rows})


def bench_urlconf():
    from django.contrib.auth.decorators import login_required
    from django.urls import path

    from config.urls import urlpatterns

    module = types.ModuleType("bench_api_urls")
    module.urlpatterns = [
        path("plain/incidents/", login_required(plain_incidents)),
        path("plain/action-items/", login_required(plain_action_items)),
        *urlpatterns,
    ]
    return module


def rate(client, url: str, seconds: float) -> tuple[float, float, dict]:
    """Requests per second (and the median latency) over about ``seconds`` of back-to-back requests."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    timings = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        client.get(url)
        timings.append(time.perf_counter() - started)
    return len(timings) / sum(timings), statistics.median(timings), response.json()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="time spent on each URL")
    parser.add_argument("--keep", action="store_true", help="keep the bench database (and reuse it next time)")
    args = parser.parse_args()

    where, drop = prepare_database(BENCH_DB, keep=args.keep)
    setup_django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from incidents.models import Incident

    print(f"database: {where}")
    try:
        call_command("migrate", verbosity=0)
        if not Incident.objects.exists():
            started = time.perf_counter()
            seed(args.incidents)
            print(f"seeded in {time.perf_counter() - started:.1f} s")
        client = Client()
        client.force_login(get_user_model().objects.get(username="bench"))
        worst = 0.0
        with override_settings(ROOT_URLCONF=bench_urlconf(), DEBUG=False):
            for name in ["incidents", "action-items"]:
                for query in ["", "?page=20"]:
                    api_rps, api_median, api_body = rate(client, f"/api/v1/{name}/{query}", args.seconds)
                    plain_rps, plain_median, plain_body = rate(client, f"/plain/{name}/{query}", args.seconds)
                    same_rows = [r["id"] for r in api_body["results"]] == [r["id"] for r in plain_body["results"]]
                    same_keys = set(api_body["results"][0]) == set(plain_body["results"][0])
                    assert api_body["count"] == plain_body["count"] and same_rows and same_keys, name
                    ratio = plain_rps / api_rps
                    worst = max(worst, ratio)
                    print(
                        f"/api/v1/{name}/{query:<9} {api_rps:7.1f} req/s (median {api_median * 1000:5.1f} ms)   "
                        f"plain view {plain_rps:7.1f} req/s (median {plain_median * 1000:5.1f} ms)   "
                        f"ratio {ratio:.2f}x   [{api_body['count']} rows visible, {len(api_body['results'])} a page]"
                    )
        print(f"worst ratio {worst:.2f}x (target under 2x): {'OK' if worst < 2 else 'ABOVE TARGET'}")
        return 0 if worst < 2 else 1
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop()


if __name__ == "__main__":
    raise SystemExit(main())
