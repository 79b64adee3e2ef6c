"""The metrics page: filters, tables (each downloadable as CSV) and server-side SVG charts.

All figures come from ``incidents.metrics.incident_metrics``; this module only lays them out.
The first screen holds the headline tiles (each against the previous period of the same length);
definitions are written once, in a glossary the figures link to. Charts are tables drawn here, a
row per SVG bar with its numbers beside it (no JavaScript, nothing from a CDN).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from .metrics import (
    DURATION_METRICS,
    METRIC_KEYS,
    SUPPRESSED,
    DurationRow,
    Filters,
    Metrics,
    compared_metrics,
    incident_metrics,
    period_label,
    team_action_items_by_owner,
    team_postmortems_waiting,
    team_repeat_incidents,
)
from .models import Service, Severity, Team
from .timestamps import validate_query_date
from .widgets import IsoDateInput

# --- Filters ----------------------------------------------------------------------------------------


class MetricsFilterForm(forms.Form):
    start = forms.DateField(required=False, validators=[validate_query_date], widget=IsoDateInput(), label="From")
    end = forms.DateField(required=False, validators=[validate_query_date], widget=IsoDateInput(), label="To")
    team = forms.ModelChoiceField(Team.objects.order_by("name"), required=False, to_field_name="slug")
    service = forms.ModelChoiceField(Service.objects.order_by("name"), required=False, to_field_name="slug")
    severity = forms.ModelChoiceField(Severity.objects.order_by("level"), required=False, to_field_name="name")
    period = forms.ChoiceField(choices=[("month", "Month"), ("quarter", "Quarter")], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, item in self.fields.items():
            item.widget.attrs["class"] = (
                "form-select" if name in ("team", "service", "severity", "period") else "form-control"
            )

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("The end date must be on or after the start date.")
        return data

    def to_filters(self) -> Filters:
        """The form's filters; without dates, the last twelve months (from the first of a month)."""
        data = self.cleaned_data
        start = data.get("start")
        if not start and not data.get("end"):
            start = default_filters().start
        return Filters(
            start=start,
            end=data.get("end"),
            team=data.get("team"),
            service=data.get("service"),
            severity=data.get("severity"),
            period=data.get("period") or "month",
        )


def default_filters() -> Filters:
    """The last twelve months, from the first of the month eleven months ago."""
    return Filters(start=(timezone.localdate() - timedelta(days=334)).replace(day=1))


# --- Tables -----------------------------------------------------------------------------------------


def _duration(seconds: float | None) -> str:
    if seconds is None or seconds is SUPPRESSED:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def _percent(value: float | None) -> str:
    return "—" if value is None or value is SUPPRESSED else f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"


def _csv_value(value, kind: str):
    if value is None:
        return ""
    if value is SUPPRESSED:  # "<3" for a count, nothing for a time or rate built on it
        return str(value) if kind == "int" else ""
    if kind == "rate":
        return round(value, 4)
    if kind in ("seconds", "days"):
        return round(value, 1)
    if kind == "excluded":
        return value[0]
    if kind == "figure":
        return _csv_value(*value)
    return value


FORMATTERS = {
    "seconds": _duration,
    "rate": _percent,
    "days": lambda v: "—" if v is None or v is SUPPRESSED else f"{v:g} days",
    "excluded": lambda v: str(v[0]) if v[0] is SUPPRESSED else f"{v[0]} excluded: {v[1]}" if v[0] else "0",
    "int": lambda v: "—" if v is None else str(v),
    "text": lambda v: "—" if v is None else str(v),
}
# A figures table holds one (value, kind) per row.
FORMATTERS["figure"] = lambda v: FORMATTERS[v[1]](v[0])


