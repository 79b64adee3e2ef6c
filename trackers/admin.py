from django.contrib import admin
from django.urls import reverse

from .forms import TrackerConnectionForm
from .models import TrackerConnection, TrackerIssue


@admin.register(TrackerConnection)
class TrackerConnectionAdmin(admin.ModelAdmin):
    form = TrackerConnectionForm
    list_display = [
        "team",
        "kind",
        "target",
        "create_on_publish",
        "has_token",
        "last_error",
        "last_error_at",
        "last_success_at",
    ]
    list_select_related = ["team"]
    readonly_fields = ["webhook_url", "last_error", "last_error_at", "last_success_at"]

    @admin.display(boolean=True, description="token stored")
    def has_token(self, obj: TrackerConnection) -> bool:
        return obj.has_token

    @admin.display(description="webhook URL")
    def webhook_url(self, obj: TrackerConnection) -> str:
        if not obj.pk:
            return "Shown once saved."
        from actions.notifications import absolute_url

        name = "trackers:webhook-github" if obj.is_github else "trackers:webhook-jira"
        return absolute_url(reverse(name, args=[obj.pk]))


@admin.register(TrackerIssue)
class TrackerIssueAdmin(admin.ModelAdmin):
    list_display = ["item", "connection", "state", "key", "last_error", "last_error_at", "attempts", "synced_at"]
    list_filter = ["state", "connection"]
    list_select_related = ["item", "connection__team"]
    search_fields = ["item__reference", "key"]
    readonly_fields = [f.name for f in TrackerIssue._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # issues are created and linked from the item page, the editor and the API
