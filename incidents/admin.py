from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from .forms import ChangeNeedsReasonMixin, reason_field, severity_problem
from .models import (
    INCIDENT_EDITABLE_FIELDS,
    ROLE_FIELDS,
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
from .services import (
    TIMELINE_EVENT_FIELDS,
    incident_create,
    incident_update,
    repeat_link_decide,
    timeline_event_add,
    timeline_event_delete,
    timeline_event_update,
)


def apply_each(modeladmin, request, objects, act, *, name_of, done: str) -> None:
    """An admin action's loop: ``act(obj)`` (a service call) for each object, each refusal
    (``PermissionDenied``, ``ValidationError``) shown by ``name_of(obj)``, then ``done``
    formatted with how many went through."""
    count = 0
    for obj in objects:
        try:
            act(obj)
        except (PermissionDenied, ValidationError) as refusal:
            text = " ".join(getattr(refusal, "messages", None) or [str(refusal)])
            modeladmin.message_user(request, f"{name_of(obj)}: {text}", messages.ERROR)
        else:
            count += 1
    if count:
        modeladmin.message_user(request, done.format(count), messages.SUCCESS)


class ReadOnlyAdminMixin:
    """History and records the workflow writes: shown, never written here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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


def save_timeline_event(request, event: TimelineEvent, changed: list[str]) -> None:
    """Write an admin's new or edited timeline event through the timeline services."""
    if event.pk is None:
        timeline_event_add(incident=event.incident, user=request.user, event=event)
    else:
        fields = {name: getattr(event, name) for name in changed if name in TIMELINE_EVENT_FIELDS}
        timeline_event_update(event, by=request.user, **fields)


class TimelineEventInline(admin.TabularInline):
    model = TimelineEvent
    extra = 1
    fields = ["occurred_at", "kind", "text", "author"]
    readonly_fields = ["author"]


class SeverityChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The severity history, written by changing the incident's severity (with a reason)."""

    model = SeverityChange
    extra = 0
    fields = ["changed_at", "from_severity", "to_severity", "changed_by", "reason"]
    readonly_fields = fields


class IncidentAdminForm(ChangeNeedsReasonMixin, forms.ModelForm):
    severity_change_reason = reason_field(
        "Why the severity changed",
        "Required when you change the severity of an existing incident; kept in its history.",
    )
    watched, reason, problem = "severity", "severity_change_reason", staticmethod(severity_problem)

    class Meta:
        model = Incident
        fields = "__all__"  # noqa: DJ007 - the admin narrows the fields with its fieldsets

    def service_fields(self) -> dict:
        """The cleaned values as ``incident_create``/``incident_update`` take them."""
        fields = {name: value for name, value in self.cleaned_data.items() if name != "severity_change_reason"}
        if self.instance.pk:
            fields["severity_reason"] = self.cleaned_data.get("severity_change_reason", "")
        return fields


def _duration_display(attribute: str, description: str):
    """A read-only admin field showing the incident's ``attribute`` (a duration) for people."""

    @admin.display(description=description)
    def display(modeladmin, obj: Incident) -> str:
        return format_duration(getattr(obj, attribute))

    return display


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
        ("Lifecycle", {"fields": [name for name in INCIDENT_EDITABLE_FIELDS if name.endswith("_at")]}),
        ("Durations", {"fields": ["ttd_display", "tta_display", "ttm_display", "ttr_display"]}),
        ("Roles", {"fields": [*ROLE_FIELDS, "created_by"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def save_model(self, request, obj: Incident, form, change: bool) -> None:
        # The same services as the pages and the API: the same checks, the same history.
        if change:
            incident_update(obj, by=request.user, **form.service_fields())
            return
        created = incident_create(by=request.user, **form.service_fields())
        obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change: bool) -> None:
        # The services set services, tags and failure classes; only the timeline is left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change: bool) -> None:
        for event in formset.save(commit=False):
            changed = next(f.changed_data for f in formset.forms if f.instance is event)
            save_timeline_event(request, event, changed)
        for event in formset.deleted_objects:
            timeline_event_delete(event, by=request.user)

    ttd_display = _duration_display("time_to_detect", "Time to detect")
    tta_display = _duration_display("time_to_acknowledge", "Time to acknowledge")
    ttm_display = _duration_display("time_to_mitigate", "Time to mitigate")
    ttr_display = _duration_display("time_to_resolve", "Time to resolve")


@admin.register(SeverityChange)
class SeverityChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The severity history, read-only: it is written by changing an incident's severity."""

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
    autocomplete_fields = ["incident"]
    readonly_fields = ["author"]

    def get_readonly_fields(self, request, obj=None):
        # An event stays on the timeline it was added to.
        return [*self.readonly_fields, "incident"] if obj else self.readonly_fields

    @admin.display(description="Text")
    def short_text(self, obj: TimelineEvent) -> str:
        return obj.text[:80]

    def save_model(self, request, obj: TimelineEvent, form, change: bool) -> None:
        save_timeline_event(request, obj, form.changed_data)

    def delete_model(self, request, obj: TimelineEvent) -> None:
        timeline_event_delete(obj, by=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for event in queryset.select_related("incident"):
            timeline_event_delete(event, by=request.user)


@admin.register(RepeatLink)
class RepeatLinkAdmin(admin.ModelAdmin):
    list_display = ["incident", "earlier", "score", "state", "decided_by", "decided_at"]
    list_select_related = ["incident", "earlier", "decided_by"]
    list_filter = ["state"]
    search_fields = ["incident__reference", "earlier__reference", "reason"]
    autocomplete_fields = ["incident", "earlier"]
    readonly_fields = ["state", "decided_by", "decided_at"]
    actions = ["confirm", "dismiss"]

    def _decide(self, request, queryset, state: str) -> None:
        apply_each(
            self,
            request,
            queryset.select_related("incident", "earlier"),
            lambda link: repeat_link_decide(link=link, user=request.user, state=state),
            name_of=str,
            done=RepeatLink.State(state).label + ": {} repeat link(s).",
        )

    @admin.action(description="Confirm the selected repeat links")
    def confirm(self, request, queryset) -> None:
        self._decide(request, queryset, RepeatLink.State.CONFIRMED)

    @admin.action(description="Dismiss the selected repeat links")
    def dismiss(self, request, queryset) -> None:
        self._decide(request, queryset, RepeatLink.State.DISMISSED)


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
