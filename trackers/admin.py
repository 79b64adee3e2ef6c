from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from . import services
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

    actions = ["retry_now"]

    def has_add_permission(self, request) -> bool:
        return False  # issues are created and linked from the item page, the editor and the API

    @admin.action(description="Retry creating the selected issues now")
    def retry_now(self, request, queryset) -> None:
        """The item page's "Retry now", through the same service and checks."""
        retried = 0
        for issue in queryset.select_related("item"):
            try:
                services.tracker_issue_request(item=issue.item, user=request.user)
            except (PermissionDenied, ValidationError) as error:
                self.message_user(
                    request,
                    f"{issue.item.reference}: {' '.join(error.messages) if hasattr(error, 'messages') else error}",
                    messages.WARNING,
                )
            else:
                retried += 1
        self.message_user(request, f"{retried} issue(s) queued again.")
