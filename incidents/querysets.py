from django.db import models
from django.db.models import DurationField, ExpressionWrapper, F

DURATIONS = {
    "ttd": ("started_at", "detected_at"),
    "tta": ("detected_at", "acknowledged_at"),
    "ttm": ("detected_at", "mitigated_at"),
    "ttr": ("detected_at", "resolved_at"),
}


class IncidentQuerySet(models.QuerySet):
    def with_durations(self) -> "IncidentQuerySet":
        """Annotate ttd/tta/ttm/ttr in the database (NULL when a timestamp is missing)."""
        return self.annotate(
            **{
                name: ExpressionWrapper(F(end) - F(start), output_field=DurationField())
                for name, (start, end) in DURATIONS.items()
            }
        )

    def visible_to(self, user) -> "IncidentQuerySet":
        """Incidents ``user`` may see; the rule lives with the postmortem permissions."""
        from postmortems.querysets import restrict_incidents

        return restrict_incidents(self, user)

    def open(self) -> "IncidentQuerySet":
        return self.exclude(status="resolved")

    def for_list(self) -> "IncidentQuerySet":
        return self.select_related("severity", "cause_category", "commander").prefetch_related("services")
