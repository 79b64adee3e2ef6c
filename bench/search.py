"""Archive search benchmark: seed N published postmortems into a fresh PostgreSQL database,
build the index, and time 50 varied queries through the app's own search.

    .venv/bin/python bench/search.py [--count 100000] [--database NAME] [--keep] [--reuse [--no-build]]
        [--postgres-only]

Prints: seeding and index build times; p50/p95 latency of the app's search (count + first
page + snippets, as the archive page runs it) and of the whole archive page selector; the
ratio to hand-written SQL returning the same page; the same queries on SQLite FTS5 at the
same size. The database (``bench_search`` on postgres://postgres@127.0.0.1:5432, or
``--database``) is created and dropped by the script; ``--keep`` keeps it, and ``--reuse``
measures a kept one again and keeps it (``--no-build``: without rebuilding its index).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import prepare_database, setup_django  # noqa: E402

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "bench_search"
SEED = 20260302

# --- Text generation: word lists and sentence templates ----------------------------------------

COMPONENTS = """payment gateway|checkout service|kafka cluster|redis cache|memcached tier|postgres primary|
postgres replica|dns resolver|load balancer|cdn edge|auth service|session store|search cluster|
elasticsearch index|object storage|message queue|rabbitmq broker|api gateway|billing pipeline|
invoice generator|notification service|email relay|sms provider|mobile backend|web frontend|
feature flag service|config service|service mesh|ingress controller|kubernetes scheduler|
container registry|ci pipeline|deploy orchestrator|metrics pipeline|logging agent|tracing collector|
identity provider|oauth token service|fraud scoring model|recommendation engine|inventory service|
shipping calculator|tax service|currency converter|ledger database|data warehouse|etl job|
batch scheduler|cron runner|vpn concentrator|edge firewall|waf rules|tls terminator|
certificate manager|secrets vault|backup system|disaster recovery site|network switch|
storage array|hypervisor host|gpu cluster|websocket gateway|graphql layer|rate limiter|
connection pool|thread pool|circuit breaker|retry queue|dead letter queue|cache warmer""".replace("\n", "").split("|")
SYMPTOMS = """timed out|returned 502 errors|returned 503 errors|dropped connections|ran out of memory|
filled its disk|exhausted its connection pool|leaked file descriptors|spiked in latency|
fell behind on consumer lag|served stale data|rejected valid tokens|double charged customers|
lost messages|duplicated events|crash looped|deadlocked|stopped replicating|
split brain after failover|throttled every client|failed health checks|evicted hot keys|
corrupted an index|rolled back a migration|paged nobody|flapped between zones""".replace("\n", "").split("|")
CAUSES = """a configuration change|a bad deploy|an expired certificate|a schema migration|
a capacity shortfall|an upstream dependency outage|a hardware failure|a network partition|
a security patch|a noisy neighbour|a retry storm|a thundering herd|a clock skew|
a race condition|an unbounded query|a memory leak|a missing index|a dns ttl mistake|
a feature flag flip|a cron overlap|a quota limit|a kernel upgrade|a leap second|
an autoscaling misconfiguration|a load balancer health check change""".replace("\n", "").split("|")
TEAMS = ["Payments", "Platform", "Data", "Identity", "Mobile", "Web", "Infra", "Search", "Messaging", "Billing"]
FILLER = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "for",
    "on",
    "with",
    "after",
    "before",
    "during",
    "while",
    "because",
    "however",
    "then",
    "team",
    "engineers",
    "responders",
    "customers",
    "users",
    "traffic",
    "requests",
    "alerts",
    "dashboards",
    "runbook",
    "on-call",
    "pager",
    "escalation",
    "mitigation",
    "rollback",
    "restart",
    "failover",
    "throttle",
    "capacity",
    "headroom",
    "latency",
    "errors",
    "saturation",
    "regression",
    "investigation",
    "hypothesis",
    "evidence",
    "observed",
    "noticed",
    "confirmed",
    "quickly",
    "slowly",
    "eventually",
    "initially",
    "finally",
    "partially",
    "fully",
    "manually",
    "automatically",
    "region",
    "zone",
    "cluster",
    "node",
    "pod",
    "replica",
    "shard",
    "partition",
    "topic",
    "queue",
    "bucket",
    "table",
    "column",
    "percent",
    "minutes",
    "hours",
    "seconds",
    "peak",
    "baseline",
    "threshold",
    "budget",
    "objective",
    "window",
    "monitoring",
    "logging",
    "tracing",
    "paging",
    "review",
    "process",
    "checklist",
    "handover",
    "communication",
    "status",
    "page",
]
JARGON = [
    f"{prefix}{n}"
    for prefix in ("db", "node", "shard", "pod", "zone", "build", "ticket", "host", "run", "job")
    for n in range(1, 1001)
]
SPECIFIC = [
    "ulysses",
    "nimbus",
    "aurora",
    "zephyr",
    "helios",
    "atlas",
    "orion",
    "vega",
    "lyra",
    "draco",
    "phoenix",
    "hydra",
    "pegasus",
    "cygnus",
    "perseus",
    "andromeda",
    "cassiopeia",
    "centaurus",
    "gemini",
    "taurus",
    "aquila",
    "corvus",
    "lepus",
    "lupus",
]


class TextGen:
    """Postmortem-like text: each postmortem has a theme (its main component, symptom and
    cause) that recurs, other systems appear now and then, the rest is common vocabulary
    with a long tail of identifiers, so words range from very common to rare."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.filler_w = [1 / (i + 1) for i in range(len(FILLER))]  # Zipf-like
        self.theme = (COMPONENTS[0], SYMPTOMS[0], CAUSES[0])

    def new_theme(self) -> tuple[str, str, str]:
        rng = self.rng
        self.theme = (rng.choice(COMPONENTS), rng.choice(SYMPTOMS), rng.choice(CAUSES))
        return self.theme

    def words(self, n: int) -> str:
        rng = self.rng
        base = rng.choices(FILLER, weights=self.filler_w, k=n)
        for i in range(0, n, 6):
            if rng.random() < 0.4:
                base[i] = rng.choice(JARGON)
        return " ".join(base)

    def sentence(self) -> str:
        rng = self.rng
        comp, symptom, cause = self.theme
        if rng.random() < 0.2:
            comp, symptom = rng.choice(COMPONENTS), rng.choice(SYMPTOMS)
        templates = [
            lambda: f"The {comp} {symptom} after {cause} on {rng.choice(JARGON)}.",
            lambda: f"{self.words(12).capitalize()} while the {comp} {symptom}.",
            lambda: f"{cause.capitalize()} left the {comp} degraded; {self.words(10)}.",
            lambda: f"{self.words(16).capitalize()}.",
            lambda: f"{self.words(12).capitalize()}, and {rng.choice(SPECIFIC)} {self.words(4)}.",
        ]
        return rng.choices(templates, weights=[3, 3, 3, 6, 1])[0]()

    def paragraph(self, sentences: int) -> str:
        return " ".join(self.sentence() for _ in range(sentences))


