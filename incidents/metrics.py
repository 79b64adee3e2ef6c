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
  A figure that counts fewer than ``SUPPRESS_BELOW`` incidents (or action items), some of them hidden
  from the reader, is ``SUPPRESSED`` (shown "<3"), with any mean, percentile or rate built on it:
  filtered down to one team and one day, it would confirm a restricted incident and give its timing.

The number of queries is fixed, whatever the number of incidents: one for the durations of every
grouping, one for the counts per period, one each for postmortems and action items (see
``incident_metrics``).
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
    Window,
)
from django.db.models.functions import RowNumber, TruncMonth, TruncQuarter
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
    "suppressed": "“<3”: fewer than 3 incidents (or action items), some of them restricted to teams you are "
    "not in; the figure, and any time or rate built on it, is left out so it cannot reveal them. Totals "
    "around it still count every incident.",
}

SUPPRESS_BELOW = 3
# The team page lists this many postmortems waiting per state (most overdue first) and counts the rest.
WAITING_LIMIT = 20


class Suppressed:
    """A figure left out for the reader (see ``SUPPRESS_BELOW``); false, and "<3" as text."""

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return f"<{SUPPRESS_BELOW}"

    __repr__ = __str__


SUPPRESSED = Suppressed()


# --- Database expressions -------------------------------------------------------------------------