@dataclass
class Table:
    name: str
    title: str
    definition: str
    columns: list[tuple[str, str]]  # (header, kind)
    rows: list[list]
    charts: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The page's shape of the rows, where it differs from the CSV's (headers, rows as text).
    wide: tuple[list[str], list[list[str]]] | None = None
    limit: int | None = None  # rows shown until "show all"
    show_all: bool = False
    terms: list[str] = field(default_factory=list)  # glossary entries the table's figures use
    width: str = "col-12"  # its column in the page's grid
    on_page: bool = True  # False: in the CSV only (the tiles show it), or nested in another's numbers
    nested: list = field(default_factory=list)  # more tables under this one's chart, with its numbers

    def headers(self) -> list[str]:
        return self.wide[0] if self.wide else [header for header, _ in self.columns]

    def display_rows(self) -> list[list[str]]:
        if self.wide:
            return self.wide[1]
        return [
            [FORMATTERS[kind](value) for value, (_, kind) in zip(row, self.columns, strict=True)] for row in self.rows
        ]

    def shown_rows(self) -> list[list[str]]:
        rows = self.display_rows()
        return rows if self.show_all or not self.limit else rows[: self.limit]

    def more(self) -> int:
        """How many rows "show all" adds."""
        return 0 if self.show_all or not self.limit else max(0, len(self.display_rows()) - self.limit)

    def csv_rows(self) -> list[list]:
        return [
            [_csv_value(value, kind) for value, (_, kind) in zip(row, self.columns, strict=True)] for row in self.rows
        ]


DURATION_COLUMNS = [
    ("Group", "text"),
    ("Metric", "text"),
    ("Mean", "seconds"),
    ("Median", "seconds"),
    ("p90", "seconds"),
    ("Included", "int"),
    ("Excluded", "excluded"),
]


def _duration_rows(rows: list[DurationRow]) -> list[list]:
    return [
        [row.label, m.label, s.mean, s.median, s.p90, s.n, (s.excluded, m.missing)]
        for row in rows
        for m in DURATION_METRICS
        for s in [row.stats[m.key]]
    ]


def _duration_table(name: str, title: str, rows: list[DurationRow], metrics: Metrics, ranked: bool = False) -> Table:
    """One row per group on the page (each figure's median and p90); one row per group and figure in
    the CSV. ``ranked`` tables list the groups with the most incidents first, ten until "show all"."""
    definitions = " ".join(f"{m.label}: {m.definition}" for m in DURATION_METRICS)
    if ranked:
        rows = sorted(rows, key=lambda r: r.total if isinstance(r.total, int) else 0, reverse=True)
    headers = ["Group", "Incidents"] + ["Median", "p90"] * len(DURATION_METRICS)
    wide = [
        [row.label, str(row.total)]
        + [_duration(getattr(row.stats[m.key], p)) for m in DURATION_METRICS for p in ("median", "p90")]
        for row in rows
    ]
    table = Table(name, title, f"{definitions} {metrics.definitions['stats']}", DURATION_COLUMNS, _duration_rows(rows))
    table.wide, table.limit, table.terms = (headers, wide), 10 if ranked else None, [*METRIC_KEYS, "stats"]
    table.header_groups = [("", 2)] + [(m.label, 2) for m in DURATION_METRICS]
    return table


def _counts_table(name: str, title: str, counts: dict, names: list[str], metrics: Metrics) -> Table:
    used = [n for n in names if any(n in counts.get(p, {}) for p in metrics.periods)]
    rows = [
        [
            period_label(p, metrics.filters.period),
            *[counts.get(p, {}).get(n, 0) for n in used],
            metrics.period_totals.get(p, 0),
        ]
        for p in metrics.periods
    ]
    columns = [("Period", "text"), *[(n, "int") for n in used], ("Total", "int")]
    return Table(name, title, f"{metrics.definitions['counts']} {metrics.definitions['period']}", columns, rows)


def _repeats_table(metrics: Metrics) -> Table:
    rows = [
        [period_label(r["period"], metrics.filters.period), r["incidents"], r["repeats"], r["rate"]]
        for r in metrics.repeats_by_period
    ]
    rows.append(["All", metrics.repeats["incidents"], metrics.repeats["confirmed_repeats"], metrics.repeats["rate"]])
    columns = [("Period", "text"), ("Incidents", "int"), ("Confirmed repeats", "int"), ("Repeat rate", "rate")]
    return Table("repeats", "Repeat-class rate", metrics.definitions["repeat_rate"], columns, rows)


def _figures_table(name: str, title: str, definition: str, figures: list[tuple[str, object, str]]) -> Table:
    columns = [("Figure", "text"), ("Value", "figure")]
    return Table(name, title, definition, columns, [[label, (value, kind)] for label, value, kind in figures])


def _postmortem_table(metrics: Metrics) -> Table:
    pm = metrics.postmortems
    return _figures_table(
        "postmortems",
        "Postmortem completion",
        metrics.definitions["postmortems"],
        [
            ("Required", pm["required"], "int"),
            ("Published", pm["published"], "int"),
            ("Published rate", pm["published_rate"], "rate"),
            ("Published on time", pm["on_time"], "int"),
            ("On-time rate", pm["on_time_rate"], "rate"),
            ("Not started", pm["not_started"], "int"),
            ("Past due, not published", pm["past_due"], "int"),
        ],
    )


