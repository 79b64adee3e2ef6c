"""Tracker connections (one per team) and the issue each action item is linked to."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from actions.models import ActionItem
from incidents.models import Team, TimeStampedModel

from . import crypto

GITHUB_API = "https://api.github.com"


class TrackerConnection(TimeStampedModel):
    """Where one team's action items become issues: a GitHub repository or a Jira project.

    The API token and the webhook secret are stored encrypted (``trackers.crypto``) and are
    never shown again: the admin asks for a new value and leaves the old one when left blank.
    """

    class Kind(models.TextChoices):
        GITHUB = "github", "GitHub"
        JIRA_CLOUD = "jira_cloud", "Jira Cloud"
        JIRA_DC = "jira_dc", "Jira Data Center"

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="tracker_connection")
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.GITHUB)
    repository = models.CharField(max_length=200, blank=True, help_text="GitHub: owner/name, e.g. acme/payments.")
    api_url = models.URLField(
        blank=True,
        verbose_name="API URL",
        help_text=f"GitHub: leave blank for {GITHUB_API} (GitHub Enterprise: its /api/v3).",
    )
    site_url = models.URLField(blank=True, verbose_name="Jira site", help_text="e.g. https://acme.atlassian.net")
    project_key = models.CharField(max_length=50, blank=True, help_text="Jira project key, e.g. OPS.")
    issue_type = models.CharField(max_length=100, blank=True, default="Task", help_text="Jira issue type name.")
    account_email = models.EmailField(
        blank=True,
        help_text="Jira Cloud: the account the API token belongs to. Data Center uses a personal access token alone.",
    )
    token_ciphertext = models.TextField(blank=True, editable=False)
    webhook_secret_ciphertext = models.TextField(blank=True, editable=False)
    create_on_publish = models.BooleanField(
        default=False, help_text="Create an issue for each of the team's action items when a postmortem is published."
    )
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=(
            "Closing and reopening from the tracker is recorded as this account "
            "(it must be allowed to change the team's items)."
        ),
    )
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["team__name"]

    def __str__(self) -> str:
        return f"{self.team} → {self.target}"

    def clean(self) -> None:
        if self.kind == self.Kind.GITHUB:
            owner, _, name = self.repository.partition("/")
            if not owner or not name or "/" in name:
                raise ValidationError({"repository": "Give the repository as owner/name."})
        else:
            errors = {f: "Jira needs this." for f in ("site_url", "project_key", "issue_type") if not getattr(self, f)}
            if self.kind == self.Kind.JIRA_CLOUD and not self.account_email:
                errors["account_email"] = "Jira Cloud API tokens belong to an account: give its email."
            if errors:
                raise ValidationError(errors)

    @property
    def is_github(self) -> bool:
        return self.kind == self.Kind.GITHUB

    @property
    def target(self) -> str:
        return self.repository if self.is_github else f"{self.site_url} {self.project_key}"

    @property
    def base_url(self) -> str:
        return (self.api_url or GITHUB_API if self.is_github else self.site_url).rstrip("/")

    @property
    def token(self) -> str:
        return crypto.decrypt(self.token_ciphertext)

    @token.setter
    def token(self, value: str) -> None:
        self.token_ciphertext = crypto.encrypt(value)

    @property
    def webhook_secret(self) -> str:
        return crypto.decrypt(self.webhook_secret_ciphertext)

    @webhook_secret.setter
    def webhook_secret(self, value: str) -> None:
        self.webhook_secret_ciphertext = crypto.encrypt(value)

    @property
    def has_token(self) -> bool:
        return bool(self.token_ciphertext)


class TrackerIssue(TimeStampedModel):
    """The issue an action item is linked to, and the state of the work that keeps them in step.

    The row is the claim: one per item (a second "create" finds it). The create job takes a
    lease with a conditional UPDATE, calls the tracker outside any transaction, and records
    the issue; a failure is kept here (and on the connection) and retried with backoff.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Being created"
        LINKED = "linked", "Linked"
        FAILED = "failed", "Failing, will retry"
        GONE = "gone", "Issue deleted or unreachable"

    item = models.OneToOneField(ActionItem, on_delete=models.CASCADE, related_name="tracker_issue")
    connection = models.ForeignKey(TrackerConnection, on_delete=models.CASCADE, related_name="issues")
    state = models.CharField(max_length=10, choices=State, default=State.PENDING)
    key = models.CharField(max_length=200, blank=True, help_text="acme/payments#12 or OPS-12.")
    remote_id = models.CharField(max_length=100, blank=True, help_text="The issue number (GitHub) or key (Jira).")
    url = models.URLField(max_length=500, blank=True)
    remote_closed = models.BooleanField(null=True, blank=True, help_text="Closed in the tracker, when last seen.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # When the tracker and this item last agreed on "closed", by a close there or one pushed from
    # here: reopening here after that, with the issue still closed, is a conflict that the
    # reconcile job records instead of undoing.
    closed_from_tracker_at = models.DateTimeField(null=True, blank=True)
    conflict_recorded_at = models.DateTimeField(null=True, blank=True)
    # The item's title, due date and state as the issue last got them (creation, linking, a push):
    # an item that differs is pushed to the tracker (trackers.services.push_issue).
    synced_title = models.CharField(max_length=300, blank=True)
    synced_due_date = models.DateField(null=True, blank=True)
    # Closed or open as both sides last agreed (None: not known yet). Unlike remote_closed (as last
    # seen there), it moves only when the item and the issue agree, so a close in the tracker
    # that could not be applied here is not pushed back as a reopen.
    synced_closed = models.BooleanField(null=True, blank=True)
    # Why the tracker refused the last push (a 4xx): shown to the item's editors, not retried
    # until the item changes again or someone asks.
    push_error = models.TextField(blank=True)
    push_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "key"], condition=~Q(key=""), name="tracker_issue_key_once"),
            models.CheckConstraint(condition=~Q(state="linked") | ~Q(url=""), name="tracker_issue_linked_has_url"),
        ]
        indexes = [models.Index(fields=["state", "retry_at"], name="tracker_issue_state_retry")]

    def __str__(self) -> str:
        return f"{self.item.reference} → {self.key or self.get_state_display()}"

    @property
    def tracker_name(self) -> str:
        return "GitHub" if self.connection.is_github else "Jira"
