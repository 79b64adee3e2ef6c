"""``/api/v1/metrics/``: the metrics page's figures as JSON, with the page's filters as query parameters."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .metrics import DURATION_METRICS, SUPPRESSED, DurationRow, Metrics, incident_metrics, period_label
from .metrics_views import MetricsFilterForm


def _durations(row: DurationRow) -> dict:
    return {
        m.key: {
            **row.stats[m.key].as_dict(),
            "excluded_because": m.missing,
            "suppressed": row.stats[m.key].n is SUPPRESSED,
        }
        for m in DURATION_METRICS
    }


def _groups(rows: list[DurationRow]) -> list[dict]:
    return [{"group": row.label, **_row(row)} for row in rows]


def _row(row: DurationRow) -> dict:
    return {"incidents": row.total, "suppressed": row.total is SUPPRESSED, **_durations(row)}


def _counts(counts: dict, metrics: Metrics) -> list[dict]:
    return [
        {
            "period": period_label(p, metrics.filters.period),
            "counts": counts.get(p, {}),
            "total": metrics.period_totals.get(p, 0),
            "suppressed": sorted(name for name, n in counts.get(p, {}).items() if n is SUPPRESSED),
        }
        for p in metrics.periods
    ]


def _figures(figures: dict) -> dict:
    return {**figures, "suppressed": [key for key, value in figures.items() if value is SUPPRESSED]}


def _nulls(value):
    """The JSON of a suppressed figure is null; the ``suppressed`` keys beside it say why."""
    if value is SUPPRESSED:
        return None
    if isinstance(value, dict):
        return {key: _nulls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nulls(item) for item in value]
    return value


def metrics_as_dict(metrics: Metrics) -> dict:
    """Durations in seconds, rates as fractions from 0 to 1 (null when there is nothing to divide, or
    when the figure is suppressed for the reader: see ``definitions.suppressed``)."""
    period = metrics.filters.period
    data = {
        "filters": metrics.filters.as_dict(),
        "time_zone": metrics.time_zone,
        "today": metrics.today.isoformat(),
        "definitions": metrics.definitions,
        "durations": {
            "overall": _row(metrics.overall),
            "by_period": [{"period": period_label(row.key, period), **_row(row)} for row in metrics.by_period],
            "by_severity": _groups(metrics.by_severity),
            "by_service": _groups(metrics.by_service),
            "by_cause_category": _groups(metrics.by_cause),
        },
        "incident_counts": {
            "by_severity": _counts(metrics.counts_by_severity, metrics),
            "by_cause_category": _counts(metrics.counts_by_cause, metrics),
        },
        "repeat_rate": {
            **_figures(metrics.repeats),
            "by_period": [
                {**_figures(row), "period": period_label(row["period"], period)} for row in metrics.repeats_by_period
            ],
        },
        "postmortems": _figures(metrics.postmortems),
        "action_items": _figures(metrics.action_items),
    }
    return _nulls(data)


class MetricsAPIView(APIView):
    """The figures of ``/metrics/`` for signed-in users. Query parameters: start, end (YYYY-MM-DD),
    team (slug), service (slug), severity (name), period (month or quarter)."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        form = MetricsFilterForm(request.query_params)
        if not form.is_valid():
            # The API's error shape (config.api_errors): detail, code and each field's messages.
            raise ValidationError({"non_field_errors" if k == "__all__" else k: v for k, v in form.errors.items()})
        return Response(metrics_as_dict(incident_metrics(form.to_filters(), user=request.user)))