def _action_item_table(metrics: Metrics) -> Table:
    ai = metrics.action_items
    return _figures_table(
        "action_items",
        "Action items",
        metrics.definitions["action_items"],
        [
            ("Items", ai["total"], "int"),
            ("Done", ai["done"], "int"),
            ("Won't do", ai["wont_do"], "int"),
            ("Still open", ai["open"], "int"),
            ("Completion rate", ai["completion_rate"], "rate"),
            ("Done on time", ai["done_on_time"], "int"),
            ("On-time rate", ai["on_time_rate"], "rate"),
            ("Overdue", ai["overdue"], "int"),
            ("Overdue: mean age", ai["overdue_mean_days"], "days"),
            ("Overdue: oldest", ai["overdue_max_days"], "days"),
        ],
    )


def metric_tables(metrics: Metrics) -> list[Table]:
    """Every table of the page, in page order; each ``name`` is a CSV ``table=`` value."""
    tables = [
        _duration_table("durations", "Response times, all incidents", [metrics.overall], metrics),
        _duration_table("trend", "Response times by period", metrics.by_period, metrics),
        _duration_table("by_severity", "Response times by severity", metrics.by_severity, metrics),
        _duration_table("by_service", "Response times by service", metrics.by_service, metrics, ranked=True),
        _duration_table("by_cause", "Response times by cause category", metrics.by_cause, metrics, ranked=True),
        _counts_table(
            "counts_severity", "Incidents by severity", metrics.counts_by_severity, metrics.severity_names, metrics
        ),
        _counts_table(
            "counts_cause", "Incidents by cause category", metrics.counts_by_cause, metrics.cause_names, metrics
        ),
        _repeats_table(metrics),
        _postmortem_table(metrics),
        _action_item_table(metrics),
    ]
    terms = {"counts_severity": ["period"], "counts_cause": ["period"], "repeats": ["repeat_rate", "period"]}
    terms |= {"postmortems": ["postmortems"], "action_items": ["action_items"]}
    widths = {"counts_severity": "col-lg-6", "counts_cause": "col-lg-6"}
    widths |= {"repeats": "col-lg-4", "postmortems": "col-lg-4", "action_items": "col-lg-4"}
    for table in tables:
        table.terms = table.terms or terms.get(table.name, [])
        table.width = widths.get(table.name, table.width)
    tables[0].on_page = False
    # The causes' response times go with the causes' counts, under their chart: the page stays short.
    by_cause, counts_cause = tables[4], tables[6]
    by_cause.on_page, counts_cause.nested = False, [by_cause]
    return tables


# --- Charts -----------------------------------------------------------------------------------------
# Each chart is a table: a row per bar with its label, the bar (SVG, sized in percent) and its
# numbers in columns, so every value is read without hovering or opening anything, labels never
# overlap or get cut at any width, each bar also tells its value on hover (an SVG <title>), and a
# zero draws no bar and leaves the bar's own value blank.

# The severity badges' colours (Bootstrap's danger, warning, info; see ``severity_badge``), by level.
SEVERITY_FILLS = {1: "sev-1", 2: "sev-2", 3: "sev-3"}


@dataclass
class Segment:
    x: float  # percent of the chart's width
    width: float
    css: str
    title: str


@dataclass
class Bar:
    label: str
    segments: list[Segment]
    text: str  # the bar's own value, blank for zero
    values: list[str] = field(default_factory=list)  # the row's other numbers, under ``Chart.columns``


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (name, css)
    label: str = "Period"  # the header over the bars' labels
    value: str = ""  # the header over the bars' own values
    columns: list[str] = field(default_factory=list)  # the headers over the other numbers


def _bars(title: str, items: list[tuple[str, float | None, str]], css: str = "series-0", **headers) -> Chart:
    """One bar per (label, value, value as text); a missing or suppressed value draws nothing."""
    top = max((v for _, v, _ in items if v), default=0)
    bars = []
    for label, value, text in items:
        segments = [Segment(0, 100 * value / top, css, f"{label}: {text}")] if value and top else []
        bars.append(Bar(label, segments, text if value else ("—" if value is None or value is SUPPRESSED else "")))
    return Chart(title, bars, **headers)


