"""Teams, services, the severity and cause taxonomies, incidents and their history."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from taggit.managers import TaggableManager

from .querysets import IncidentQuerySet
from .timestamps import validate_timestamp


class TimeStampedModel(models.Model):
    """Abstract base: when a row was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ReferenceSequence(models.Model):
    """A named counter for human references (``INC-2026`` -> 42 gives ``INC-2026-0042``).

    Incrementing with ``UPDATE ... SET value = value + 1`` locks the row until the
    caller's transaction commits, so two concurrent creations never get one number.
    """

    name = models.CharField(max_length=32, unique=True)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {self.last_value}"

    @classmethod
    def next_value(cls, name: str) -> int:
        """Allocate the next number of the sequence ``name``; call inside the insert's transaction."""
        with transaction.atomic():
            cls.objects.get_or_create(name=name)
            cls.objects.filter(name=name).update(last_value=F("last_value") + 1)
            return cls.objects.values_list("last_value", flat=True).get(name=name)


class Team(TimeStampedModel):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_teams",
    )
    digest_email = models.EmailField(blank=True, help_text="Where the team's weekly digest goes, besides its lead.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(TimeStampedModel):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services", verbose_name="owning team")
    runbook_url = models.URLField(blank=True, verbose_name="runbook URL")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Severity(models.Model):
    """One level of the severity taxonomy; level 1 is the most severe."""

    name = models.CharField(max_length=20, unique=True, help_text="Short name, e.g. SEV1.")
    level = models.PositiveSmallIntegerField(unique=True, help_text="1 is the most severe.")
    label = models.CharField(max_length=50, help_text="e.g. Critical.")
    criteria = models.TextField(help_text="When to declare an incident at this level.")
    response_time = models.CharField(max_length=100, help_text="How fast responders engage.")
    update_cadence = models.CharField(max_length=100, blank=True, help_text="How often stakeholders get updates.")
    requires_postmortem = models.BooleanField(default=False)
    postmortem_due_business_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Business days after resolution by which the postmortem must be published.",
    )

    class Meta:
        ordering = ["level"]
        verbose_name_plural = "severities"

    def __str__(self) -> str:
        return f"{self.name} ({self.label})"

    def clean(self) -> None:
        if self.requires_postmortem and not self.postmortem_due_business_days:
            raise ValidationError(
                {"postmortem_due_business_days": "Say within how many business days the postmortem is due."}
            )


