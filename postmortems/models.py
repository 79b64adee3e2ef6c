"""Postmortems (one per incident) and their reviews."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models import Incident, Team, TimeStampedModel
from incidents.timestamps import validate_planned_date, validate_timestamp

from . import synonyms
from .markdown import validate_markdown_length
from .querysets import PostmortemQuerySet

# The standard sections, in the order the template shows them: (field, title).
SECTIONS = [
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("root_cause", "Root cause"),
    ("contributing_factors", "Contributing factors"),
    ("what_went_well", "What went well"),
    ("what_could_be_improved", "What could be improved"),
    ("where_we_got_lucky", "Where we got lucky"),
    ("lessons", "Lessons"),
]
SECTION_NAMES = [name for name, _ in SECTIONS]


def add_business_days(start: date, days: int) -> date:
    """The date ``days`` business days (Monday to Friday) after ``start``."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


class Postmortem(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    class Visibility(models.TextChoices):
        ORGANISATION = "organisation", "Organisation-wide"
        RESTRICTED = "restricted", "Restricted to teams"

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    status = models.CharField(max_length=20, choices=Status, default=Status.DRAFT)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="facilitated_postmortems"
    )
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="authored_postmortems", blank=True)
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="postmortems_to_review", blank=True)
    due_date = models.DateField(
        null=True,
        blank=True,
        validators=[validate_planned_date],
        help_text="Set from the incident's resolution and severity when left empty.",
    )

    summary = models.TextField(blank=True, validators=[validate_markdown_length])
    impact = models.TextField(blank=True, validators=[validate_markdown_length])
    root_cause = models.TextField(blank=True, validators=[validate_markdown_length])
    contributing_factors = models.TextField(blank=True, validators=[validate_markdown_length])
    what_went_well = models.TextField(blank=True, validators=[validate_markdown_length])
    what_could_be_improved = models.TextField(blank=True, validators=[validate_markdown_length])
    where_we_got_lucky = models.TextField(blank=True, validators=[validate_markdown_length])
    lessons = models.TextField(blank=True, validators=[validate_markdown_length])

    users_affected = models.PositiveIntegerField(null=True, blank=True)
    revenue_impact = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="Estimated, in the organisation's currency."
    )

    visibility = models.CharField(max_length=20, choices=Visibility, default=Visibility.ORGANISATION)
    teams = models.ManyToManyField(
        Team,
        related_name="postmortems",
        blank=True,
        help_text="Teams that may read a restricted postmortem and its internal sections.",
    )
    internal_sections = models.JSONField(
        default=list,
        blank=True,
        help_text="Section names shown as redacted to readers outside the postmortem's teams.",
    )

    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Raised on every edit, so two editors never silently overwrite each other."
    )
    submitted_at = models.DateTimeField(null=True, blank=True, validators=[validate_timestamp])
    published_at = models.DateTimeField(null=True, blank=True, validators=[validate_timestamp])
    external_id = models.CharField(
        max_length=200, blank=True, help_text="Its id in the archive it was imported from; a re-import updates it."
    )
    source_url = models.URLField(max_length=500, blank=True, verbose_name="source URL", help_text="Where it came from.")

    objects = PostmortemQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_date"], name="postmortem_status_due"),
            models.Index(fields=["-published_at"], name="postmortem_published"),
            # Who facilitates what, answered from the index alone (the reader rules ask it often).
            models.Index(fields=["facilitator", "id"], name="postmortem_facilitator_ids"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="postmortem_published_has_time",
                violation_error_message="A published postmortem needs its publication time.",
            ),
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="postmortem_external_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Postmortem for {self.incident}"

    def save(self, *args, **kwargs) -> None:
        if self.due_date is None:
            self.due_date = self.expected_due_date()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("postmortems:detail", args=[self.pk])

    def clean(self) -> None:
        unknown = [name for name in self.internal_sections or [] if name not in SECTION_NAMES]
        if unknown:
            raise ValidationError(
                {
                    "internal_sections": f"Unknown section(s): {', '.join(map(str, unknown))}. "
                    f"Choose from: {', '.join(SECTION_NAMES)}."
                }
            )
        if self.status == self.Status.PUBLISHED and not self.published_at:
            self.published_at = timezone.now()

    def expected_due_date(self) -> date | None:
        """Resolution date plus the severity's business days, when the severity requires one."""
        incident = self.incident
        days = incident.severity.postmortem_due_business_days
        if not (incident.resolved_at and incident.severity.requires_postmortem and days):
            return None
        resolved_local = timezone.localtime(incident.resolved_at).date()
        return add_business_days(resolved_local, days)

    @property
    def is_overdue(self) -> bool:
        return bool(self.due_date and self.status != self.Status.PUBLISHED and self.due_date < timezone.localdate())

    @property
    def duration(self):
        """How long users were affected, derived from the incident's timestamps."""
        return self.incident.impact_duration


class Review(TimeStampedModel):
    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REQUEST_CHANGES = "request_changes", "Request changes"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    decision = models.CharField(max_length=20, choices=Decision)
    comment = models.TextField(blank=True)
    postmortem_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The version of the postmortem that was reviewed."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reviewer} — {self.get_decision_display()} ({self.postmortem.incident.reference})"

    def clean(self) -> None:
        if self.decision == self.Decision.REQUEST_CHANGES and not self.comment.strip():
            raise ValidationError({"comment": "Say what should change when requesting changes."})