def trend_charts(metrics: Metrics) -> list[Chart]:
    """Each response time per period, one small chart per figure: its median drawn, its p90 beside."""
    charts = []
    for index, m in enumerate(DURATION_METRICS):
        stats = [(row.label, row.stats[m.key]) for row in metrics.by_period]
        chart = _bars(
            m.label,
            [(label, _number(s.median), _duration(s.median)) for label, s in stats],
            f"series-{index}",
            value="Median",
            columns=["p90"],
        )
        for bar, (_, s) in zip(chart.bars, stats, strict=True):
            bar.values = [_duration(s.p90)]
        charts.append(chart)
    return charts


def _number(value) -> float | None:
    return None if value is None or value is SUPPRESSED else float(value)


def severity_chart(metrics: Metrics, severities: dict[str, int]) -> Chart:
    """Incidents per period, stacked by severity in the badges' colours, each severity's count beside."""
    totals = {
        p: sum(v for v in metrics.counts_by_severity.get(p, {}).values() if isinstance(v, int)) for p in metrics.periods
    }
    top = max(totals.values(), default=0) or 1
    used = [n for n in metrics.severity_names if any(n in metrics.counts_by_severity.get(p, {}) for p in totals)]
    bars = []
    for p in metrics.periods:
        counts, x, segments = metrics.counts_by_severity.get(p, {}), 0.0, []
        for name in metrics.severity_names:
            n = counts.get(name)
            if isinstance(n, int) and n:  # a suppressed count ("<3") draws nothing
                css = SEVERITY_FILLS.get(severities.get(name), "sev-other")
                segments.append(Segment(x, 100 * n / top, css, f"{name}: {n}"))
                x += 100 * n / top
        total = metrics.period_totals.get(p, 0)
        values = [str(counts.get(name, 0)) for name in used]
        bars.append(Bar(period_label(p, metrics.filters.period), segments, str(total) if total else "", values))
    legend = [(name, SEVERITY_FILLS.get(level, "sev-other")) for name, level in severities.items()]
    return Chart("Incidents by severity", bars, legend, value="Total", columns=used)


def cause_chart(metrics: Metrics) -> Chart:
    rows = sorted(metrics.by_cause, key=lambda r: r.total if isinstance(r.total, int) else 0, reverse=True)
    items = [(r.label, _number(r.total), str(r.total)) for r in rows[:10]]
    return _bars("Incidents by cause category", items, label="Cause category", value="Incidents")


def _repeat_items(metrics: Metrics) -> list[tuple[str, float | None, str]]:
    return [
        (period_label(r["period"], metrics.filters.period), _number(r["rate"]), _percent(r["rate"]))
        for r in metrics.repeats_by_period
    ]


def repeat_chart(metrics: Metrics) -> Chart:
    chart = _bars("Repeat-class rate by period", _repeat_items(metrics), value="Rate", columns=["Repeats", "Of"])
    for bar, row in zip(chart.bars, metrics.repeats_by_period, strict=True):
        bar.values = [str(row["repeats"]), str(row["incidents"])]
    return chart


def attach_charts(tables: dict[str, Table], metrics: Metrics, severities: dict[str, int]) -> None:
    tables["trend"].charts = trend_charts(metrics)
    tables["counts_severity"].charts = [severity_chart(metrics, severities)]
    tables["counts_cause"].charts = [cause_chart(metrics)]
    tables["repeats"].charts = [repeat_chart(metrics)]


# --- Headline tiles ---------------------------------------------------------------------------------


def _change(now, before, kind: str) -> str:
    if now is None or now is SUPPRESSED or before is None or before is SUPPRESSED:
        return ""  # the tile says once that there is nothing to compare with
    delta = now - before
    if kind == "seconds":
        if round(delta) == 0:
            return "no change"
        return f"{'+' if delta > 0 else '−'}{_duration(abs(delta))}"
    points = round(delta * 100, 1)
    return "no change" if points == 0 else f"{'+' if points > 0 else '−'}{abs(points):g} pts"