# --- Seeding ------------------------------------------------------------------------------------


def seed(count: int, rng: random.Random) -> None:
    from django.contrib.auth import get_user_model

    from actions.models import ActionItem
    from incidents.models import CauseCategory, Incident, ReferenceSequence, Service, Severity, Team, TimelineEvent
    from postmortems.models import Postmortem

    gen = TextGen(rng)
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"bench{n}", email=f"bench{n}@example.com") for n in range(50)])
    teams = Team.objects.bulk_create([Team(name=name, slug=name.lower()) for name in TEAMS])
    for i, team in enumerate(teams):
        team.members.add(*users[i * 5 : i * 5 + 5])
    services = Service.objects.bulk_create(
        [Service(name=c, slug=c.replace(" ", "-"), team=rng.choice(teams)) for c in COMPONENTS]
    )
    severities = list(Severity.objects.all())
    causes = list(CauseCategory.objects.all())
    start = datetime(2019, 1, 1, tzinfo=UTC)
    batch = 2000
    for offset in range(0, count, batch):
        n = min(batch, count - offset)
        incidents, themes = [], []
        for k in range(n):
            number = offset + k + 1
            themes.append(gen.new_theme())
            at = start + timedelta(minutes=rng.randrange(0, 7 * 365 * 24 * 60))
            incidents.append(
                Incident(
                    reference=f"INC-B-{number:06d}",
                    title=f"{themes[-1][0].capitalize()} {themes[-1][1]}",
                    severity=rng.choice(severities),
                    cause_category=rng.choice(causes),
                    status="resolved",
                    started_at=at,
                    detected_at=at + timedelta(minutes=5),
                    acknowledged_at=at + timedelta(minutes=9),
                    declared_at=at + timedelta(minutes=10),
                    mitigated_at=at + timedelta(minutes=50),
                    resolved_at=at + timedelta(hours=3),
                )
            )
        incidents = Incident.objects.bulk_create(incidents)
        Incident.services.through.objects.bulk_create(
            [Incident.services.through(incident=i, service=rng.choice(services)) for i in incidents]
        )
        pms = []
        for incident, theme in zip(incidents, themes, strict=True):
            gen.theme = theme
            restricted = rng.random() < 0.1
            pms.append(
                Postmortem(
                    incident=incident,
                    status="published",
                    published_at=incident.resolved_at + timedelta(days=rng.randrange(1, 20)),
                    facilitator=rng.choice(users),
                    summary=gen.paragraph(3),
                    impact=gen.paragraph(6),
                    root_cause=gen.paragraph(13),
                    contributing_factors=gen.paragraph(10),
                    what_went_well=gen.paragraph(5),
                    what_could_be_improved=gen.paragraph(5),
                    where_we_got_lucky=gen.paragraph(3),
                    lessons=gen.paragraph(6),
                    visibility="restricted" if restricted else "organisation",
                    internal_sections=["root_cause"] if rng.random() < 0.2 else [],
                )
            )
        pms = Postmortem.objects.bulk_create(pms)
        Postmortem.teams.through.objects.bulk_create(
            [Postmortem.teams.through(postmortem=pm, team=rng.choice(teams)) for pm in pms]
        )
        events, items = [], []
        for pm in pms:
            for e in range(6):
                events.append(
                    TimelineEvent(
                        incident_id=pm.incident_id,
                        occurred_at=pm.incident.started_at + timedelta(minutes=10 * e),
                        kind=rng.choice(TimelineEvent.Kind.values),
                        text=gen.sentence(),
                    )
                )
            for _ in range(3):
                number = len(items) + offset * 3 + 1
                items.append(
                    ActionItem(
                        reference=f"AI-B-{number:07d}",
                        postmortem=pm,
                        title=f"{rng.choice(['Add', 'Fix', 'Alert on', 'Document', 'Load test'])} "
                        f"{rng.choice(COMPONENTS)} {rng.choice(['limits', 'timeouts', 'failover', 'runbook'])}",
                        owner=rng.choice(users),
                        status=rng.choice(["open", "done", "in_progress"]),
                        completed_at=pm.published_at,
                    )
                )
        TimelineEvent.objects.bulk_create(events)
        for item in items:
            if item.status != "done":
                item.completed_at = None
        ActionItem.objects.bulk_create(items)
        print(f"  seeded {offset + n}/{count}", end="\r", flush=True)
    ReferenceSequence.objects.all().delete()
    print()


