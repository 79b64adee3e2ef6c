"""Reusable filters for action items, including who may read and change them: the one place those rules live.

- Change an item: its owner, its postmortem's facilitator, the owner's team lead and
  admins. "The owner's team lead" is the lead of the item's team *or* of any team the
  owner belongs to: items are often filed under the team that suffered the incident
  while the owner sits in another, and both leads answer for the work.
- Read an item: anyone who may read its postmortem (``Postmortem.objects.visible_to``),
  and anyone who may change it, so an owner chased by email about an item of a draft or
  restricted postmortem can open it. Such readers see the item's own fields only; pages
  and emails show postmortem text only where ``postmortem_visible`` is true.
"""

from __future__ import annotations

from datetime import date

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.access import is_active_user, is_admin

OPEN_STATUSES = ("open", "in_progress", "blocked")


class ActionItemQuerySet(models.QuerySet):
    def open(self) -> ActionItemQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, today: date | None = None) -> ActionItemQuerySet:
        """Open items whose due date has passed."""
        return self.open().filter(due_date__lt=today or timezone.localdate())

    def for_list(self) -> ActionItemQuerySet:
        return self.select_related("owner", "team", "postmortem__incident__severity")

    def editable_by(self, user) -> ActionItemQuerySet:
        """Items ``user`` may change: owner, facilitator, the owner's team lead, admins."""
        if not is_active_user(user):
            return self.none()
        if is_admin(user):
            return self
        editors = self.model.objects.filter(
            Q(owner=user) | Q(postmortem__facilitator=user) | Q(team__lead=user) | Q(owner__teams__lead=user)
        )
        return self.filter(pk__in=editors.values("pk"))

    def visible_to(self, user) -> ActionItemQuerySet:
        """Items ``user`` may read: their postmortem is visible to them, or they may change the item."""
        from postmortems.models import Postmortem

        if not is_active_user(user):
            return self.none()
        visible = Postmortem.objects.visible_to(user).values("pk")
        return self.filter(Q(postmortem__in=visible) | Q(pk__in=self.model.objects.editable_by(user).values("pk")))

    def with_access(self, user) -> ActionItemQuerySet:
        """Annotate ``can_edit`` and ``postmortem_visible`` for ``user`` (in the same query)."""
        from postmortems.models import Postmortem

        editable = self.model.objects.editable_by(user).filter(pk=OuterRef("pk"))
        visible = Postmortem.objects.visible_to(user).filter(pk=OuterRef("postmortem_id"))
        return self.annotate(can_edit=Exists(editable), postmortem_visible=Exists(visible))
