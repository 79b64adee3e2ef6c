from django.db import models
from django.db.models import DurationField, ExpressionWrapper, F, Q

from accounts.access import is_active_user, is_admin

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

    def responder_ids(self, user) -> models.QuerySet:
        """Ids of the incidents that are ``user``'s own: they command it, hold a role, declared
        it, or belong to a team owning one of its services. A union of indexed lookups (an OR
        across these joins makes the database scan every incident)."""

        def ids(**lookup):
            return self.model.objects.filter(**lookup).order_by().values("pk")

        owning_teams = self.model.services.through.objects.filter(service__team__members=user)
        return ids(commander=user).union(
            ids(operations_lead=user),
            ids(communications_lead=user),
            ids(scribe=user),
            ids(created_by=user),
            owning_teams.order_by().values("incident_id"),
            all=True,
        )

    def editable_by(self, user) -> "IncidentQuerySet":
        """Incidents ``user`` may edit: their own (``responder_ids``), which they always see
        however the postmortem is restricted; admins edit all. Starting the postmortem is an
        edit of the incident."""
        if not is_active_user(user):
            return self.none()
        if is_admin(user):
            return self
        return self.filter(pk__in=self.responder_ids(user))

    def timeline_editable_by(self, user) -> "IncidentQuerySet":
        """Incidents whose timeline ``user`` may edit: those they may edit, and those whose
        postmortem they may edit (facilitators and authors work on the timeline too)."""
        from postmortems.models import Postmortem

        postmortem_editors = Postmortem.objects.editable_by(user).values("incident_id")
        return self.visible_to(user).filter(
            Q(pk__in=self.editable_by(user).values("pk")) | Q(pk__in=postmortem_editors)
        )

    def open(self) -> "IncidentQuerySet":
        return self.exclude(status="resolved")

    def for_list(self) -> "IncidentQuerySet":
        return self.select_related("severity", "cause_category", "commander").prefetch_related("services")
