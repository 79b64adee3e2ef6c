from django.contrib import admin

from .models import ActionItem, ActionItemChange, ActionItemComment, Notification, NotificationPreference
from .services import action_item_saved


class ActionItemChangeInline(admin.TabularInline):
    model = ActionItemChange
    extra = 0
    fields = ["changed_at", "changed_by", "changes", "note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["reference", "title", "status", "priority", "kind", "owner", "team", "due_date", "days_overdue"]
    list_select_related = ["owner", "team"]
    list_filter = ["status", "priority", "kind", "team", "postmortem__incident__severity"]
    search_fields = ["reference", "title", "description", "postmortem__incident__reference"]
    date_hierarchy = "due_date"
    autocomplete_fields = ["postmortem", "owner", "team"]
    readonly_fields = ["reference", "completed_at", "created_at", "updated_at"]
    # Comments have their own admin (search by item): an inline would need its own form data on every save.
    inlines = [ActionItemChangeInline]
    fieldsets = [
        (None, {"fields": ["reference", "postmortem", "title", "description", "kind", "priority"]}),
        ("Ownership", {"fields": ["owner", "team", "due_date"]}),
        ("Progress", {"fields": ["status", "completed_at", "resolution_note", "evidence_url", "external_url"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Days overdue")
    def days_overdue(self, obj: ActionItem) -> int:
        return obj.days_overdue()

    def save_model(self, request, obj: ActionItem, form, change: bool) -> None:
        before = ActionItem.objects.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        action_item_saved(item=obj, before=before, user=request.user)


@admin.register(ActionItemChange)
class ActionItemChangeAdmin(admin.ModelAdmin):
    list_display = ["item", "changed_by", "changed_at", "note"]
    list_select_related = ["item", "changed_by"]
    search_fields = ["item__reference", "note"]
    date_hierarchy = "changed_at"
    autocomplete_fields = ["item", "changed_by"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The ledger. A sent message is history: it cannot be changed, nor deleted (deleting its
    row would let the same message be claimed and sent again). The outbox page shows bodies."""

    list_display = ["kind", "recipient_email", "subject", "period_key", "state", "attempts", "sent_at"]
    list_select_related = ["recipient"]
    list_filter = ["kind", "state"]
    search_fields = ["recipient_email", "subject_key", "subject", "last_error"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["recipient", "item", "postmortem"]
    readonly_fields = ["state", "created_at", "sent_at", "attempts", "last_error", "claimed_until"]

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.state == Notification.State.SENT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.state == Notification.State.SENT:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # Bulk deletion would take sent rows too; unsent ones are deleted one by one.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(ActionItemComment)
class ActionItemCommentAdmin(admin.ModelAdmin):
    list_display = ["item", "author", "created_at"]
    list_select_related = ["item", "author"]
    search_fields = ["item__reference", "text"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["item", "author"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "time_zone", "digest_opt_out", "email_assigned", "email_review", "email_published"]
    list_select_related = ["user"]
    list_filter = ["digest_opt_out", "email_assigned", "email_review", "email_published", "time_zone"]
    search_fields = ["user__username", "user__email", "time_zone"]
    autocomplete_fields = ["user"]