def sparkline(values: list[tuple[str, float | None, str]]) -> dict | None:
    """A tile's trend: the points of a 100×20 polyline, one per period with a figure (a missing or
    suppressed one is skipped, not drawn as zero), and the figures in words for its tooltip."""
    shown = [(i, v) for i, (_, v, _) in enumerate(values) if v is not None and v is not SUPPRESSED]
    if len(shown) < 2:
        return None
    top, last = max(v for _, v in shown) or 1, max(len(values) - 1, 1)
    points = " ".join(f"{100 * i / last:.1f},{19 - 18 * v / top:.1f}" for i, v in shown)
    return {"points": points, "title": "; ".join(f"{label}: {text}" for label, _, text in values)}


def _rate_trend(metrics: Metrics, by_period: dict, key: str) -> dict | None:
    """The sparkline of a rate per period (``by_period``: figures by each period's first day)."""
    rates = [by_period.get(day, {}).get(key) for day in metrics.periods]
    labels = [period_label(day, metrics.filters.period) for day in metrics.periods]
    return sparkline([(label, _number(rate), _percent(rate)) for label, rate in zip(labels, rates, strict=True)])


def _shown(value, formatter) -> str:
    """A tile's figure; a suppressed one reads "<3", linked to why in the glossary."""
    return str(SUPPRESSED) if value is SUPPRESSED else formatter(value)


def tiles(metrics: Metrics, previous: Metrics | None) -> list[dict]:
    """The headline figures, each with its change on the previous period, its breakdown and its definition."""
    result = []
    for m in DURATION_METRICS:
        stat = metrics.overall.stats[m.key]
        before = previous.overall.stats[m.key] if previous else None
        result.append(
            {
                "key": m.key,
                "label": m.label,
                "figures": [
                    (
                        "Median",
                        _shown(stat.median, _duration),
                        _change(stat.median, before and before.median, "seconds"),
                    ),
                    ("p90", _shown(stat.p90, _duration), _change(stat.p90, before and before.p90, "seconds")),
                ],
                "breakdown": "table-trend",
                "compared": True,
                "spark": sparkline(
                    [
                        (r.label, _number(r.stats[m.key].median), _duration(r.stats[m.key].median))
                        for r in metrics.by_period
                    ]
                ),
            }
        )
    repeats, pm, ai = metrics.repeats, metrics.postmortems, metrics.action_items
    prev = previous or None
    result += [
        {
            "key": "repeat_rate",
            "label": "Repeat rate",
            "figures": [
                (
                    "Rate",
                    _shown(repeats["rate"], _percent),
                    _change(repeats["rate"], prev and prev.repeats["rate"], "rate"),
                ),
                ("Repeats", str(repeats["confirmed_repeats"]), f"of {repeats['incidents']} incidents"),
            ],
            "compared": True,
            "breakdown": "table-repeats",
            "spark": sparkline(_repeat_items(metrics)),
        },
        {
            "key": "postmortems",
            "label": "Postmortems",
            "figures": [
                ("Published", _shown(pm["published_rate"], _percent), f"{pm['published']} of {pm['required']}"),
                ("On time", _shown(pm["on_time_rate"], _percent), f"{pm['on_time']} of {pm['required']}"),
            ],
            "breakdown": "table-postmortems",
            "spark": _rate_trend(metrics, metrics.postmortems_by_period, "published_rate"),
            "spark_label": "Published rate",
        },
        {
            "key": "action_items",
            "label": "Action items",
            "figures": [
                ("Done", _shown(ai["completion_rate"], _percent), f"{ai['done']} of {ai['total']}"),
                (
                    "On time",
                    _shown(ai["on_time_rate"], _percent),
                    f"{ai['done_on_time']} of {ai['done_with_due_date']}",
                ),
                ("Overdue", str(ai["overdue"]), f"oldest {FORMATTERS['days'](ai['overdue_max_days'])}"),
            ],
            "breakdown": "table-action_items",
            "spark": _rate_trend(metrics, metrics.action_items_by_period, "completion_rate"),
            "spark_label": "Done rate",
        },
    ]
    for tile in result:
        # Whether any of its figures has one to compare with (a duration tile's p90 never alone).
        tile["no_earlier"] = tile.get("compared") and not tile["figures"][0][2]
    if all(tile["no_earlier"] for tile in result if tile.get("compared")):
        for tile in result:  # said once, under the tiles
            tile["no_earlier"] = None
    return result


