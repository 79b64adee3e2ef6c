"""``/api/v1/metrics/``: the metrics page's figures as JSON, with the page's filters as query parameters."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .metrics import DURATION_METRICS, DurationRow, Metrics, incident_metrics, period_label
from .metrics_views import MetricsFilterForm


def _durations(row: DurationRow) -> dict:
    return {m.key: {**row.stats[m.key].as_dict(), "excluded_because": m.missing} for m in DURATION_METRICS}


def _groups(rows: list[DurationRow]) -> list[dict]:
    return [{"group": row.label, "incidents": row.total, **_durations(row)} for row in rows]


def _counts(counts: dict, metrics: Metrics) -> list[dict]:
    return [
        {
            "period": period_label(p, metrics.filters.period),
            "counts": counts.get(p, {}),
            "total": sum(counts.get(p, {}).values()),
        }
        for p in metrics.periods
    ]


def metrics_as_dict(metrics: Metrics) -> dict:
    """Durations in seconds, rates as fractions from 0 to 1 (null when there is nothing to divide)."""
    period = metrics.filters.period
    return {
        "filters": metrics.filters.as_dict(),
        "time_zone": metrics.time_zone,
        "today": metrics.today.isoformat(),
        "definitions": metrics.definitions,
        "durations": {
            "overall": {"incidents": metrics.overall.total, **_durations(metrics.overall)},
            "by_period": [
                {"period": period_label(row.key, period), "incidents": row.total, **_durations(row)}
                for row in metrics.by_period
            ],
            "by_severity": _groups(metrics.by_severity),
            "by_service": _groups(metrics.by_service),
            "by_cause_category": _groups(metrics.by_cause),
        },
        "incident_counts": {
            "by_severity": _counts(metrics.counts_by_severity, metrics),
            "by_cause_category": _counts(metrics.counts_by_cause, metrics),
        },
        "repeat_rate": {
            **metrics.repeats,
            "by_period": [{**row, "period": period_label(row["period"], period)} for row in metrics.repeats_by_period],
        },
        "postmortems": metrics.postmortems,
        "action_items": metrics.action_items,
    }


class MetricsAPIView(APIView):
    """The figures of ``/metrics/`` for signed-in users. Query parameters: start, end (YYYY-MM-DD),
    team (slug), service (slug), severity (name), period (month or quarter)."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        form = MetricsFilterForm(request.query_params)
        if not form.is_valid():
            # The API's error shape (config.api_errors): detail, code and each field's messages.
            raise ValidationError({"non_field_errors" if k == "__all__" else k: v for k, v in form.errors.items()})
        return Response(metrics_as_dict(incident_metrics(form.to_filters())))
