"""Selectors behind the metrics page and ``/api/v1/metrics/``: every figure is computed in the database.

Conventions every figure follows (and the page shows beside it):

- An incident belongs to the period (month or quarter) and date range of its **declared time**, in the
  site's time zone (``TIME_ZONE``): declared time is the one timestamp every incident has.
- A duration is left out when either of its timestamps is missing; how many were left out is reported
  with it, never counted as zero.
- Median and p90 are continuous percentiles (linear interpolation, like PostgreSQL's
  ``percentile_cont``). PostgreSQL computes them with ``percentile_cont``; SQLite, which has no such
  aggregate, ranks each group's values with window functions and interpolates between the two ranks
  around the percentile, in the same single query.
- Restricted incidents count in every aggregate; no incident's title or text is part of these figures.

The number of queries is fixed: one per table, whatever the number of incidents.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import (
    Avg,
    Count,
    DateField,
    Exists,
    F,
    FloatField,
    Func,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import TruncMonth, TruncQuarter
from django.utils import timezone

from actions.models import ActionItem
from actions.querysets import OPEN_STATUSES

from .models import CauseCategory, Incident, RepeatLink, Service, Severity, Team


@dataclass(frozen=True)
class DurationMetric:
    key: str
    label: str
    start: str
    end: str
    definition: str
    missing: str


DURATION_METRICS = [
    DurationMetric(
        "ttd",
        "Time to detect",
        "started_at",
        "detected_at",
        "Detected time − started time (impact began).",
        "missing started or detected time",
    ),
    DurationMetric(
        "tta",
        "Time to acknowledge",
        "detected_at",
        "acknowledged_at",
        "Acknowledged time − detected time.",
        "missing detected or acknowledged time",
    ),
    DurationMetric(
        "ttm",
        "Time to mitigate",
        "detected_at",
        "mitigated_at",
        "Mitigated time (user impact stopped) − detected time.",
        "missing detected or mitigated time",
    ),
    DurationMetric(
        "ttr",
        "Time to resolve",
        "detected_at",
        "resolved_at",
        "Resolved time − detected time.",
        "missing detected or resolved time (e.g. not resolved yet)",
    ),
]
METRIC_KEYS = [m.key for m in DURATION_METRICS]
PERCENTILES = {"median": 0.5, "p90": 0.9}
PERIODS = {"month": TruncMonth, "quarter": TruncQuarter}

DEFINITIONS = {
    "period": "Incidents are counted in the month or quarter of their declared time, in the {tz} time zone.",
    "stats": "Mean: average. Median and p90: the values half and 90% of incidents are at or below "
    "(continuous percentiles, interpolated between the two nearest incidents).",
    "repeat_rate": "Incidents with at least one confirmed repeat link to an earlier incident ÷ incidents. "
    "Suggested and dismissed links do not count.",
    "postmortems": "Required: resolved incidents whose severity requires a postmortem. Published: their "
    "postmortem is published. On time: published on or before its due date (in the {tz} time zone). "
    "Both rates are ÷ required.",
    "action_items": "Action items of the postmortems of these incidents. Completion: done ÷ all items (won't-do "
    "counts as not completed). On time: done on or before the due date ÷ done items that had a due date. "
    "Overdue: open, in progress or blocked past the due date; age in days past the due date as of {today}.",
    "counts": "Incidents declared in each period.",
}


# --- Database expressions -------------------------------------------------------------------------


class Seconds(Func):
    """``end − start`` in seconds as a float; NULL when either is NULL."""

    output_field = FloatField()

    def __init__(self, start: str, end: str):
        super().__init__(F(end), F(start))

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision)",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() differences carry tens of microseconds of float noise: round to milliseconds.
        return super().as_sql(
            compiler,
            connection,
            template="ROUND((julianday(%(expressions)s)) * 86400.0, 3)",
            arg_joiner=") - julianday(",
            **extra,
        )


class DaysBetween(Func):
    """Whole days from ``start`` (a date column) to ``end`` (a date value)."""

    output_field = FloatField()

    def __init__(self, start, end):
        super().__init__(end, start)

    def as_postgresql(self, compiler, connection, **extra):
        # date − date is a whole number of days in PostgreSQL.
        return self.as_sql(compiler, connection, template="CAST((%(expressions)s) AS double precision)", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler, connection, template="(julianday(%(expressions)s))", arg_joiner=") - julianday(", **extra
        )

    def as_sql(self, compiler, connection, **extra):
        extra.setdefault("arg_joiner", " - ")
        return super().as_sql(compiler, connection, **extra)


# --- Results ---------------------------------------------------------------------------------------


@dataclass
class Stat:
    """One duration figure for one group: seconds, and how many incidents it covers or left out."""

    n: int = 0
    excluded: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None

    def as_dict(self) -> dict:
        return {
            "n": self.n,
            "excluded": self.excluded,
            "mean_seconds": _round(self.mean),
            "median_seconds": _round(self.median),
            "p90_seconds": _round(self.p90),
        }


@dataclass
class DurationRow:
    key: object
    label: str
    total: int
    stats: dict[str, Stat]


@dataclass
class Filters:
    """What the metrics cover. Dates are inclusive, in the site's time zone."""

    start: date | None = None
    end: date | None = None
    team: Team | None = None
    service: Service | None = None
    severity: Severity | None = None
    period: str = "month"

    def as_dict(self) -> dict:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "team": self.team.slug if self.team else None,
            "service": self.service.slug if self.service else None,
            "severity": self.severity.name if self.severity else None,
            "period": self.period,
        }


