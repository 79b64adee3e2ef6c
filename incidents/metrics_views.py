"""The metrics page: filters, tables (each downloadable as CSV) and server-side SVG charts.

All figures come from ``incidents.metrics.incident_metrics``; this module only lays them out.
Charts are drawn by pygal as inline SVG (no JavaScript, nothing from a CDN). Each chart has its
numbers in a table beside it, and tells its series apart without colour: lines by dash pattern and
a label at their end, stacked bars by hatching patterns and printed values.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pygal
from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from pygal.style import Style

from .metrics import DURATION_METRICS, SUPPRESSED, DurationRow, Filters, Metrics, incident_metrics, period_label
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
    chart: str = ""
    notes: list[str] = field(default_factory=list)

    def display_rows(self) -> list[list[str]]:
        return [
            [FORMATTERS[kind](value) for value, (_, kind) in zip(row, self.columns, strict=True)] for row in self.rows
        ]

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


def _duration_table(name: str, title: str, rows: list[DurationRow], metrics: Metrics) -> Table:
    definitions = " ".join(f"{m.label}: {m.definition}" for m in DURATION_METRICS)
    return Table(name, title, f"{definitions} {metrics.definitions['stats']}", DURATION_COLUMNS, _duration_rows(rows))


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
        _duration_table("by_service", "Response times by service", metrics.by_service, metrics),
        _duration_table("by_cause", "Response times by cause category", metrics.by_cause, metrics),
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
    return tables


# --- Charts -----------------------------------------------------------------------------------------

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    # Okabe–Ito: distinguishable with the common colour-vision deficiencies.
    colors=("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"),
    value_font_size=11,
    label_font_size=11,
    legend_font_size=12,
)
DASHES = ["", "8,4", "2,4", "10,4,2,4", "4,4", "12,3,3,3,3,3"]
# Hatching per series, so stacked bars read without colour: (pattern id, SVG drawn over the colour).
HATCHES = [
    '<path d="M0,8 L8,0" stroke="#fff" stroke-width="1.5"/>',
    '<circle cx="4" cy="4" r="1.6" fill="#fff"/>',
    '<path d="M0,4 L8,4" stroke="#fff" stroke-width="1.5"/>',
    '<path d="M0,0 L8,8 M0,8 L8,0" stroke="#fff" stroke-width="1.2"/>',
    '<path d="M4,0 L4,8" stroke="#fff" stroke-width="1.5"/>',
    "",
]
PATTERN_CSS = Path(__file__).resolve().parent.parent / "templates" / "metrics" / "chart_patterns.css"
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def _config(**extra) -> dict:
    return {
        "style": STYLE,
        "js": [],  # no JavaScript: the tooltips script would come from a CDN
        "disable_xml_declaration": True,
        "width": 760,
        "height": 360,
        "legend_at_bottom": True,
        "truncate_legend": -1,
        "x_label_rotation": 30,
        **extra,
    }


def _svg(chart) -> str:
    # The config is also inlined as a script; nothing uses it without pygal's JS.
    return mark_safe(_SCRIPT.sub("", chart.render(is_unicode=True)))  # noqa: S308 - our own SVG, values escaped


def _trend_chart(metrics: Metrics) -> str:
    chart = pygal.Line(
        **_config(title="Median response times by period (minutes)", print_labels=True, show_dots=True, dots_size=4)
    )
    chart.x_labels = [row.label for row in metrics.by_period]
    for index, m in enumerate(DURATION_METRICS):
        values = [_minutes(row.stats[m.key].median) for row in metrics.by_period]
        # A label at the line's last point names the series without the legend's colour.
        last = max((i for i, v in enumerate(values) if v is not None), default=None)
        if last is not None:
            values[last] = {"value": values[last], "label": m.label}
        chart.add(m.label, values, stroke_style={"width": 2, "dasharray": DASHES[index]})
    return _svg(chart)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None or seconds is SUPPRESSED else round(seconds / 60, 1)


def _stacked_counts_chart(table: Table, title: str) -> str:
    """Stacked bars, one series per column; only one chart per page uses the hatch patterns' ids."""
    series = [header for header, _ in table.columns[1:-1]]
    defs = [
        f'<pattern id="metrics-hatch-{i}" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<rect width="8" height="8" fill="{STYLE.colors[i]}"/>{HATCHES[i]}</pattern>'
        for i in range(len(HATCHES))
    ]
    css = ["file://style.css", "file://graph.css", f"file://{PATTERN_CSS}"]
    chart = pygal.StackedBar(**_config(title=title, print_values=True, defs=defs, css=css))
    chart.x_labels = [row[0] for row in table.rows]
    for index, name in enumerate(series):
        chart.add(name, [row[index + 1] or None for row in table.rows])
    return _svg(chart)