class Seconds(Func):
    """``end − start`` in seconds as a float; NULL when either is NULL."""

    output_field = FloatField()

    def __init__(self, start: str, end: str):
        super().__init__(F(end), F(start))

    def as_postgresql(self, compiler, connection, **extra):
        # date_part() gives a float directly; EXTRACT() gives a numeric, slow to make and to cast.
        return super().as_sql(
            compiler, connection, template="date_part('epoch', %(expressions)s)", arg_joiner=" - ", **extra
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
    total: int | Suppressed
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
    # The same figures per period (by the first day of each), for the tiles' trends.
    postmortems_by_period: dict[date, dict] = field(default_factory=dict)
    action_items_by_period: dict[date, dict] = field(default_factory=dict)
    definitions: dict = field(default_factory=dict)
    # Incidents per period (a cell like any other), and whether any figure was suppressed.
    period_totals: dict[date, int | Suppressed] = field(default_factory=dict)
    suppressed: bool = False
    severity_levels: dict[str, int] = field(default_factory=dict)  # for the badges' colours


def _round(value, digits: int = 1):
    return value if value is None or value is SUPPRESSED else round(float(value), digits)


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


class _SqlitePeriodStart(Func):
    """The first day of the UTC month or quarter of ``declared_at``, with SQLite's own date functions.

    Django's ``TruncMonth`` on SQLite calls a function registered in Python for every row; this stays
    in SQL. It is only right where local time is UTC, so ``_period_expr`` uses it only there.
    """

    output_field = DateField()

    def __init__(self, period: str, declared_at: str = "declared_at"):
        self.period = period
        super().__init__(F(declared_at))

    def as_sqlite(self, compiler, connection, **extra):
        if self.period == "month":
            template = "date(%(expressions)s, 'start of month')"
        else:
            # The start of the year plus 0, 3, 6 or 9 months; the month is characters 6-7 of the
            # stored 'YYYY-MM-DD HH:MM:SS'. (No strftime: a literal % would need escaping twice.)
            template = (
                "date(%(expressions)s, 'start of year', "
                "'+' || ((CAST(substr(%(expressions)s, 6, 2) AS INTEGER) - 1) / 3 * 3) || ' months')"
            )
        return super().as_sql(compiler, connection, template=template, **extra)


UTC_NAMES = {"UTC", "Etc/UTC", "GMT", "Etc/GMT"}


def _period_expr(period: str, declared_at: str = "declared_at"):
    """The first day of the declared time's period, in the site's time zone (``declared_at``: the
    incident's declared time as seen from the rows queried)."""
    if connection.vendor == "sqlite" and timezone.get_current_timezone_name() in UTC_NAMES:
        return _SqlitePeriodStart(period, declared_at)
    return PERIODS[period](declared_at, output_field=DateField())


def _as_date(value) -> date | None:
    """A truncated period as a date, whichever way the backend returned it."""
    if value is None or type(value) is date:
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


# --- Durations ---------------------------------------------------------------------------------------

# Each grouping of the duration tables, and the column of ``_base_sql`` that holds its key.
GROUP_KEYS = {
    "overall": None,
    "period": "period",
    "severity": "severity_id",
    "cause": "cause_category_id",
    "service": "service_id",
}
Groups = dict[object, tuple[int, dict[str, Stat]]]


def _base_sql(qs: QuerySet, period: str) -> tuple[str, tuple]:
    """One row per incident: id, period, severity, cause category and the four durations in seconds."""
    durations = {m.key: Seconds(m.start, m.end) for m in DURATION_METRICS}
    rows = qs.annotate(period=_period_expr(period), **durations)
    return rows.values("id", "period", "severity_id", "cause_category_id", *METRIC_KEYS).query.sql_with_params()


def _services_table() -> str:
    return connection.ops.quote_name(Incident.services.through._meta.db_table)


def _fetch(sql: str, params) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [col[0] for col in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _duration_groups_postgresql(base: str, params, overall_only: bool = False) -> list[dict]:
    """All groupings in one statement: GROUPING SETS over the incidents, plus services over their links.

    The durations are computed once per incident (the materialised ``base``); each
    ``percentile_cont`` sorts its group's values once and reads both percentiles from that sort.
    """
    fractions = ", ".join(repr(f) for f in PERCENTILES.values())
    figures = "COUNT(*) AS total, " + ", ".join(
        f"COUNT({m}) AS {m}_n, AVG({m}) AS {m}_mean, "
        f"percentile_cont(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY {m}) AS {m}_percentiles"
        for m in METRIC_KEYS
    )
    # GROUPING() sets one bit per column the row is not grouped by: period 4, severity 2, cause 1.
    sql = (
        f"""WITH base AS MATERIALIZED ({base})
        SELECT 'overall' AS grouping, NULL::date AS period, NULL::bigint AS severity_id,
               NULL::bigint AS cause_category_id, NULL::bigint AS service_id, {figures}
        FROM base"""
        if overall_only
        else f"""
        WITH base AS MATERIALIZED ({base})
        SELECT CASE GROUPING(period, severity_id, cause_category_id)
                   WHEN 7 THEN 'overall' WHEN 3 THEN 'period' WHEN 5 THEN 'severity' ELSE 'cause'
               END AS grouping,
               period, severity_id, cause_category_id, NULL::bigint AS service_id, {figures}
        FROM base
        GROUP BY GROUPING SETS ((), (period), (severity_id), (cause_category_id))
        UNION ALL
        SELECT 'service', NULL::date, NULL::bigint, NULL::bigint, links.service_id, {figures}
        FROM base LEFT JOIN {_services_table()} AS links ON links.incident_id = base.id
        GROUP BY links.service_id
    """
    )
    rows = _fetch(sql, params)
    for row in rows:
        for m in METRIC_KEYS:
            values = row.pop(f"{m}_percentiles") or [None] * len(PERCENTILES)
            row.update(zip((f"{m}_{name}" for name in PERCENTILES), values, strict=True))
    return rows


def _sqlite_percentile(column: str, name: str, fraction: float) -> str:
    """Linear interpolation between the ranks around ``fraction`` (0-based rank ``fraction * (n − 1)``)."""
    pos = f"({fraction!r} * ({column}_n - 1))"
    low = f"CAST({pos} AS INTEGER)"
    return (
        f"SUM(CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN {column}_rank = {low} THEN {column} * (1 - ({pos} - {low})) "
        f"WHEN {column}_rank = {low} + 1 THEN {column} * ({pos} - {low}) "
        f"ELSE 0 END) AS {column}_{name}"
    )


def _duration_groups_sqlite(base: str, params, overall_only: bool = False) -> list[dict]:
    """All groupings in one statement: each incident once per grouping (once per service), ranked by
    window functions, as SQLite has no percentile aggregate."""
    metrics = ", ".join(METRIC_KEYS)
    keyed = " UNION ALL ".join(
        f"SELECT '{name}' AS grouping, {column or 'NULL'} AS key, {metrics} FROM base"
        for name, column in GROUP_KEYS.items()
        if name != "service" and (name == "overall" or not overall_only)
    )
    services = (
        ""
        if overall_only
        else f"""UNION ALL
            SELECT 'service', links.service_id, {metrics}
            FROM base LEFT JOIN {_services_table()} AS links ON links.incident_id = base.id"""
    )
    ranks = ", ".join(
        # NULLs rank in a partition of their own, so the non-NULL ranks start at 0.
        f"ROW_NUMBER() OVER (PARTITION BY grouping, key, {m} IS NULL ORDER BY {m}) - 1 AS {m}_rank, "
        f"COUNT({m}) OVER (PARTITION BY grouping, key) AS {m}_n"
        for m in METRIC_KEYS
    )
    figures = ", ".join(
        f"COUNT({m}) AS {m}_n, AVG({m}) AS {m}_mean, "
        + ", ".join(_sqlite_percentile(m, name, fraction) for name, fraction in PERCENTILES.items())
        for m in METRIC_KEYS
    )
    sql = f"""
        WITH base AS MATERIALIZED ({base}),
        keyed AS (
            {keyed}
            {services}
        ),
        ranked AS (SELECT keyed.*, {ranks} FROM keyed)
        SELECT grouping, key, COUNT(*) AS total, {figures} FROM ranked GROUP BY grouping, key
    """
    rows = _fetch(sql, params)
    for row in rows:
        column = GROUP_KEYS[row["grouping"]]
        if column:
            row[column] = row["key"]
    return rows


def duration_groups(qs: QuerySet, period: str, overall_only: bool = False) -> dict[str, Groups]:
    """Mean, median and p90 of each duration for every grouping (see ``GROUP_KEYS``), or with
    ``overall_only`` for all incidents together only (a fifth of the work), in one query."""
    base, params = _base_sql(qs, period)
    if connection.vendor == "postgresql":
        rows = _duration_groups_postgresql(base, params, overall_only)
    else:
        rows = _duration_groups_sqlite(base, params, overall_only)
    result: dict[str, Groups] = {name: {} for name in GROUP_KEYS}
    for row in rows:
        column = GROUP_KEYS[row["grouping"]]
        result[row["grouping"]][row[column] if column else None] = (row["total"], _stats(row))
    return result


def _stats(row: dict) -> dict[str, Stat]:
    return {
        m: Stat(
            n=row[f"{m}_n"],
            excluded=row["total"] - row[f"{m}_n"],
            mean=row[f"{m}_mean"],
            median=row[f"{m}_median"],
            p90=row[f"{m}_p90"],
        )
        for m in METRIC_KEYS
    }


def _rows(groups: dict, labels: dict) -> list[DurationRow]:
    """Groups in the order of ``labels`` (a dict from key to label), then any unlabelled ones."""
    rows = [DurationRow(key, label, *groups[key]) for key, label in labels.items() if key in groups]
    if None in groups and None not in labels:
        rows.append(DurationRow(None, "(none)", *groups[None]))
    return rows


def _empty_row(label: str) -> DurationRow:
    return DurationRow(None, label, 0, {m: Stat() for m in METRIC_KEYS})


# --- Counts, repeats, postmortems, action items ----------------------------------------------------------


@dataclass
class PeriodCounts:
    """Incidents per period: by severity, by cause category, and how many are confirmed repeats;
    ``hidden`` holds the same counts of the incidents hidden from the reader."""

    by_severity: dict[date, dict[str, int]]
    by_cause: dict[date, dict[str, int]]
    repeats: list[dict]
    hidden: PeriodCounts | None = None


def period_counts(qs: QuerySet, period: str, severities: dict, causes: dict, visible=None) -> PeriodCounts:
    """Counts per period from one query grouped by period, severity and cause (a few hundred rows at
    most), added up here into the three tables. With ``visible`` (a subquery of the incident ids the
    reader may see), the same query also counts the others, into ``hidden``."""
    confirmed = Q(Exists(RepeatLink.objects.filter(incident=OuterRef("pk"), state=RepeatLink.State.CONFIRMED)))
    hidden = ~Q(pk__in=visible) if visible is not None else Q(pk__in=[])
    rows = list(
        qs.annotate(p=_period_expr(period))
        .values("p", "severity_id", "cause_category_id")
        .annotate(
            n=Count("pk"),
            repeats=Count("pk", filter=confirmed),
            hidden_n=Count("pk", filter=hidden),
            hidden_repeats=Count("pk", filter=hidden & confirmed),
        )
    )
    counts = _add_up(rows, severities, causes, "n", "repeats")
    if any(row["hidden_n"] for row in rows):
        counts.hidden = _add_up(rows, severities, causes, "hidden_n", "hidden_repeats")
    return counts


def _add_up(rows: list[dict], severities: dict, causes: dict, n: str, repeated: str) -> PeriodCounts:
    by_severity: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_cause: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    repeats: dict[date, dict] = {}
    for row in rows:
        day = _as_date(row["p"])
        by_severity[day][severities.get(row["severity_id"], "(none)")] += row[n]
        by_cause[day][causes.get(row["cause_category_id"], "(none)")] += row[n]
        totals = repeats.setdefault(day, {"period": day, "incidents": 0, "repeats": 0})
        totals["incidents"] += row[n]
        totals["repeats"] += row[repeated]
    for totals in repeats.values():
        totals["rate"] = _ratio(totals["repeats"], totals["incidents"])
    return PeriodCounts(
        by_severity={day: dict(counts) for day, counts in by_severity.items()},
        by_cause={day: dict(counts) for day, counts in by_cause.items()},
        repeats=sorted(repeats.values(), key=lambda r: r["period"]),
    )


def _per_period(rows: list[dict], counts: tuple[str, ...]) -> tuple[dict, dict[date, dict]]:
    """Rows of figures grouped by period (``p``): the counts added up over every period, and each
    period's row by its first day."""
    by_period = {_as_date(row.pop("p")): row for row in rows}
    return {key: sum(row[key] for row in rows) for key in counts}, by_period


def _postmortem_rates(figures: dict) -> dict:
    figures["published_rate"] = _ratio(figures["published"], figures["required"])
    figures["on_time_rate"] = _ratio(figures["on_time"], figures["required"])
    return figures


def postmortem_completion(qs: QuerySet, today: date, period: str = "month") -> tuple[dict, dict[date, dict]]:
    """Required postmortems: how many are published, and published by their due date; over the
    whole range and per period (for the tiles' trends), in one query grouped by period."""
    published = Q(postmortem__status="published")
    rows = list(
        qs.filter(severity__requires_postmortem=True, resolved_at__isnull=False)
        .annotate(p=_period_expr(period))
        .values("p")
        .annotate(
            required=Count("pk"),
            published=Count("pk", filter=published),
            on_time=Count("pk", filter=published & Q(postmortem__published_at__date__lte=F("postmortem__due_date"))),
            not_started=Count("pk", filter=Q(postmortem__isnull=True)),
            past_due=Count("pk", filter=~published & Q(postmortem__due_date__lt=today)),
        )
        .order_by()
    )
    figures, by_period = _per_period(rows, ("required", "published", "on_time", "not_started", "past_due"))
    for row in [figures, *by_period.values()]:
        _postmortem_rates(row)
    return figures, by_period


ACTION_ITEM_COUNTS = ("total", "done", "wont_do", "open", "done_with_due_date", "done_on_time", "overdue")


def action_item_figures(qs: QuerySet, today: date, period: str = "month") -> tuple[dict, dict[date, dict]]:
    """Completion, on-time completion and overdue items (count and age) of these incidents' action
    items; over the whole range and per period of their incidents (for the tiles' trends), in one
    query grouped by period."""
    # From the incidents' side, joined out to their items: the incidents are read once, where a filter
    # on ``postmortem__incident__in`` reads them twice (once for the filter, once for the period).
    item = "postmortem__action_items__"
    done = Q(**{f"{item}status": ActionItem.Status.DONE})
    overdue = Q(**{f"{item}status__in": OPEN_STATUSES, f"{item}due_date__lt": today})
    days_overdue = DaysBetween(F(f"{item}due_date"), Value(today, output_field=DateField()))
    rows = list(
        qs.filter(**{f"{item}isnull": False})
        .annotate(p=_period_expr(period))
        .values("p")
        .annotate(
            total=Count(f"{item}pk"),
            done=Count(f"{item}pk", filter=done),
            wont_do=Count(f"{item}pk", filter=Q(**{f"{item}status": ActionItem.Status.WONT_DO})),
            open=Count(f"{item}pk", filter=Q(**{f"{item}status__in": OPEN_STATUSES})),
            done_with_due_date=Count(f"{item}pk", filter=done & Q(**{f"{item}due_date__isnull": False})),
            done_on_time=Count(
                f"{item}pk", filter=done & Q(**{f"{item}completed_at__date__lte": F(f"{item}due_date")})
            ),
            overdue=Count(f"{item}pk", filter=overdue),
            overdue_mean_days=Avg(days_overdue, filter=overdue),
            overdue_max_days=Max(days_overdue, filter=overdue),
        )
        .order_by()
    )
    # The mean age over every period: each period's mean weighted by its overdue items.
    overdue_days = sum(row["overdue_mean_days"] * row["overdue"] for row in rows if row["overdue"])
    oldest = max((row["overdue_max_days"] for row in rows if row["overdue_max_days"] is not None), default=None)
    figures, by_period = _per_period(rows, ACTION_ITEM_COUNTS)
    figures["overdue_mean_days"] = overdue_days / figures["overdue"] if figures["overdue"] else None
    figures["overdue_max_days"] = oldest
    for row in [figures, *by_period.values()]:
        row["completion_rate"] = _ratio(row["done"], row["total"])
        row["on_time_rate"] = _ratio(row["done_on_time"], row["done_with_due_date"])
        row["overdue_mean_days"] = _round(row["overdue_mean_days"])
        row["overdue_max_days"] = None if row["overdue_max_days"] is None else int(row["overdue_max_days"])
    return figures, by_period


# --- The selector ---------------------------------------------------------------------------------------


def _definitions(today: date) -> dict:
    tz = timezone.get_current_timezone_name()
    defs = {key: text.format(tz=tz, today=today.isoformat()) for key, text in DEFINITIONS.items()}
    defs.update({m.key: m.definition for m in DURATION_METRICS})
    return defs


def incident_metrics(filters: Filters, *, user=None, today: date | None = None) -> Metrics:
    """Every figure of the metrics page for ``filters``, as ``user`` may see them (without a user,
    in full: for tests and benchmarks), in a fixed number of queries.

    Queries: severities, services and cause categories (labels); the durations of every grouping;
    counts and repeats per period (which also counts the incidents hidden from ``user``); postmortem
    completion; action items. Only when some incident in range is hidden from ``user``: the
    durations, postmortems and action items of the hidden ones (three more), to suppress the
    figures only they could explain. On PostgreSQL, one more sets the session for these inside a
    transaction (BEGIN and COMMIT, or a savepoint).
    """
    return compared_metrics(filters, user=user, today=today, compare=False)[0]


def compared_metrics(
    filters: Filters, *, user=None, today: date | None = None, compare: bool = True
) -> tuple[Metrics, Metrics | None]:
    """``incident_metrics`` for ``filters`` and, with ``compare``, for the period of the same length
    just before (``previous_filters``; ``None`` for an open range). The labels are read once: the
    earlier period adds its durations overall and its counts (two queries, and one more when some
    incident in it is hidden from ``user``): the tiles compare nothing else."""
    today = today or timezone.localdate()
    earlier = previous_filters(filters, today) if compare else None
    if connection.vendor != "postgresql":
        return _both(filters, earlier, today, user)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Each percentile sorts its group's durations: let 100,000 of them sort in memory, not on
            # disk (the default work_mem of 4 MB spills). JIT compiling these large-looking plans
            # takes longer (0.3-0.5 s) than running them. Both end with this transaction.
            cursor.execute("SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true)")
        return _both(filters, earlier, today, user)


def _both(filters: Filters, earlier: Filters | None, today: date, user) -> tuple[Metrics, Metrics | None]:
    labels = _labels()
    metrics = _incident_metrics(filters, today, user, labels)
    # The earlier period only gives the tiles their changes: its durations overall are enough.
    return metrics, _incident_metrics(earlier, today, user, labels, overall_only=True) if earlier else None


def _labels() -> tuple[dict, dict, dict, dict]:
    """Severities, services and cause categories by id, and each severity's level by name."""
    severities = {s.pk: s for s in Severity.objects.order_by("level")}
    return (
        {pk: s.name for pk, s in severities.items()},
        {s.pk: s.name for s in Service.objects.order_by("name")},
        {c.pk: c.name for c in CauseCategory.objects.order_by("name")},
        {s.name: s.level for s in severities.values()},
    )


def _visible_ids(user):
    """The subquery of the incidents ``user`` may see; ``None`` when that is every incident."""
    from accounts.access import is_admin

    if user is None or is_admin(user):
        return None
    return Incident.objects.visible_to(user).order_by().values("pk")


def _incident_metrics(filters: Filters, today: date, user, all_labels: tuple, overall_only: bool = False) -> Metrics:
    qs = filtered_incidents(filters)
    severities, services, causes, levels = all_labels
    labels, visible = (severities, services, causes), _visible_ids(user)
    groups = duration_groups(qs, filters.period, overall_only)
    counts = period_counts(qs, filters.period, severities, causes, visible)
    metrics = _assemble(filters, today, qs, groups, counts, labels, overall_only)
    if counts.hidden is not None:
        hidden_qs = qs.exclude(pk__in=visible)
        hidden_groups = duration_groups(hidden_qs, filters.period, overall_only)
        suppress(metrics, _assemble(filters, today, hidden_qs, hidden_groups, counts.hidden, labels, overall_only))
    metrics.severity_levels = levels
    return metrics


def _assemble(
    filters: Filters, today: date, qs: QuerySet, groups, counts: PeriodCounts, labels, overall_only: bool = False
) -> Metrics:
    """The figures as ``Metrics``; with ``overall_only`` (the earlier period, which only gives the
    tiles their changes), without postmortems and action items: no tile compares them."""
    severities, services, causes = labels
    total = sum(r["incidents"] for r in counts.repeats)
    repeats = sum(r["repeats"] for r in counts.repeats)
    overall = groups["overall"].get(None)
    postmortems, postmortems_by_period = ({}, {}) if overall_only else postmortem_completion(qs, today, filters.period)
    action_items, action_items_by_period = ({}, {}) if overall_only else action_item_figures(qs, today, filters.period)
    return Metrics(
        filters=filters,
        today=today,
        time_zone=timezone.get_current_timezone_name(),
        periods=sorted(_as_date(key) for key in groups["period"]),
        overall=DurationRow("all", "All incidents", *overall) if overall else _empty_row("All incidents"),
        by_severity=_rows(groups["severity"], severities),
        by_service=_rows(groups["service"], services),
        by_cause=_rows(groups["cause"], causes),
        by_period=_period_rows(groups["period"], filters.period),
        counts_by_severity=counts.by_severity,
        counts_by_cause=counts.by_cause,
        severity_names=list(severities.values()),
        cause_names=list(causes.values()) + ["(none)"],
        repeats={"incidents": total, "confirmed_repeats": repeats, "rate": _ratio(repeats, total)},
        repeats_by_period=counts.repeats,
        postmortems=postmortems,
        action_items=action_items,
        postmortems_by_period=postmortems_by_period,
        action_items_by_period=action_items_by_period,
        definitions=_definitions(today),
        period_totals={r["period"]: r["incidents"] for r in counts.repeats},
    )


# --- Suppression ----------------------------------------------------------------------------------------


def suppress(metrics: Metrics, hidden: Metrics) -> None:
    """Suppress, in ``metrics``, each figure counting fewer than ``SUPPRESS_BELOW`` incidents or items of
    which ``hidden`` (the same figures over the incidents hidden from the reader) counts any, and every
    figure built on a suppressed one. Totals keep every incident; only such cells go."""
    cells = _Cells()
    _suppress_rows([metrics.overall], [hidden.overall], cells)
    for name in ("by_period", "by_severity", "by_service", "by_cause"):
        _suppress_rows(getattr(metrics, name), getattr(hidden, name), cells)
    for name in ("counts_by_severity", "counts_by_cause"):
        table, hidden_table = getattr(metrics, name), getattr(hidden, name)
        for day, row in table.items():
            for label, n in row.items():
                row[label] = cells.count(n, hidden_table.get(day, {}).get(label, 0))
    for day, n in metrics.period_totals.items():
        metrics.period_totals[day] = cells.count(n, hidden.period_totals.get(day, 0))
    hidden_repeats = {r["period"]: r for r in hidden.repeats_by_period}
    for row in metrics.repeats_by_period:
        _suppress_repeats(row, hidden_repeats.get(row["period"], {}), cells, ("incidents", "repeats"))
    _suppress_repeats(metrics.repeats, hidden.repeats, cells, ("incidents", "confirmed_repeats"))
    _suppress_figures(metrics.postmortems, hidden.postmortems, cells, POSTMORTEM_DERIVED)
    _suppress_figures(metrics.action_items, hidden.action_items, cells, ACTION_ITEM_DERIVED)
    for day, figures in metrics.postmortems_by_period.items():
        _suppress_figures(figures, hidden.postmortems_by_period.get(day, {}), cells, POSTMORTEM_DERIVED)
    for day, figures in metrics.action_items_by_period.items():
        _suppress_figures(figures, hidden.action_items_by_period.get(day, {}), cells, ACTION_ITEM_DERIVED)
    metrics.suppressed = cells.any


class _Cells:
    """The rule for one count, remembering whether it ever applied."""

    any = False

    def count(self, n, hidden_n):
        if hidden_n and isinstance(n, int) and n < SUPPRESS_BELOW:
            self.any = True
            return SUPPRESSED
        return n


def _suppress_rows(rows: list[DurationRow], hidden_rows: list[DurationRow], cells: _Cells) -> None:
    hidden_by_key = {row.key: row for row in hidden_rows}
    for row in rows:
        hidden_row = hidden_by_key.get(row.key)
        if hidden_row is None or not hidden_row.total:
            continue
        row.total = cells.count(row.total, hidden_row.total)
        for key, stat in row.stats.items():
            hidden_stat = hidden_row.stats[key]
            n = SUPPRESSED if row.total is SUPPRESSED else cells.count(stat.n, hidden_stat.n)
            if n is SUPPRESSED:
                stat.n = stat.mean = stat.median = stat.p90 = SUPPRESSED
            excluded = SUPPRESSED if row.total is SUPPRESSED else cells.count(stat.excluded, hidden_stat.excluded)
            stat.excluded = excluded


def _suppress_repeats(row: dict, hidden: dict, cells: _Cells, keys: tuple[str, str]) -> None:
    incidents, repeats = keys
    row[incidents] = cells.count(row[incidents], hidden.get(incidents, 0))
    row[repeats] = cells.count(row[repeats], hidden.get(repeats, 0))
    if SUPPRESSED in (row[incidents], row[repeats]):
        row["rate"] = SUPPRESSED


# Figures computed from counts: (figure, the counts it is built on).
POSTMORTEM_DERIVED = {"published_rate": ("published", "required"), "on_time_rate": ("on_time", "required")}
ACTION_ITEM_DERIVED = {
    "completion_rate": ("done", "total"),
    "on_time_rate": ("done_on_time", "done_with_due_date"),
    "overdue_mean_days": ("overdue",),
    "overdue_max_days": ("overdue",),
}


def _suppress_figures(figures: dict, hidden: dict, cells: _Cells, derived: dict) -> None:
    if not figures:  # not computed (the earlier period's)
        return
    for key, value in figures.items():
        if key not in derived:
            figures[key] = cells.count(value, hidden.get(key) or 0)
    for key, parts in derived.items():
        if any(figures[part] is SUPPRESSED for part in parts):
            figures[key] = SUPPRESSED


def _period_rows(groups: Groups, period: str) -> list[DurationRow]:
    days = sorted(((_as_date(key), value) for key, value in groups.items()), key=lambda pair: pair[0])
    return [DurationRow(day, period_label(day, period), *value) for day, value in days]


def period_label(day: date, period: str) -> str:
    """``2026-03`` for a month, ``2026-Q1`` for a quarter."""
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day:%Y-%m}"


# --- Comparison and the team page ------------------------------------------------------------------------


def previous_filters(filters: Filters, today: date) -> Filters | None:
    """The same filters over the period of the same length just before ``filters``' range; ``None``
    without a start date (an open range has no length)."""
    if not filters.start:
        return None
    end = filters.end or today
    days = (end - filters.start).days + 1
    return Filters(
        start=filters.start - timedelta(days=days),
        end=filters.start - timedelta(days=1),
        team=filters.team,
        service=filters.service,
        severity=filters.severity,
        period=filters.period,
    )


def team_incidents(team: Team) -> QuerySet:
    """The incidents touching one of ``team``'s services (each once)."""
    return Incident.objects.filter(
        pk__in=Incident.services.through.objects.filter(service__team=team).values("incident_id")
    )


def team_action_items_by_owner(team: Team, user, today: date) -> list[dict]:
    """``team``'s open action items that ``user`` may read, counted per owner (open, overdue), most
    overdue first; one query."""
    items = ActionItem.objects.visible_to(user).open().filter(team=team)
    return list(
        items.values("owner__username", "owner__first_name", "owner__last_name")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=today)))
        .order_by("-overdue", "-open", "owner__username")
    )