class CauseCategory(models.Model):
    """A class of failure (config change, deploy, capacity, ...)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "cause categories"

    def __str__(self) -> str:
        return self.name


class FailureClass(models.Model):
    """A failure mode (expired certificate, config push, DNS, ...): finer than the cause category,
    and what makes two incidents of different teams and years the same class of failure.

    ``keywords`` lets the repeat detector suggest classes from an incident's text: one rule a line;
    a rule's terms are joined by ``+`` and must all occur in one sentence; ``|`` separates
    alternatives; a term matches the start of a word (``expir`` matches expired and expiry).
    """

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    keywords = models.TextField(
        blank=True,
        help_text="One rule a line, e.g. “certificate|cert|tls + expir|renew”: terms joined by + must all occur "
        "in one sentence, | separates alternatives, and a term matches the start of a word.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "failure classes"

    def __str__(self) -> str:
        return self.name


# (earlier field, later field, message): the lifecycle's order, checked by clean()
# and, where both are set, by a database constraint.
TIMESTAMP_ORDER = [
    ("started_at", "detected_at", "Detected time cannot be before the time impact started."),
    ("started_at", "declared_at", "Declared time cannot be before the time impact started."),
    ("detected_at", "acknowledged_at", "Acknowledged time cannot be before detected time."),
    ("detected_at", "mitigated_at", "Mitigated time cannot be before detected time."),
    ("detected_at", "resolved_at", "Resolved time cannot be before detected time."),
    ("started_at", "resolved_at", "Resolved time cannot be before the time impact started."),
    ("mitigated_at", "resolved_at", "Resolved time cannot be before mitigated time."),
]


def _order_constraint(earlier: str, later: str, message: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{earlier}__isnull": True})
        | Q(**{f"{later}__isnull": True})
        | Q(**{f"{later}__gte": F(earlier)}),
        name=f"incident_{later}_after_{earlier}",
        violation_error_message=message,
    )


# The fields people write when declaring or editing an incident (the web form and the API),
# in the order forms show them; ``severity_reason`` is not a field but asked beside severity.
INCIDENT_EDITABLE_FIELDS = [
    "title",
    "summary",
    "severity",
    "status",
    "services",
    "cause_category",
    "trigger",
    "customer_facing",
    "tags",
    "started_at",
    "detected_at",
    "acknowledged_at",
    "declared_at",
    "mitigated_at",
    "resolved_at",
    "commander",
    "operations_lead",
    "communications_lead",
    "scribe",
]
ROLE_FIELDS = ["commander", "operations_lead", "communications_lead", "scribe"]


class Incident(TimeStampedModel):
    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MITIGATING = "mitigating", "Mitigating"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    class Trigger(models.TextChoices):
        CHANGE = "change", "Change-related"
        AMBIENT = "ambient", "Ambient"
        UNKNOWN = "unknown", "Not yet known"

    reference = models.CharField(max_length=20, unique=True, editable=False)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    severity = models.ForeignKey(Severity, on_delete=models.PROTECT, related_name="incidents")
    status = models.CharField(max_length=20, choices=Status, default=Status.INVESTIGATING)
    services = models.ManyToManyField(Service, related_name="incidents", blank=True)
    cause_category = models.ForeignKey(
        CauseCategory, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )
    failure_classes = models.ManyToManyField(
        FailureClass,
        related_name="incidents",
        blank=True,
        help_text="The failure modes it shows; the repeat detector suggests them from the text when none is set.",
    )
    trigger = models.CharField(
        max_length=10,
        choices=Trigger,
        default=Trigger.UNKNOWN,
        help_text="Whether a change (deploy, config, migration) set it off, or it arose on its own.",
    )
    customer_facing = models.BooleanField(default=False)
    tags = TaggableManager(blank=True)

    started_at = models.DateTimeField(
        null=True, blank=True, validators=[validate_timestamp], help_text="When impact began."
    )
    detected_at = models.DateTimeField(
        null=True, blank=True, validators=[validate_timestamp], help_text="When an alert fired or someone noticed."
    )
    acknowledged_at = models.DateTimeField(
        null=True, blank=True, validators=[validate_timestamp], help_text="When a responder took it on."
    )
    declared_at = models.DateTimeField(
        default=timezone.now, validators=[validate_timestamp], help_text="When it was declared an incident."
    )
    mitigated_at = models.DateTimeField(
        null=True, blank=True, validators=[validate_timestamp], help_text="When user impact stopped."
    )
    resolved_at = models.DateTimeField(
        null=True, blank=True, validators=[validate_timestamp], help_text="When the incident was closed."
    )

    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="incident commander",
    )
    operations_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    communications_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scribe = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    alert_group_key = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        editable=False,
        help_text="The alert group (e.g. Alertmanager's groupKey) that opened it; later alerts of the group update it.",
    )
    external_id = models.CharField(
        max_length=200, blank=True, help_text="Its id in the archive it was imported from; a re-import updates it."
    )
    source_url = models.URLField(max_length=500, blank=True, verbose_name="source URL", help_text="Where it came from.")

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-declared_at", "-id"]
        indexes = [
            models.Index(fields=["severity", "-declared_at"], name="incident_severity_declared"),
            models.Index(fields=["status", "-declared_at"], name="incident_status_declared"),
            models.Index(fields=["-declared_at"], name="incident_declared"),
            models.Index(fields=["resolved_at"], name="incident_resolved"),
        ]
        constraints = [_order_constraint(*row) for row in TIMESTAMP_ORDER] + [
            models.CheckConstraint(
                condition=~Q(status="resolved") | Q(resolved_at__isnull=False),
                name="incident_resolved_has_time",
                violation_error_message="A resolved incident needs its resolved time.",
            ),
            # At most one open incident per alert group, even when two webhook deliveries race.
            models.UniqueConstraint(
                fields=["alert_group_key"],
                condition=~Q(alert_group_key="") & ~Q(status="resolved"),
                name="incident_one_open_per_alert_group",
            ),
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="incident_external_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}" if self.reference else self.title

    def save(self, *args, **kwargs) -> None:
        if not self.reference:
            with transaction.atomic():
                year = (self.declared_at or timezone.now()).year
                number = ReferenceSequence.next_value(f"INC-{year}")
                self.reference = f"INC-{year}-{number:04d}"
                super().save(*args, **kwargs)
            return
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", args=[self.reference])

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for earlier, later, message in TIMESTAMP_ORDER:
            a, b = getattr(self, earlier), getattr(self, later)
            if a and b and b < a:
                errors.setdefault(later, []).append(message)
        if self.status == self.Status.RESOLVED and not self.resolved_at:
            errors.setdefault("resolved_at", []).append("A resolved incident needs its resolved time.")
        if self.resolved_at and self.status != self.Status.RESOLVED:
            errors.setdefault("status", []).append("An incident with a resolved time must have status Resolved.")
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _between(start, end) -> timedelta | None:
        return end - start if start and end else None

    @property
    def time_to_detect(self) -> timedelta | None:
        """Detected − started; None when either is missing."""
        return self._between(self.started_at, self.detected_at)

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        """Acknowledged − detected."""
        return self._between(self.detected_at, self.acknowledged_at)

    @property
    def time_to_mitigate(self) -> timedelta | None:
        """Mitigated − detected."""
        return self._between(self.detected_at, self.mitigated_at)

    @property
    def time_to_resolve(self) -> timedelta | None:
        """Resolved − detected."""
        return self._between(self.detected_at, self.resolved_at)

    @property
    def impact_duration(self) -> timedelta | None:
        """How long users were affected: started (or detected) to mitigated (or resolved)."""
        return self._between(self.started_at or self.detected_at, self.mitigated_at or self.resolved_at)


class SeverityChange(models.Model):
    """A change of an incident's severity, with who, when and why."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="severity_changes")
    from_severity = models.ForeignKey(Severity, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    to_severity = models.ForeignKey(Severity, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now, validators=[validate_timestamp])
    reason = models.TextField()

    class Meta:
        ordering = ["changed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_severity=F("to_severity")),
                name="severity_change_changes",
                violation_error_message="A severity change must change the severity.",
            )
        ]

    def __str__(self) -> str:
        old = self.from_severity.name if self.from_severity else "—"
        return f"{self.incident.reference}: {old} → {self.to_severity.name}"


