from django import forms
from django.contrib import admin
from django.utils import timezone

from .models import (
    ApiToken,
    CauseCategory,
    FailureClass,
    Incident,
    ReferenceSequence,
    RepeatLink,
    Service,
    Severity,
    SeverityChange,
    Team,
    TimelineEvent,
)
from .services import incident_save_with_severity_history


def format_duration(value) -> str:
    """A timedelta as "2 h 05 min" (or "—" when unknown)."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h {minutes:02d} min"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ["name", "slug", "runbook_url"]
    prepopulated_fields = {"slug": ["name"]}
    show_change_link = True


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead", "member_count", "digest_email"]
    list_select_related = ["lead"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["lead"]
    filter_horizontal = ["members"]
    inlines = [ServiceInline]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_members=Count("members", distinct=True))

    @admin.display(description="Members", ordering="_members")
    def member_count(self, obj: Team) -> int:
        return obj._members


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "runbook_url"]
    list_select_related = ["team"]
    list_filter = ["team"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["team"]


@admin.register(Severity)
class SeverityAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "label",
        "level",
        "response_time",
        "update_cadence",
        "requires_postmortem",
        "postmortem_due_business_days",
    ]
    list_editable = ["requires_postmortem", "postmortem_due_business_days"]
    search_fields = ["name", "label"]


@admin.register(FailureClass)
class FailureClassAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "description"]
    search_fields = ["name", "slug", "description", "keywords"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(CauseCategory)
class CauseCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "description"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class TimelineEventInline(admin.TabularInline):
    model = TimelineEvent
    extra = 1
    fields = ["occurred_at", "kind", "text", "author"]
    autocomplete_fields = ["author"]


class SeverityChangeInline(admin.TabularInline):
    model = SeverityChange
    extra = 0
    fields = ["changed_at", "from_severity", "to_severity", "changed_by", "reason"]
    autocomplete_fields = ["changed_by"]


class IncidentAdminForm(forms.ModelForm):
    severity_change_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why the severity changed",
        help_text="Required when you change the severity of an existing incident; kept in its history.",
    )

    class Meta:
        model = Incident
        fields = "__all__"  # noqa: DJ007 - the admin narrows the fields with its fieldsets

    def clean(self):
        cleaned = super().clean()
        if (
            self.instance.pk
            and "severity" in self.changed_data
            and not cleaned.get("severity_change_reason", "").strip()
        ):
            self.add_error("severity_change_reason", "Say why the severity changed.")
        return cleaned


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    form = IncidentAdminForm
    list_display = [
        "reference",
        "title",
        "severity",
        "status",
        "cause_category",
        "declared_at",
        "commander",
        "ttr_display",
    ]
    list_select_related = ["severity", "cause_category", "commander"]
    list_filter = [
        "severity",
        "status",
        "cause_category",
        "failure_classes",
        "trigger",
        "customer_facing",
        "services__team",
        "services",
    ]
    search_fields = ["reference", "title", "summary"]
    date_hierarchy = "declared_at"
    filter_horizontal = ["failure_classes"]
    autocomplete_fields = ["services", "commander", "operations_lead", "communications_lead", "scribe"]
    readonly_fields = [
        "reference",
        "created_by",
        "ttd_display",
        "tta_display",
        "ttm_display",
        "ttr_display",
        "created_at",
        "updated_at",
    ]
    inlines = [SeverityChangeInline, TimelineEventInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reference",
                    "title",
                    "summary",
                    "severity",
                    "severity_change_reason",
                    "status",
                    "services",
                    "tags",
                ]
            },
        ),
        ("Classification", {"fields": ["cause_category", "failure_classes", "trigger", "customer_facing"]}),
        (
            "Lifecycle",
            {
                "fields": [
                    "started_at",
                    "detected_at",
                    "acknowledged_at",
                    "declared_at",
                    "mitigated_at",
                    "resolved_at",
                ]
            },
        ),
        ("Durations", {"fields": ["ttd_display", "tta_display", "ttm_display", "ttr_display"]}),
        ("Roles", {"fields": ["commander", "operations_lead", "communications_lead", "scribe", "created_by"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def save_model(self, request, obj: Incident, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        previous = Incident.objects.get(pk=obj.pk).severity if change and "severity" in form.changed_data else None
        incident_save_with_severity_history(
            incident=obj, previous=previous, user=request.user, reason=form.cleaned_data["severity_change_reason"]
        )

    def save_formset(self, request, form, formset, change: bool) -> None:
        # Record who made a severity change or wrote an event when the admin leaves it blank.
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, SeverityChange) and instance.changed_by_id is None:
                instance.changed_by = request.user
            if isinstance(instance, TimelineEvent) and instance.author_id is None:
                instance.author = request.user
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()

    @admin.display(description="Time to detect")
    def ttd_display(self, obj: Incident) -> str:
        return format_duration(obj.time_to_detect)

    @admin.display(description="Time to acknowledge")
    def tta_display(self, obj: Incident) -> str:
        return format_duration(obj.time_to_acknowledge)

    @admin.display(description="Time to mitigate")
    def ttm_display(self, obj: Incident) -> str:
        return format_duration(obj.time_to_mitigate)

    @admin.display(description="Time to resolve")
    def ttr_display(self, obj: Incident) -> str:
        return format_duration(obj.time_to_resolve)


@admin.register(SeverityChange)
class SeverityChangeAdmin(admin.ModelAdmin):
    list_display = ["incident", "from_severity", "to_severity", "changed_by", "changed_at"]
    list_select_related = ["incident", "from_severity", "to_severity", "changed_by"]
    list_filter = ["to_severity"]
    search_fields = ["incident__reference", "incident__title", "reason"]
    date_hierarchy = "changed_at"
    autocomplete_fields = ["incident", "changed_by"]


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "incident", "kind", "short_text", "author"]
    list_select_related = ["incident", "author"]
    list_filter = ["kind"]
    search_fields = ["incident__reference", "text"]
    date_hierarchy = "occurred_at"
    autocomplete_fields = ["incident", "author"]

    @admin.display(description="Text")
    def short_text(self, obj: TimelineEvent) -> str:
        return obj.text[:80]


@admin.register(RepeatLink)
class RepeatLinkAdmin(admin.ModelAdmin):
    list_display = ["incident", "earlier", "score", "state", "decided_by", "decided_at"]
    list_select_related = ["incident", "earlier", "decided_by"]
    list_filter = ["state"]
    search_fields = ["incident__reference", "earlier__reference", "reason"]
    autocomplete_fields = ["incident", "earlier", "decided_by"]
    readonly_fields = ["decided_at"]

    def save_model(self, request, obj: RepeatLink, form, change: bool) -> None:
        if "state" in form.changed_data and obj.state != RepeatLink.State.SUGGESTED:
            obj.decided_by = request.user
            obj.decided_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(ReferenceSequence)
class ReferenceSequenceAdmin(admin.ModelAdmin):
    list_display = ["name", "last_value"]
    readonly_fields = ["name"]
    search_fields = ["name"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by their users at /api/tokens/ (the key is shown once there);
    admins see who holds which and may revoke one."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at"]
    fields = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request) -> bool:
        return False