def build_index() -> dict[str, float]:
    """The documents built the way the app builds them: ``rebuild_index``, which migration 0008
    and the ``rebuild_search_index`` command run (500 postmortems at a time: their documents
    from ``document_values``, then the chunk's vectors and word pairs in one UPDATE)."""
    from django.db import connection

    from postmortems.search_index import rebuild_index

    timings = {}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE postmortems_postmortemsearchdocument")
    indexed = rebuild_index()
    timings[f"rebuild_index, {indexed} postmortems (migration 0008's work)"] = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Each document was inserted then updated with its vectors: compact the table, as after
        # any bulk load (day to day, autovacuum reuses the space of edited documents).
        cursor.execute("VACUUM FULL ANALYZE postmortems_postmortemsearchdocument")
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does soon after any bulk load
    timings["vacuum full analyze"] = time.perf_counter() - started
    return timings


QUERIES = [
    "timeout", "payment gateway", '"payment gateway" timed out', "kafka consumer lag", "redis OR memcached",
    "postgres -replica", '"connection pool" exhausted', "expired certificate", "dns resolver ttl",
    "load balancer health check", "retry storm", '"thundering herd"', "memory leak checkout",
    "schema migration rolled back", "oauth token rejected", "split brain failover", "ulysses",
    "nimbus OR aurora", "db17", "shard42 partition", "node113", '"feature flag" flip', "cron overlap batch",
    "ingress controller 502", "tls terminator certificate", "double charged customers", "lost messages queue",
    "crash looped deploy", "rate limiter throttled", "search cluster corrupted index", "backup system",
    "vpn concentrator network partition", "clock skew", "leap second", "websocket gateway dropped connections",
    "graphql layer latency", "fraud scoring model", "inventory service stale data", "billing pipeline invoice",
    "tax service currency converter", "data warehouse etl job", "kernel upgrade hypervisor", "gpu cluster",
    "quota limit autoscaling", "-dns circuit breaker", "dead letter queue duplicated events",
    "secrets vault restart", '"status page" communication', "pager escalation runbook", "helios zone3 db4",
]  # fmt: skip


