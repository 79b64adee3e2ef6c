"""Action items, their change history, and the ledger of every message sent."""

from __future__ import annotations

import zoneinfo
from datetime import date
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from incidents.models import ReferenceSequence, Team, TimeStampedModel
from incidents.timestamps import validate_planned_date, validate_timestamp
from postmortems.models import Postmortem

from .querysets import OPEN_STATUSES, ActionItemQuerySet


class ActionItem(TimeStampedModel):
    class Kind(models.TextChoices):
        PREVENT = "prevent", "Prevent"
        DETECT = "detect", "Detect"
        MITIGATE = "mitigate", "Mitigate"
        PROCESS = "process", "Process"
        INVESTIGATE = "investigate", "Investigate"

    class Priority(models.TextChoices):
        P1 = "p1", "P1 – urgent"
        P2 = "p2", "P2 – high"
        P3 = "p3", "P3 – normal"
        P4 = "p4", "P4 – low"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        BLOCKED = "blocked", "Blocked"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    reference = models.CharField(max_length=20, unique=True, editable=False)
    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.PREVENT)
    priority = models.CharField(max_length=2, choices=Priority, default=Priority.P3)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="action_items"
    )
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="action_items")
    due_date = models.DateField(null=True, blank=True, validators=[validate_planned_date])
    status = models.CharField(max_length=20, choices=Status, default=Status.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False, validators=[validate_timestamp])
    resolution_note = models.TextField(
        blank=True, help_text="How it was done (and the evidence), or why it will not be done."
    )
    external_url = models.URLField(blank=True, verbose_name="external tracker URL", help_text="Jira, Linear, GitHub…")
    evidence_url = models.URLField(
        blank=True, verbose_name="evidence URL", help_text="The PR, alert or test that proves it shipped."
    )
    external_id = models.CharField(
        max_length=200, blank=True, help_text="Its id in the archive it was imported from; a re-import updates it."
    )
    source_url = models.URLField(max_length=500, blank=True, verbose_name="source URL", help_text="Where it came from.")
    unchased_due_date = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="The past due date it was imported with: the chase leaves it alone until the due date moves.",
    )

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            # Open items by due date: the chase job and every overdue board.
            models.Index(fields=["due_date"], condition=Q(status__in=OPEN_STATUSES), name="action_open_due"),
            models.Index(fields=["owner", "status", "due_date"], name="action_owner_status_due"),
            models.Index(fields=["team", "status", "due_date"], name="action_team_status_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="done") | Q(completed_at__isnull=False),
                name="action_done_has_completed_at",
                violation_error_message="A done item needs its completion time.",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=OPEN_STATUSES) | Q(completed_at__isnull=True),
                name="action_open_has_no_completed_at",
                violation_error_message="An open item cannot have a completion time.",
            ),
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="action_external_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}" if self.reference else self.title

    def save(self, *args, **kwargs) -> None:
        # completed_at is derived from status: set on completion, cleared on reopening.
        if self.status == self.Status.DONE and not self.completed_at:
            self.completed_at = timezone.now()
        elif self.status in OPEN_STATUSES:
            self.completed_at = None
        if self.reference:
            super().save(*args, **kwargs)
            return
        with transaction.atomic():
            self.reference = f"AI-{ReferenceSequence.next_value('AI'):04d}"
            super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.status == self.Status.DONE and not self.resolution_note.strip():
            raise ValidationError({"resolution_note": "Say how it was done (a link to the change helps)."})
        if self.status == self.Status.WONT_DO and not self.resolution_note.strip():
            raise ValidationError({"resolution_note": "Give the reason it will not be done."})

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def days_overdue(self, today: date | None = None) -> int:
        """Whole days past the due date for an open item; 0 when not overdue."""
        if not (self.is_open and self.due_date):
            return 0
        return max(0, ((today or timezone.localdate()) - self.due_date).days)

    @property
    def is_overdue(self) -> bool:
        return self.days_overdue() > 0

    def get_absolute_url(self) -> str:
        return reverse("actions:detail", args=[self.reference])


class ActionItemComment(models.Model):
    """A note on an action item from anyone who may read it."""

    item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.item.reference}: comment by {self.author or 'someone'}"


def default_time_zone() -> str:
    return settings.TIME_ZONE