class TimelineEvent(models.Model):
    class Kind(models.TextChoices):
        DETECTION = "detection", "Detection"
        ESCALATION = "escalation", "Escalation"
        ACTION = "action", "Action"
        COMMUNICATION = "communication", "Communication"
        MITIGATION = "mitigation", "Mitigation"
        RESOLUTION = "resolution", "Resolution"
        NOTE = "note", "Note"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline_events")
    occurred_at = models.DateTimeField(validators=[validate_timestamp])
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.NOTE)
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["incident", "occurred_at"], name="timeline_incident_time")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.get_kind_display()}: {self.text[:60]}"


class RepeatLink(TimeStampedModel):
    """A suggestion (or decision) that ``incident`` repeats the class of failure of ``earlier``."""

    class State(models.TextChoices):
        SUGGESTED = "suggested", "Suggested"
        CONFIRMED = "confirmed", "Confirmed"
        DISMISSED = "dismissed", "Dismissed"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="repeat_links")
    earlier = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="repeated_by_links")
    score = models.FloatField(help_text="Similarity from 0 to 1.")
    reason = models.TextField(help_text="Why the two look like the same class of failure.")
    state = models.CharField(max_length=10, choices=State, default=State.SUGGESTED)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True, validators=[validate_timestamp])

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "earlier"], name="repeat_link_unique_pair"),
            models.CheckConstraint(
                condition=~Q(incident=F("earlier")),
                name="repeat_link_not_self",
                violation_error_message="An incident cannot repeat itself.",
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=1),
                name="repeat_link_score_range",
                violation_error_message="The score must be between 0 and 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident.reference} repeats {self.earlier.reference} ({self.get_state_display()})"


class ApiToken(models.Model):
    """A personal token for the REST API (``Authorization: Bearer <key>``).

    Only the SHA-256 of the key is stored: the key is shown once, when it is created,
    and a database leak does not leak usable keys. ``prefix`` (the key's first
    characters) lets its owner tell tokens apart.
    """

    PREFIX_LENGTH = 12

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. “Jira sync”.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, validators=[validate_timestamp])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
