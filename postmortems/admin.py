from django import forms
from django.contrib import admin
from django.db.models import F

from actions.models import ActionItem

from .models import SECTIONS, FeedToken, Postmortem, PostmortemEvent, PostmortemSearchDocument, Review


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


class ReviewInline(admin.StackedInline):
    model = Review
    extra = 0
    fields = ["reviewer", "decision", "comment", "postmortem_version", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["reviewer"]


class PostmortemEventInline(admin.TabularInline):
    model = PostmortemEvent
    extra = 0
    fields = ["created_at", "kind", "actor", "from_status", "to_status", "postmortem_version", "note"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 1
    fields = ["reference", "title", "kind", "priority", "owner", "team", "due_date", "status", "external_url"]
    readonly_fields = ["reference"]
    autocomplete_fields = ["owner", "team"]
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
    readonly_fields = ["version", "impact_duration", "created_at", "updated_at"]
    inlines = [ReviewInline, ActionItemInline, PostmortemEventInline]
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
        from incidents.admin import format_duration

        return format_duration(obj.duration) if obj.pk else "—"

    def save_model(self, request, obj: Postmortem, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            # Every edit raises the version, so an editor holding an older copy is told.
            Postmortem.objects.filter(pk=obj.pk).update(version=F("version") + 1)
            obj.refresh_from_db(fields=["version"])


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["postmortem", "reviewer", "decision", "created_at"]
    list_select_related = ["postmortem__incident", "reviewer"]
    list_filter = ["decision"]
    search_fields = ["postmortem__incident__reference", "comment"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["postmortem", "reviewer"]


@admin.register(PostmortemEvent)
class PostmortemEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "postmortem", "kind", "actor", "from_status", "to_status"]
    list_select_related = ["postmortem__incident", "actor"]
    list_filter = ["kind"]
    search_fields = ["postmortem__incident__reference", "note"]
    date_hierarchy = "created_at"
    readonly_fields = ["postmortem", "kind", "actor", "from_status", "to_status", "note", "postmortem_version"]

    def has_add_permission(self, request) -> bool:
        return False


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