def validate_time_zone(value: str) -> None:
    if value not in available_time_zones():
        raise ValidationError(f"“{value}” is not a known time zone (e.g. Europe/Berlin).")


@cache
def available_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class NotificationPreference(models.Model):
    """How one user wants their email: their time zone (for digests and reminders), digest
    opt-out, and which workflow messages they get.

    Users without a row get the defaults: the server's time zone, digests on, assignment and
    review emails on, publication emails off. Escalations and reminders always come.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    time_zone = models.CharField(max_length=64, default=default_time_zone, validators=[validate_time_zone])
    digest_opt_out = models.BooleanField(
        default=False, verbose_name="no weekly digest", help_text="Reminders and escalations still come."
    )
    email_assigned = models.BooleanField(
        default=True,
        verbose_name="when an action item is assigned to me",
        help_text="Not when you assign an item to yourself.",
    )
    email_review = models.BooleanField(
        default=True,
        verbose_name="when a reviewer approves or asks for changes on a postmortem I facilitate",
    )
    email_published = models.BooleanField(
        default=False, verbose_name="when a postmortem of one of my teams is published"
    )

    class Meta:
        indexes = [models.Index(fields=["time_zone"], name="notification_pref_zone")]

    def __str__(self) -> str:
        return f"Preferences of {self.user}"


class ActionItemChange(models.Model):
    """One change to an action item: who, when, and each field's old and new value."""

    item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    changes = models.JSONField(default=dict, help_text='{"field": ["old", "new"], ...}')
    note = models.TextField(blank=True, help_text="Why, e.g. the reason a due date moved.")
    # The item's first row: ``changes`` then holds its initial values (old value None).
    created = models.BooleanField(default=False)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        fields = ", ".join(self.changes) or "note"
        return f"{self.item.reference}: {fields} by {self.changed_by or 'system'}"


class Notification(models.Model):
    """The ledger of every reminder, escalation and digest.

    A row is claimed (created as pending) before sending and marked sent only once
    the mail server accepted the message. The unique key makes each message exist
    once, whatever retries or concurrent runs do. ``subject_key`` names what the
    message is about (an item's or postmortem's reference, or "" for a digest).
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Overdue reminder"
        ESCALATION = "escalation", "Escalation"
        DIGEST = "digest", "Weekly digest"
        TEAM_DIGEST = "team_digest", "Team digest"
        ORG_DIGEST = "org_digest", "Organisation digest"
        POSTMORTEM_DUE = "postmortem_due", "Postmortem due"
        REVIEW_REQUEST = "review_request", "Review request"
        REPEAT = "repeat", "Repeat incident"
        ASSIGNED = "assigned", "Item assigned"
        REVIEW_DECISION = "review_decision", "Review decision"
        PUBLISHED = "published", "Postmortem published"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        # The last attempt failed for a reason that may pass (the server down, a 4xx reply): retried.
        FAILED = "failed", "Failed"
        # The server refused it for good (a 5xx reply, e.g. no such recipient): never retried.
        REFUSED = "refused", "Refused"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    recipient_email = models.EmailField(help_text="The address used (a team or org address when no user).")
    kind = models.CharField(max_length=20, choices=Kind)
    item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications")
    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    subject_key = models.CharField(max_length=40, blank=True)
    period_key = models.CharField(max_length=40, help_text="e.g. 2026-W48, or the day a reminder is for.")
    subject = models.CharField(max_length=255, blank=True)
    # The message is rendered once, when the row is claimed, so every retry sends the same text.
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker is sending it until then; another may take over after."
    )
    retry_at = models.DateTimeField(
        null=True, blank=True, help_text="Its task is queued or waiting to retry until then; the sweep leaves it alone."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Which bulk claim created the row, so that claim enqueues exactly the rows it created.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_email", "kind", "subject_key", "period_key"], name="notification_once"
            ),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_at__isnull=False),
                name="notification_sent_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "created_at"], name="notification_state"),
            models.Index(fields=["claim_token"], condition=~Q(claim_token=""), name="notification_claim"),
        ]

    def __str__(self) -> str:
        about = f" {self.subject_key}" if self.subject_key else ""
        return f"{self.get_kind_display()}{about} to {self.recipient_email} ({self.period_key})"