def glossary(metrics: Metrics) -> list[dict]:
    """Each definition once, with what it leaves out of the current figures."""
    entries = []
    for m in DURATION_METRICS:
        excluded = metrics.overall.stats[m.key].excluded
        note = "No incident is left out."
        if excluded == 1:
            note = f"1 incident is left out: {m.missing}."
        elif excluded or excluded is SUPPRESSED:
            note = f"{excluded} incidents are left out: {m.missing}."
        entries.append({"key": m.key, "term": m.label, "text": f"{m.definition} {note}"})
    defs = metrics.definitions
    entries += [
        {"key": "stats", "term": "Median and p90", "text": defs["stats"]},
        {"key": "repeat_rate", "term": "Repeat rate", "text": defs["repeat_rate"]},
        {"key": "postmortems", "term": "Postmortems", "text": defs["postmortems"]},
        {"key": "action_items", "term": "Action items", "text": defs["action_items"]},
        {"key": "period", "term": "Periods", "text": f"{defs['period']} {defs['counts']}"},
        {
            "key": "change",
            "term": "Change",
            "text": "Against the same filters over the period of the same length just before this one.",
        },
        {"key": "suppressed", "term": "<3", "text": defs["suppressed"]},
    ]
    return entries


# --- Views ------------------------------------------------------------------------------------------


def _csv_response(table: Table, metrics: Metrics) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"metrics-{table.name}-{metrics.today.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([header for header, _ in table.columns])
    for row in table.csv_rows():
        writer.writerow([_csv_safe(value) for value in row])
    return response


def _csv_safe(value):
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@login_required
def metrics_page(request):
    """The metrics page, or one of its tables as CSV (``?format=csv&table=<name>``)."""
    form = MetricsFilterForm(request.GET)
    filters = form.to_filters() if form.is_valid() else default_filters()
    if request.GET.get("format") == "csv":
        metrics = incident_metrics(filters, user=request.user)
        table = {table.name: table for table in metric_tables(metrics)}.get(request.GET.get("table", ""))
        if table is None:
            raise Http404("No such table.")
        return _csv_response(table, metrics)
    metrics, previous = compared_metrics(filters, user=request.user)
    # One query for the teams: the filter's options and the links to the team pages.
    teams = list(Team.objects.order_by("name"))
    form.fields["team"].choices = [("", form.fields["team"].empty_label), *((t.slug, t.name) for t in teams)]
    tables = {table.name: table for table in metric_tables(metrics)}
    attach_charts(tables, metrics, metrics.severity_levels)
    shown = request.GET.get("all", "")
    for table in tables.values():
        table.show_all = table.name == shown
    query = request.GET.copy()
    for key in ("format", "table", "all"):
        query.pop(key, None)
    context = {
        "form": form,
        "metrics": metrics,
        "previous": previous,
        "table_list": list(tables.values()),
        "tiles": tiles(metrics, previous),
        "glossary": glossary(metrics),
        "teams": teams,
        "query": query.urlencode(),
    }
    return render(request, "metrics/metrics.html", context)


WAITING_HEADINGS = {
    "not_started": "Not started",
    "draft": "Being written (draft)",
    "in_review": "Awaiting review and publication",
}


def _waiting_sections(team: Team, waiting: dict) -> list[dict]:
    """The team page's postmortems-waiting lists; drafts and reviews link to the postmortem list
    filtered to the team and that status (incidents have no "postmortem not started" filter)."""
    sections = []
    for key, heading in WAITING_HEADINGS.items():
        query = urlencode({"team": team.slug, "status": key})
        all_url = "" if key == "not_started" else f"{reverse('postmortems:list')}?{query}"
        sections.append({"key": key, "heading": heading, "all_url": all_url, **vars(waiting[key])})
    return sections


@login_required
def team_page(request, slug: str):
    """One team's figures over the last twelve months, its open action items by owner, its postmortems
    waiting for work and its repeat-class incidents."""
    team = get_object_or_404(Team.objects.select_related("lead"), slug=slug)
    form = MetricsFilterForm(request.GET)
    filters = replace(form.to_filters() if form.is_valid() else default_filters(), team=team)
    metrics, previous = compared_metrics(filters, user=request.user)
    context = {
        "team": team,
        "metrics": metrics,
        "tiles": tiles(metrics, previous),
        "glossary": glossary(metrics),
        "owners": team_action_items_by_owner(team, request.user, metrics.today),
        "waiting": _waiting_sections(team, team_postmortems_waiting(team, request.user)),
        "repeats": team_repeat_incidents(team, request.user),
        "query": f"team={team.slug}",
    }
    return render(request, "metrics/team.html", context)