class PostmortemEvent(models.Model):
    """One step in a postmortem's life: who did what, when, from which state to which."""

    class Kind(models.TextChoices):
        CREATED = "created", "Started"
        EDITED = "edited", "Edited"
        SUBMITTED = "submitted", "Submitted for review"
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Requested changes"
        PUBLISHED = "published", "Published"
        AMENDED = "amended", "Amended"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=20, choices=Postmortem.Status, blank=True)
    to_status = models.CharField(max_length=20, choices=Postmortem.Status, blank=True)
    note = models.TextField(blank=True)
    postmortem_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["postmortem", "created_at"], name="postmortem_event_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor or 'system'} ({self.postmortem_id})"


class PostmortemSearchDocument(models.Model):
    """The archive's search entry for one postmortem, rebuilt by ``postmortems.search_index``.

    Text that readers outside the postmortem's teams may not see (internal sections) is
    kept apart in ``internal`` / ``internal_vector`` and searched only for readers with full
    access. On PostgreSQL the vectors carry the weights (A title, B summary, C body and
    internal sections, D timeline and action items) and have GIN indexes, created by the
    migration; on SQLite the text is mirrored into the FTS5 table ``postmortems_search_fts``.

    On PostgreSQL the table keeps its long values (text and the two big vectors) out of line
    (``toast_tuple_target``), so a search's first pass over many matches reads a narrow heap:
    ids, the copied fields and the small ``head_vector`` it ranks by.
    """

    postmortem = models.OneToOneField(
        Postmortem, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    title = models.TextField(blank=True, help_text="Reference, incident title and tags.")
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True, help_text="Impact, root cause, contributing factors, lessons.")
    extra = models.TextField(blank=True, help_text="Timeline text and action-item titles.")
    internal = models.TextField(blank=True, help_text="Sections marked internal: only for readers with full access.")
    has_internal = models.BooleanField(default=False, help_text="Whether ``internal`` holds any text.")
    # Copies of the postmortem's fields, so the search's first pass reads this table alone; the
    # page itself is always fetched through ``Postmortem.objects.visible_to``.
    status = models.CharField(max_length=20, choices=Postmortem.Status, default=Postmortem.Status.DRAFT)
    visibility = models.CharField(
        max_length=20, choices=Postmortem.Visibility, default=Postmortem.Visibility.ORGANISATION
    )
    published_at = models.DateTimeField(null=True, blank=True)
    head_vector = SearchVectorField(null=True, editable=False, help_text="Title (A) and public summary (B) only.")
    pairs_vector = SearchVectorField(
        null=True, editable=False, help_text="Each pair of adjacent words of the public text, for phrase searches."
    )
    full_pairs_vector = SearchVectorField(
        null=True, editable=False, help_text="With internal text: each pair of adjacent words of all the text."
    )
    public_vector = SearchVectorField(null=True, editable=False)
    internal_vector = SearchVectorField(null=True, editable=False)
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "search document"
        indexes = [models.Index(fields=["-published_at", "-postmortem"], name="postmortem_search_newest")]

    def __str__(self) -> str:
        return f"Search document for postmortem {self.postmortem_id}"


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class FeedToken(TimeStampedModel):
    """The secret in a user's personal Atom feed URL; regenerating it retires the old URL."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_token")
    token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)

    def __str__(self) -> str:
        return f"Feed token of {self.user}"

    @classmethod
    def for_user(cls, user) -> FeedToken:
        token, _ = cls.objects.get_or_create(user=user)
        return token

    def regenerate(self) -> None:
        self.token = new_feed_token()
        self.save(update_fields=["token", "updated_at"])


class SearchSynonym(TimeStampedModel):
    """A group of words and short phrases that mean the same in incident reports: the archive
    search finds each by the others, at query time (``postmortems.synonyms``), so an edit
    needs no reindex. Admins edit the groups in the admin."""

    terms = models.CharField(
        max_length=synonyms.MAX_GROUP_LENGTH,
        help_text="Words or short phrases that mean the same, separated by commas: lb, load balancer, load balancers.",
    )
    note = models.CharField(max_length=200, blank=True, help_text="Optional: why these belong together.")

    class Meta:
        ordering = ["terms"]
        verbose_name = "search synonym group"

    def __str__(self) -> str:
        return self.terms

    def clean(self) -> None:
        """The terms written the one way (lower case, ", " between them), each a word or a
        short phrase, in no other group."""
        terms = synonyms.split_terms(self.terms)
        errors = synonyms.term_errors(terms)
        if not errors:
            errors = self._terms_in_other_groups(terms)
        if errors:
            raise ValidationError({"terms": errors})
        self.terms = ", ".join(terms)

    def _terms_in_other_groups(self, terms: list[str]) -> list[str]:
        others = SearchSynonym.objects.exclude(pk=self.pk).values_list("terms", flat=True)
        group_of = {term: group for group in others for term in synonyms.split_terms(group)}
        return [
            f"“{term}” is already in the group “{group_of[term]}”: add the other words there, or take it out first."
            for term in terms
            if term in group_of
        ]