def pick_user():
    from django.contrib.auth import get_user_model

    # A member of one team, participant in a few postmortems: the usual reader.
    return get_user_model().objects.get(username="bench7")


def app_search(user, query: str):
    """What the archive page runs for the results: the count, the first page, its snippets."""
    from postmortems.search import PAGE_SIZE, attach_snippets, parse_query, search_postmortems

    parsed = parse_query(query)
    results = search_postmortems(user, parsed)
    total = results.count()
    page = list(results[:PAGE_SIZE])
    attach_snippets(page, parsed)
    return total, [pm.pk for pm in page]


def app_page(user, query: str):
    from django.http import QueryDict

    from postmortems.search import archive_page

    context = archive_page(user, QueryDict(f"q={query}"))
    return context["page"].paginator.count, [pm.pk for pm in context["page"].object_list]


RAW_SQL = """
WITH q AS (SELECT {tsquery} AS q, {public_tsquery} AS pq),
ins AS MATERIALIZED (  -- documents with internal text whose internal sections the user may read
    SELECT postmortem_id AS id FROM postmortems_postmortemsearchdocument
    WHERE has_internal AND postmortem_id IN (
        SELECT pt.postmortem_id FROM postmortems_postmortem_teams pt
          JOIN incidents_team_members tm ON tm.team_id = pt.team_id WHERE tm.user_id = %(uid)s
        UNION ALL SELECT id FROM postmortems_postmortem WHERE facilitator_id = %(uid)s
        UNION ALL SELECT postmortem_id FROM postmortems_postmortem_authors WHERE user_id = %(uid)s
        UNION ALL SELECT postmortem_id FROM postmortems_postmortem_reviewers WHERE user_id = %(uid)s)
),
full_ins AS MATERIALIZED (  -- of those, the ones matching on all their text
    SELECT d.postmortem_id AS id FROM postmortems_postmortemsearchdocument d, q
    WHERE d.has_internal AND (d.public_vector || d.internal_vector) @@ q.pq {full_pairs}
      AND d.postmortem_id IN (SELECT id FROM ins)
),
public_ins AS MATERIALIZED (  -- and the ones matching on their public text
    SELECT d.postmortem_id AS id FROM postmortems_postmortemsearchdocument d, q
    WHERE d.public_vector @@ q.pq {pairs} AND d.postmortem_id IN (SELECT id FROM ins)
),
matches AS (  -- every match the user may see: public matches, corrected for insiders' rows
    SELECT d.postmortem_id AS id, d.published_at, d.head_vector FROM postmortems_postmortemsearchdocument d, q
    WHERE d.public_vector @@ q.pq {pairs}
      AND d.postmortem_id NOT IN (SELECT id FROM public_ins EXCEPT SELECT id FROM full_ins)
      AND {visible}
    UNION ALL
    SELECT d.postmortem_id, d.published_at, d.head_vector FROM postmortems_postmortemsearchdocument d
    WHERE d.postmortem_id IN (SELECT id FROM full_ins EXCEPT SELECT id FROM public_ins) AND {visible}
),
total AS (SELECT count(*) AS n FROM (SELECT 1 FROM matches LIMIT 1001) capped),
head AS (  -- title and summary hold the whole query: best first
    SELECT d.postmortem_id AS id, row_number() OVER (
               ORDER BY ts_rank('{0.1,0.2,0.6,1.0}', d.head_vector, q.q) DESC, d.published_at DESC NULLS FIRST,
                        d.postmortem_id DESC) AS n
    FROM postmortems_postmortemsearchdocument d, q
    WHERE {head_matches}
    ORDER BY n LIMIT 200
),
rest AS (  -- then the others, newest first
    SELECT m.id, 200 + row_number() OVER (ORDER BY m.published_at DESC NULLS FIRST, m.id DESC) AS n
    FROM matches m, q
    WHERE NOT m.head_vector @@ q.q AND (SELECT count(*) FROM head) < 200
    ORDER BY n LIMIT 200
),
first AS (SELECT id FROM (SELECT * FROM head UNION ALL SELECT * FROM rest) w ORDER BY n LIMIT 200),
page AS (  -- the window re-ranked on all the text each row's reader may search
    SELECT d.postmortem_id AS id, d.published_at, d.postmortem_id IN (SELECT id FROM full_ins) AS full_access,
           CASE WHEN d.postmortem_id IN (SELECT id FROM full_ins)
                THEN ts_rank('{0.1,0.2,0.6,1.0}', d.public_vector || d.internal_vector, q.q)
                ELSE ts_rank('{0.1,0.2,0.6,1.0}', d.public_vector, q.q) END AS rank
    FROM postmortems_postmortemsearchdocument d, q
    WHERE d.postmortem_id IN (SELECT id FROM first)
    ORDER BY rank DESC, d.published_at DESC NULLS FIRST, d.postmortem_id DESC
    LIMIT 20
)
SELECT page.id, page.rank, (SELECT least(n, 1000) FROM total),
       ts_headline(%(config)s::regconfig,
                   CASE WHEN page.full_access THEN concat_ws(E'\\n', d.summary, d.body, d.extra, d.internal)
                        ELSE concat_ws(E'\\n', d.summary, d.body, d.extra) END,
                   q.q, 'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, MaxFragments=2')
FROM page JOIN postmortems_postmortemsearchdocument d ON d.postmortem_id = page.id, q
ORDER BY page.rank DESC, page.published_at DESC NULLS FIRST, page.id DESC
"""
VISIBLE_SQL = """(d.status = 'published' AND d.visibility = 'organisation'
           OR d.status = 'published' AND d.visibility = 'restricted' AND d.postmortem_id IN (
               SELECT pt.postmortem_id FROM postmortems_postmortem_teams pt
                 JOIN incidents_team_members tm ON tm.team_id = pt.team_id WHERE tm.user_id = %(uid)s)
           OR d.postmortem_id IN (
               SELECT id FROM postmortems_postmortem WHERE facilitator_id = %(uid)s
               UNION ALL SELECT postmortem_id FROM postmortems_postmortem_authors WHERE user_id = %(uid)s
               UNION ALL SELECT postmortem_id FROM postmortems_postmortem_reviewers WHERE user_id = %(uid)s))"""