@dataclass
class Metrics:
    filters: Filters
    today: date
    time_zone: str
    periods: list[date]
    overall: DurationRow
    by_severity: list[DurationRow]
    by_service: list[DurationRow]
    by_cause: list[DurationRow]
    by_period: list[DurationRow]
    counts_by_severity: dict[date, dict[str, int]]
    counts_by_cause: dict[date, dict[str, int]]
    severity_names: list[str]
    cause_names: list[str]
    repeats: dict
    repeats_by_period: list[dict]
    postmortems: dict
    action_items: dict
    definitions: dict = field(default_factory=dict)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- Filtering ---------------------------------------------------------------------------------------


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def filtered_incidents(filters: Filters) -> QuerySet:
    """The incidents the metrics cover: all of them (restricted ones too), narrowed by the filters."""
    qs = Incident.objects.order_by()
    if filters.start:
        qs = qs.filter(declared_at__gte=_local_midnight(filters.start))
    if filters.end:
        qs = qs.filter(declared_at__lt=_local_midnight(filters.end + timedelta(days=1)))
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    # Services and teams through subqueries, so an incident with two services is never counted twice.
    if filters.service:
        qs = qs.filter(pk__in=Incident.services.through.objects.filter(service=filters.service).values("incident_id"))
    if filters.team:
        qs = qs.filter(
            pk__in=Incident.services.through.objects.filter(service__team=filters.team).values("incident_id")
        )
    return qs


def _period_expr(period: str):
    return PERIODS[period]("declared_at", output_field=DateField())


def _as_date(value) -> date | None:
    """A truncated period as a date, whichever way the backend returned it."""
    if value is None or type(value) is date:
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


# --- Durations ---------------------------------------------------------------------------------------


def _duration_values(qs: QuerySet, group) -> QuerySet:
    return qs.annotate(k=group, **{m.key: Seconds(m.start, m.end) for m in DURATION_METRICS}).values("k", *METRIC_KEYS)