def _cause_totals_chart(table: Table, metrics: Metrics) -> str:
    chart = pygal.HorizontalBar(
        **_config(title="Incidents by cause category (whole range)", print_values=True, show_legend=False)
    )
    causes = [header for header, kind in table.columns[1:-1]]
    # The whole range's count per cause is a figure of its own (suppressed or not, like the rest).
    by_cause = {row.label: row.total for row in metrics.by_cause}
    totals = [by_cause.get(name) or None for name in causes]
    chart.x_labels = causes
    chart.add("Incidents", totals)
    return _svg(chart)


def _repeat_chart(metrics: Metrics) -> str:
    chart = pygal.Bar(**_config(title="Repeat-class rate by period (%)", print_values=True, show_legend=False))
    chart.x_labels = [period_label(r["period"], metrics.filters.period) for r in metrics.repeats_by_period]
    chart.add(
        "Repeat rate",
        [None if r["rate"] in (None, SUPPRESSED) else round(r["rate"] * 100, 1) for r in metrics.repeats_by_period],
    )
    return _svg(chart)


def attach_charts(tables: dict[str, Table], metrics: Metrics) -> None:
    tables["trend"].chart = _trend_chart(metrics)
    tables["counts_severity"].chart = _stacked_counts_chart(tables["counts_severity"], "Incidents by severity")
    tables["counts_cause"].chart = _cause_totals_chart(tables["counts_cause"], metrics)
    tables["repeats"].chart = _repeat_chart(metrics)


def headline(metrics: Metrics) -> list[dict]:
    """The figures at the top of the page, each with its definition and what it leaves out."""
    figures = []
    for m in DURATION_METRICS:
        stat = metrics.overall.stats[m.key]
        figures.append(
            {
                "label": f"{m.label} (median)",
                "value": _duration(stat.median),
                "note": f"{stat.n} incidents; {stat.excluded} excluded: {m.missing}"
                if stat.excluded
                else f"{stat.n} incidents",
                "definition": m.definition,
            }
        )
    repeats, pm, ai = metrics.repeats, metrics.postmortems, metrics.action_items
    days = FORMATTERS["days"]
    figures += [
        {
            "label": "Repeat-class rate",
            "value": _percent(repeats["rate"]),
            "note": f"{repeats['confirmed_repeats']} of {repeats['incidents']} incidents",
            "definition": metrics.definitions["repeat_rate"],
        },
        {
            "label": "Postmortems published on time",
            "value": _percent(pm["on_time_rate"]),
            "note": f"{pm['on_time']} of {pm['required']} required; {pm['published']} published in all",
            "definition": metrics.definitions["postmortems"],
        },
        {
            "label": "Action items completed",
            "value": _percent(ai["completion_rate"]),
            "note": f"{ai['done']} of {ai['total']}; on time: {_percent(ai['on_time_rate'])}",
            "definition": metrics.definitions["action_items"],
        },
        {
            "label": "Action items overdue",
            "value": str(ai["overdue"]),
            "note": f"mean {days(ai['overdue_mean_days'])} past due, oldest {days(ai['overdue_max_days'])}",
            "definition": "Open, in progress or blocked past their due date.",
        },
    ]
    return figures


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
    metrics = incident_metrics(filters, user=request.user)
    tables = {table.name: table for table in metric_tables(metrics)}
    if request.GET.get("format") == "csv":
        table = tables.get(request.GET.get("table", ""))
        if table is None:
            raise Http404("No such table.")
        return _csv_response(table, metrics)
    attach_charts(tables, metrics)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    context = {
        "form": form,
        "metrics": metrics,
        "table_list": list(tables.values()),
        "headline": headline(metrics),
        "query": query.urlencode(),
    }
    return render(request, "metrics/metrics.html", context)