def raw_search(user, query: str):
    """Hand-written SQL for the same page, in one statement: count, 20 ranked rows, their
    headlines. Planned without sequential scans, as the app's first pass is."""
    from django.conf import settings
    from django.db import connection

    from postmortems.search import parse_query
    from postmortems.search.postgres import _PostgresMatch, _through_indexes

    # The same tsqueries the app builds (for ranking, and for matching public text beside the
    # word pairs), rendered as SQL text with their parameters.
    match = _PostgresMatch(parse_query(query))
    named = {}
    sql = RAW_SQL.replace("{visible}", VISIBLE_SQL)
    for placeholder, tsquery in (("{tsquery}", match.query), ("{public_tsquery}", match.words_query)):
        compiled, values = _compile_tsquery(tsquery)
        for value in values:
            name = f"p{len(named)}"
            compiled = compiled.replace("%s", f"%({name})s", 1)
            named[name] = value
        sql = sql.replace(placeholder, compiled)
    # Without excluded words, a title and summary holding the query make a match (as in the app).
    head = "d.head_vector @@ q.q AND {visible}"
    if match.parsed.excluded:
        head = "d.postmortem_id IN (SELECT id FROM matches) AND d.head_vector @@ q.q"
    sql = sql.replace("{head_matches}", head).replace("{visible}", VISIBLE_SQL)
    sql = sql.replace("{pairs}", "AND d.pairs_vector @@ %(pairs)s::tsquery" if match.pairs else "")
    sql = sql.replace("{full_pairs}", "AND d.full_pairs_vector @@ %(pairs)s::tsquery" if match.pairs else "")
    params = {"uid": user.pk, "config": settings.SEARCH_CONFIG, "pairs": match.pairs}
    with _through_indexes(), connection.cursor() as cursor:
        cursor.execute(sql, {**params, **named})
        rows = cursor.fetchall()
    return (rows[0][2] if rows else 0), [row[0] for row in rows]