def _fetch(sql: str, params) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [col[0] for col in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _duration_groups_postgresql(qs: QuerySet, group) -> list[dict]:
    # Durations are computed once per row in the inner query, then aggregated; one sort per
    # duration gives both percentiles.
    inner, params = _duration_values(qs, group).query.sql_with_params()
    fractions = ", ".join(repr(f) for f in PERCENTILES.values())
    figures = ", ".join(
        f"COUNT({m}) AS {m}_n, AVG({m}) AS {m}_mean, "
        f"percentile_cont(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY {m}) AS {m}_percentiles"
        for m in METRIC_KEYS
    )
    rows = _fetch(f"SELECT k, COUNT(*) AS total, {figures} FROM ({inner}) AS base GROUP BY k", params)
    for row in rows:
        for m in METRIC_KEYS:
            values = row.pop(f"{m}_percentiles") or [None] * len(PERCENTILES)
            row.update(zip((f"{m}_{name}" for name in PERCENTILES), values, strict=True))
    return rows


def _sqlite_percentile(column: str, fraction: float) -> str:
    """Linear interpolation between the ranks around ``fraction`` (0-based rank ``fraction * (n − 1)``)."""
    pos = f"({fraction!r} * ({column}_n - 1))"
    low = f"CAST({pos} AS INTEGER)"
    return (
        f"SUM(CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN {column}_rank = {low} THEN {column} * (1 - ({pos} - {low})) "
        f"WHEN {column}_rank = {low} + 1 THEN {column} * ({pos} - {low}) "
        f"ELSE 0 END) AS {column}_{'median' if fraction == 0.5 else 'p90'}"
    )


def _duration_groups_sqlite(qs: QuerySet, group) -> list[dict]:
    inner, params = _duration_values(qs, group).query.sql_with_params()
    ranks = ", ".join(
        # NULLs rank in a partition of their own, so the non-NULL ranks start at 0.
        f"ROW_NUMBER() OVER (PARTITION BY k, {m} IS NULL ORDER BY {m}) - 1 AS {m}_rank, "
        f"COUNT({m}) OVER (PARTITION BY k) AS {m}_n"
        for m in METRIC_KEYS
    )
    figures = ", ".join(
        f"COUNT({m}) AS {m}_n, AVG({m}) AS {m}_mean, "
        + ", ".join(_sqlite_percentile(m, fraction) for fraction in PERCENTILES.values())
        for m in METRIC_KEYS
    )
    sql = (
        f"WITH base AS ({inner}), ranked AS (SELECT base.*, {ranks} FROM base) "
        f"SELECT k, COUNT(*) AS total, {figures} FROM ranked GROUP BY k"
    )
    return _fetch(sql, params)


def duration_groups(qs: QuerySet, group) -> dict[object, tuple[int, dict[str, Stat]]]:
    """Mean, median and p90 of each duration per value of ``group``, in one query."""
    if connection.vendor == "postgresql":
        rows = _duration_groups_postgresql(qs, group)
    else:
        rows = _duration_groups_sqlite(qs, group)
    result = {}
    for row in rows:
        total = row["total"]
        stats = {
            m: Stat(
                n=row[f"{m}_n"],
                excluded=total - row[f"{m}_n"],
                mean=row[f"{m}_mean"],
                median=row[f"{m}_median"],
                p90=row[f"{m}_p90"],
            )
            for m in METRIC_KEYS
        }
        result[row["k"]] = (total, stats)
    return result


def _rows(groups: dict, labels: dict) -> list[DurationRow]:
    """Groups in the order of ``labels`` (a dict from key to label), then any unlabelled ones."""
    rows = [DurationRow(key, label, *groups[key]) for key, label in labels.items() if key in groups]
    if None in groups and None not in labels:
        rows.append(DurationRow(None, "(none)", *groups[None]))
    return rows


def _empty_row(label: str) -> DurationRow:
    return DurationRow(None, label, 0, {m: Stat() for m in METRIC_KEYS})


# --- Counts, repeats, postmortems, action items ----------------------------------------------------------


def _counts_per_period(qs: QuerySet, period: str, column: str, labels: dict) -> dict[date, dict[str, int]]:
    rows = qs.annotate(p=_period_expr(period)).values("p", column).annotate(n=Count("pk"))
    table: dict[date, dict[str, int]] = defaultdict(dict)
    for row in rows:
        table[_as_date(row["p"])][labels.get(row[column], "(none)")] = row["n"]
    return table


def _repeats_per_period(qs: QuerySet, period: str) -> list[dict]:
    confirmed = RepeatLink.objects.filter(incident=OuterRef("pk"), state=RepeatLink.State.CONFIRMED)
    rows = (
        qs.annotate(p=_period_expr(period))
        .values("p")
        .annotate(incidents=Count("pk"), repeats=Count("pk", filter=Q(Exists(confirmed))))
    )
    result = [{"period": _as_date(r["p"]), "incidents": r["incidents"], "repeats": r["repeats"]} for r in rows]
    for row in result:
        row["rate"] = _ratio(row["repeats"], row["incidents"])
    return sorted(result, key=lambda r: r["period"])


def postmortem_completion(qs: QuerySet, today: date) -> dict:
    """Required postmortems: how many are published, and published by their due date."""
    published = Q(postmortem__status="published")
    figures = qs.filter(severity__requires_postmortem=True, resolved_at__isnull=False).aggregate(
        required=Count("pk"),
        published=Count("pk", filter=published),
        on_time=Count("pk", filter=published & Q(postmortem__published_at__date__lte=F("postmortem__due_date"))),
        not_started=Count("pk", filter=Q(postmortem__isnull=True)),
        past_due=Count("pk", filter=~published & Q(postmortem__due_date__lt=today)),
    )
    figures["published_rate"] = _ratio(figures["published"], figures["required"])
    figures["on_time_rate"] = _ratio(figures["on_time"], figures["required"])
    return figures


def action_item_figures(qs: QuerySet, today: date) -> dict:
    """Completion, on-time completion and overdue items (count and age) of these incidents' action items."""
    items = ActionItem.objects.filter(postmortem__incident__in=qs.values("pk"))
    done = Q(status=ActionItem.Status.DONE)
    overdue = Q(status__in=OPEN_STATUSES, due_date__lt=today)
    days_overdue = DaysBetween(F("due_date"), Value(today, output_field=DateField()))
    figures = items.aggregate(
        total=Count("pk"),
        done=Count("pk", filter=done),
        wont_do=Count("pk", filter=Q(status=ActionItem.Status.WONT_DO)),
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        done_with_due_date=Count("pk", filter=done & Q(due_date__isnull=False)),
        done_on_time=Count("pk", filter=done & Q(completed_at__date__lte=F("due_date"))),
        overdue=Count("pk", filter=overdue),
        overdue_mean_days=Avg(days_overdue, filter=overdue),
        overdue_max_days=Max(days_overdue, filter=overdue),
    )
    figures["completion_rate"] = _ratio(figures["done"], figures["total"])
    figures["on_time_rate"] = _ratio(figures["done_on_time"], figures["done_with_due_date"])
    figures["overdue_mean_days"] = _round(figures["overdue_mean_days"])
    figures["overdue_max_days"] = None if figures["overdue_max_days"] is None else int(figures["overdue_max_days"])
    return figures


# --- The selector ---------------------------------------------------------------------------------------


def _definitions(today: date) -> dict:
    tz = timezone.get_current_timezone_name()
    defs = {key: text.format(tz=tz, today=today.isoformat()) for key, text in DEFINITIONS.items()}
    defs.update({m.key: m.definition for m in DURATION_METRICS})
    return defs


def incident_metrics(filters: Filters, *, today: date | None = None) -> Metrics:
    """Every figure of the metrics page for ``filters``, in a fixed number of queries.

    Queries: on PostgreSQL one to raise work_mem; severities, services and cause categories (labels);
    durations overall, by period, severity, service and cause; counts by severity and by cause per
    period; repeats per period; postmortem completion; action items.
    """
    today = today or timezone.localdate()
    if connection.vendor != "postgresql":
        return _incident_metrics(filters, today)
    with transaction.atomic():
        # Each percentile sorts its group's durations: let 100,000 of them sort in memory, not on
        # disk (the default work_mem of 4 MB spills). SET LOCAL ends with this transaction.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
        return _incident_metrics(filters, today)


def _incident_metrics(filters: Filters, today: date) -> Metrics:
    qs = filtered_incidents(filters)
    severities = {s.pk: s.name for s in Severity.objects.order_by("level")}
    services = {s.pk: s.name for s in Service.objects.order_by("name")}
    causes = {c.pk: c.name for c in CauseCategory.objects.order_by("name")}
    period = _period_expr(filters.period)

    overall = duration_groups(qs, Value(1))
    by_period = duration_groups(qs, period)
    period_keys = sorted(_as_date(key) for key in by_period)
    repeats_by_period = _repeats_per_period(qs, filters.period)
    total = sum(r["incidents"] for r in repeats_by_period)
    repeats = sum(r["repeats"] for r in repeats_by_period)
    return Metrics(
        filters=filters,
        today=today,
        time_zone=timezone.get_current_timezone_name(),
        periods=period_keys,
        overall=DurationRow("all", "All incidents", *next(iter(overall.values())))
        if overall
        else _empty_row("All incidents"),
        by_severity=_rows(duration_groups(qs, F("severity_id")), severities),
        by_service=_rows(duration_groups(qs, F("services")), services),
        by_cause=_rows(duration_groups(qs, F("cause_category_id")), causes),
        by_period=[
            DurationRow(_as_date(key), period_label(_as_date(key), filters.period), *value)
            for key, value in sorted(by_period.items(), key=lambda kv: _as_date(kv[0]))
        ],
        counts_by_severity=_counts_per_period(qs, filters.period, "severity_id", severities),
        counts_by_cause=_counts_per_period(qs, filters.period, "cause_category_id", causes),
        severity_names=list(severities.values()),
        cause_names=list(causes.values()) + ["(none)"],
        repeats={"incidents": total, "confirmed_repeats": repeats, "rate": _ratio(repeats, total)},
        repeats_by_period=repeats_by_period,
        postmortems=postmortem_completion(qs, today),
        action_items=action_item_figures(qs, today),
        definitions=_definitions(today),
    )


def period_label(day: date, period: str) -> str:
    """``2026-03`` for a month, ``2026-Q1`` for a quarter."""
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day:%Y-%m}"