@dataclass
class Waiting:
    """The first few of a list of waiting incidents, and how many there are in all."""

    total: int = 0
    incidents: list[Incident] = field(default_factory=list)


def team_postmortems_waiting(team: Team, user, limit: int = WAITING_LIMIT) -> dict[str, Waiting]:
    """``team``'s incidents ``user`` may see whose postmortem waits: not started (required, resolved,
    none yet; oldest resolved first), being written (draft) or in review (awaiting review and
    publication; most overdue first). Each list stops at ``limit`` and counts them all, in the same
    query (window functions); two queries. Incident visibility decides, as for the incident pages: a
    lead sees the team's drafts listed even where only their writers may open them."""
    from postmortems.models import Postmortem

    incidents = Incident.objects.visible_to(user).filter(pk__in=team_incidents(team).values("pk"))
    waiting = {"not_started": Waiting(), "draft": Waiting(), "in_review": Waiting()}
    by_status = [F("status")]
    postmortems = (
        Postmortem.objects.filter(incident__in=incidents.values("pk"), status__in=["draft", "in_review"])
        .annotate(
            rank=Window(RowNumber(), partition_by=by_status, order_by=[F("due_date").asc(nulls_last=True), "pk"]),
            total=Window(Count("pk"), partition_by=by_status),
        )
        .filter(rank__lte=limit)
        .select_related("incident__severity")
        .order_by("status", "rank")
    )
    for postmortem in postmortems:
        waiting[postmortem.status].total = postmortem.total
        waiting[postmortem.status].incidents.append(postmortem.incident)
    not_started = list(
        incidents.filter(severity__requires_postmortem=True, resolved_at__isnull=False, postmortem__isnull=True)
        .annotate(total=Window(Count("pk")))
        .select_related("severity")
        .order_by("resolved_at", "pk")[:limit]
    )
    waiting["not_started"] = Waiting(not_started[0].total if not_started else 0, not_started)
    return waiting


def team_repeat_incidents(team: Team, user, limit: int = 20) -> list[Incident]:
    """``team``'s incidents ``user`` may see that have a confirmed repeat link to an earlier one, latest
    first; one query."""
    confirmed = RepeatLink.objects.filter(incident=OuterRef("pk"), state=RepeatLink.State.CONFIRMED)
    incidents = (
        Incident.objects.visible_to(user)
        .filter(pk__in=team_incidents(team).values("pk"))
        .filter(Exists(confirmed))
        .select_related("severity")
        .order_by("-declared_at")
    )
    return list(incidents[:limit])