def _compile_tsquery(expression):
    from django.db import connection
    from django.db.models.sql import Query

    from postmortems.models import Postmortem

    query = Query(Postmortem)
    compiler = query.get_compiler(connection=connection)
    resolved = expression.resolve_expression(query)
    return compiler.compile(resolved)


def _load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def timed(func, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = func(*args)
    return (time.perf_counter() - started) * 1000, result


def measure_postgres(user) -> None:
    from django.db import connection

    def run(func) -> tuple[list[float], list]:
        """Each way of searching in a pass of its own, after a pass that warms the caches
        (PostgreSQL's shared buffers, 128 MB here, hold one way's working set, not three)."""
        for query in QUERIES:
            func(user, query)
        timings = [timed(func, user, query) for query in QUERIES]
        return [ms for ms, _ in timings], [result for _, result in timings]

    app_ms, app_results = run(app_search)
    page_ms, _ = run(app_page)
    raw_ms, raw_results = run(raw_search)
    mismatches = sum(a != r for a, r in zip(app_results, raw_results, strict=True))
    # The same queries with the three ways interleaved, competing for the buffers.
    mixed = {app_search: [], raw_search: []}
    for query in QUERIES:
        for func, values in mixed.items():
            values.append(timed(func, user, query)[0])
    print(f"\nPostgreSQL, {len(QUERIES)} queries as user {user.username} (one team, a few postmortems):")
    for label, values in (
        ("app search (count + page + snippets)", app_ms),
        ("whole archive page selector", page_ms),
        ("hand-written SQL, same page", raw_ms),
    ):
        print(f"  {label:<38} p50 {percentile(values, 50):6.1f} ms, p95 {percentile(values, 95):6.1f} ms")
    ratios = [a / r for a, r in zip(app_ms, raw_ms, strict=True)]
    total_ratio = sum(app_ms) / sum(raw_ms)
    print(f"  app / raw: total {total_ratio:.2f}x, median per query {statistics.median(ratios):.2f}x")
    print(f"  pages identical to the raw SQL's: {len(QUERIES) - mismatches}/{len(QUERIES)}")
    slowest = sorted(zip(app_ms, QUERIES, strict=True), reverse=True)[:3]
    print("  slowest: " + ", ".join(f"{q!r} {ms:.0f} ms" for ms, q in slowest))
    app_mixed, raw_mixed = mixed.values()
    print(
        f"  interleaved (app, raw, app, raw ...): app p50 {percentile(app_mixed, 50):.1f} ms, "
        f"p95 {percentile(app_mixed, 95):.1f} ms; raw p50 {percentile(raw_mixed, 50):.1f} ms, "
        f"p95 {percentile(raw_mixed, 95):.1f} ms"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('postmortems_postmortemsearchdocument'))")
        print(f"  search documents + vectors + GIN indexes: {cursor.fetchone()[0]}")


def measure_sqlite(count: int) -> None:
    """The same documents in an FTS5 table (the app's schema), queried with the app's FTS5
    expressions, ranked by bm25 with its weights, 20 rows with snippets plus the count."""
    from django.db import connection

    from postmortems.search import FTS_WEIGHTS, fts_expression, parse_query

    with tempfile.TemporaryDirectory() as tmp:
        lite = sqlite3.connect(Path(tmp) / "bench.sqlite3")
        lite.execute(
            "CREATE VIRTUAL TABLE postmortems_search_fts USING fts5(title, summary, body, extra, internal, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT postmortem_id, title, summary, body, extra, internal FROM postmortems_postmortemsearchdocument"
            )
            while rows := cursor.fetchmany(5000):
                lite.executemany(
                    "INSERT INTO postmortems_search_fts (rowid, title, summary, body, extra, internal) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
        lite.commit()
        build = time.perf_counter() - started
        sql = (
            f"SELECT rowid, -bm25(postmortems_search_fts, {FTS_WEIGHTS}) AS rank, "
            "snippet(postmortems_search_fts, -1, '<mark>', '</mark>', ' … ', 24) "
            "FROM postmortems_search_fts WHERE postmortems_search_fts MATCH ? ORDER BY rank DESC, rowid DESC LIMIT 20"
        )
        count_sql = "SELECT count(*) FROM postmortems_search_fts WHERE postmortems_search_fts MATCH ?"
        timings = []
        for round_ in range(2):
            for query in QUERIES:
                expression = fts_expression(parse_query(query), public_only=True)
                started = time.perf_counter()
                lite.execute(count_sql, [expression]).fetchone()
                lite.execute(sql, [expression]).fetchall()
                if round_:
                    timings.append((time.perf_counter() - started) * 1000)
        print(f"\nSQLite FTS5, same {count} documents (public columns, as an outsider's search):")
        print(f"  index build (insert {count} rows into FTS5): {build:.1f} s")
        print(f"  count + page + snippets: p50 {percentile(timings, 50):.1f} ms, p95 {percentile(timings, 95):.1f} ms")
        lite.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--database", default=DB_NAME, help=f"The bench database's name (default {DB_NAME}).")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Reuse a kept, seeded database (and keep it).")
    parser.add_argument("--no-build", action="store_true", help="With --reuse: keep its index too, only measure.")
    parser.add_argument("--postgres-only", action="store_true", help="Skip the SQLite FTS5 comparison.")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = f"{SERVER}/postgres"
    _, drop = prepare_database(args.database, keep=args.reuse)
    try:
        setup_django()
        from django.core.management import call_command

        print(f"Archive search benchmark: {args.count} postmortems, {os.cpu_count()} CPUs")
        if not args.reuse:
            call_command("migrate", verbosity=0)
            started = time.perf_counter()
            seed(args.count, random.Random(SEED))
            print(f"  seeding: {time.perf_counter() - started:.1f} s")
        if not (args.reuse and args.no_build):
            started = time.perf_counter()
            timings = build_index()
            print(f"Index build from scratch: {time.perf_counter() - started:.1f} s")
            for step, seconds in timings.items():
                print(f"  {step}: {seconds:.1f} s")
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT avg(length(summary) + length(impact) + length(root_cause) + length(contributing_factors)"
                " + length(what_went_well) + length(what_could_be_improved) + length(where_we_got_lucky)"
                " + length(lessons)) FROM postmortems_postmortem"
            )
            print(f"  average postmortem text: {cursor.fetchone()[0] / 1024:.1f} KB (plus timeline and action items)")
        # As config/wsgi.py does once a served process has loaded the app: the seeding's
        # leftovers and the framework leave the garbage collector's full passes.
        gc.collect()
        gc.freeze()
        print(f"Load average before measuring: {_load()} on {os.cpu_count()} CPUs")
        measure_postgres(pick_user())
        print(f"Load average after PostgreSQL: {_load()}")
        if not args.postgres_only:
            measure_sqlite(args.count)
    finally:
        from django.db import connections

        connections.close_all()
        if not (args.keep or args.reuse):  # a reused database is measured again, never dropped
            drop()


if __name__ == "__main__":
    main()
