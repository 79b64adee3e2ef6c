from datetime import date

from django.db import models
from django.utils import timezone

OPEN_STATUSES = ("open", "in_progress", "blocked")


class ActionItemQuerySet(models.QuerySet):
    def open(self) -> "ActionItemQuerySet":
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, today: date | None = None) -> "ActionItemQuerySet":
        """Open items whose due date has passed."""
        return self.open().filter(due_date__lt=today or timezone.localdate())

    def for_list(self) -> "ActionItemQuerySet":
        return self.select_related("owner", "team", "postmortem__incident__severity")
