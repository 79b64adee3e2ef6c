from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts import access
from actions.models import ActionItem
from incidents.admin import ReadOnlyAdminMixin, apply_each, format_duration

from .models import SECTIONS, FeedToken, Postmortem, PostmortemEvent, PostmortemSearchDocument, Review, SearchSynonym
from .services import (
    M2M_FIELDS,
    PLAIN_FIELDS,
    SETUP_FIELDS,
    postmortem_publish,
    postmortem_set_up,
    postmortem_start,
    postmortem_submit,
    postmortem_update,
    validate_postmortem_data,
)


class PostmortemAdminForm(forms.ModelForm):
    internal_sections = forms.MultipleChoiceField(
        choices=SECTIONS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Shown as redacted to readers outside the postmortem's teams.",
    )

    class Meta:
        model = Postmortem
        fields = "__all__"  # noqa: DJ007 - the admin narrows the fields with its fieldsets

    def clean(self):
        cleaned = super().clean()
        if "visibility" in self.fields:
            try:
                validate_postmortem_data(cleaned)  # the editor's rules (a restricted postmortem names its teams, ...)
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


class ReviewInline(ReadOnlyAdminMixin, admin.StackedInline):
    """Reviews are given by the reviewers on the postmortem's page."""

    model = Review
    extra = 0
    fields = ["reviewer", "decision", "comment", "postmortem_version", "created_at"]
    readonly_fields = fields


class PostmortemEventInline(admin.TabularInline):
    model = PostmortemEvent
    extra = 0
    fields = ["created_at", "kind", "actor", "from_status", "to_status", "postmortem_version", "note"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ActionItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Items are added and changed on their own admin page, through the action-item services."""

    model = ActionItem
    extra = 0
    fields = ["reference", "title", "kind", "priority", "owner", "team", "due_date", "status", "external_url"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Postmortem)
class PostmortemAdmin(admin.ModelAdmin):
    form = PostmortemAdminForm
    list_display = ["incident", "severity", "status", "facilitator", "due_date", "visibility", "published_at"]
    list_select_related = ["incident__severity", "facilitator"]
    list_filter = ["status", "visibility", "incident__severity", "teams"]
    search_fields = ["incident__reference", "incident__title", "summary", "root_cause"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["incident", "facilitator", "authors", "reviewers", "teams"]
    # The workflow's fields change only through the admin actions, which call the services.
    readonly_fields = [
        "status",
        "submitted_at",
        "published_at",
        "version",
        "impact_duration",
        "created_at",
        "updated_at",
    ]
    inlines = [ReviewInline, ActionItemInline, PostmortemEventInline]
    actions = ["submit_for_review", "publish"]
    fieldsets = [
        (None, {"fields": ["incident", "status", "facilitator", "authors", "reviewers", "due_date"]}),
        ("Visibility", {"fields": ["visibility", "teams", "internal_sections"]}),
        ("Impact", {"fields": ["users_affected", "revenue_impact", "impact_duration"]}),
        ("Sections", {"fields": [name for name, _ in SECTIONS]}),
        ("Record", {"fields": ["version", "submitted_at", "published_at", "created_at", "updated_at"]}),
    ]

    @admin.display(description="Severity", ordering="incident__severity__level")
    def severity(self, obj: Postmortem) -> str:
        return obj.incident.severity.name

    @admin.display(description="Duration of impact")
    def impact_duration(self, obj: Postmortem) -> str:
        return format_duration(obj.duration) if obj.pk else "—"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        if obj.status == Postmortem.Status.PUBLISHED:
            # A published postmortem is amended in its editor, which asks what changed and why.
            return [name for _, options in self.fieldsets for name in options["fields"]]
        return [*self.readonly_fields, "incident"]

    def save_model(self, request, obj: Postmortem, form, change: bool) -> None:
        # The services the pages call: started with its CREATED event, edited with its EDITED one.
        if not change:
            started = postmortem_start(incident=form.cleaned_data["incident"], user=request.user)
            obj.pk = started.pk
            obj.refresh_from_db()
        data = {name: form.cleaned_data[name] for name in [*PLAIN_FIELDS, *M2M_FIELDS] if name in form.cleaned_data}
        postmortem_update(postmortem=obj, user=request.user, data=data, expected_version=obj.version)
        setup = {name: form.cleaned_data[name] for name in SETUP_FIELDS if name in form.changed_data}
        if setup:
            postmortem_set_up(postmortem=obj, user=request.user, values=setup)
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change: bool) -> None:
        # The services set authors, reviewers and teams (the inlines are read-only).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def _transition(self, request, queryset, service, done: str) -> None:
        apply_each(
            self,
            request,
            queryset.select_related("incident"),
            lambda postmortem: service(postmortem=postmortem, user=request.user),
            name_of=lambda postmortem: postmortem.incident.reference,
            done=done + ": {} postmortem(s).",
        )

    @admin.action(description="Submit the selected postmortems for review")
    def submit_for_review(self, request, queryset) -> None:
        self._transition(request, queryset, postmortem_submit, "Submitted for review")

    @admin.action(description="Publish the selected postmortems")
    def publish(self, request, queryset) -> None:
        self._transition(request, queryset, postmortem_publish, "Published")


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Reviews are given by the reviewers on the postmortem's page."""

    list_display = ["postmortem", "reviewer", "decision", "created_at"]
    list_select_related = ["postmortem__incident", "reviewer"]
    list_filter = ["decision"]
    search_fields = ["postmortem__incident__reference", "comment"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["postmortem", "reviewer"]


@admin.register(PostmortemEvent)
class PostmortemEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "postmortem", "kind", "actor", "from_status", "to_status"]
    list_select_related = ["postmortem__incident", "actor"]
    list_filter = ["kind"]
    search_fields = ["postmortem__incident__reference", "note"]
    date_hierarchy = "created_at"
    readonly_fields = ["postmortem", "kind", "actor", "from_status", "to_status", "note", "postmortem_version"]


@admin.register(PostmortemSearchDocument)
class PostmortemSearchDocumentAdmin(admin.ModelAdmin):
    """The search index's text, for checking what a postmortem is found by; kept current
    automatically (``manage.py rebuild_search_index`` rebuilds it)."""

    list_display = ["postmortem", "has_internal", "indexed_at"]
    list_select_related = ["postmortem__incident"]
    search_fields = ["postmortem__incident__reference", "title"]
    fields = ["postmortem", "title", "summary", "body", "extra", "internal", "has_internal", "indexed_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(FeedToken)
class FeedTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "created_at", "updated_at"]
    fields = ["user", "created_at", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    """The archive search's synonym groups, for admins only. A change applies from the next
    search on: the groups are read at query time, so nothing is reindexed."""

    list_display = ["terms", "note", "updated_at"]
    search_fields = ["terms", "note"]
    fields = ["terms", "note"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "terms":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 3, "cols": 80})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_module_permission(self, request) -> bool:
        return access.is_admin(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return access.is_admin(request.user)

    def has_add_permission(self, request) -> bool:
        return access.is_admin(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return access.is_admin(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return access.is_admin(request.user)

    def save_model(self, request, obj: SearchSynonym, form, change: bool) -> None:
        if change and not form.has_changed():
            return  # a save that changes nothing writes nothing (its time stays, the cache stays)
        super().save_model(request, obj, form, change)

    def log_change(self, request, obj, message):
        if message:  # nothing changed: no "No fields changed." entry in the history
            return super().log_change(request, obj, message)
        return None
