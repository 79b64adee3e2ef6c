from django import forms
from django.contrib import admin

from incidents.admin import ReadOnlyAdminMixin, apply_each
from incidents.forms import ChangeNeedsReasonMixin, reason_field
from postmortems.services import action_item_add, amendment_problem

from .models import ActionItem, ActionItemChange, ActionItemComment, Notification, NotificationPreference
from .services import (
    EDITABLE_FIELDS,
    PREFERENCE_FIELDS,
    action_item_comment,
    action_item_complete,
    action_item_reopen,
    action_item_update,
    action_item_wont_do,
    due_date_move_problem,
    preferences_update,
)


class ActionItemChangeInline(admin.TabularInline):
    model = ActionItemChange
    extra = 0
    fields = ["changed_at", "changed_by", "changes", "note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ActionItemAdminForm(ChangeNeedsReasonMixin, forms.ModelForm):
    due_date_reason = reason_field(
        "Why the due date moves", "Required when you move or clear the due date; kept in the item's history."
    )
    watched, reason, problem = "due_date", "due_date_reason", staticmethod(due_date_move_problem)
    amendment_note = reason_field(
        "Amendment note", "Required when the postmortem is published: what changed and why, shown on its page."
    )

    class Meta:
        model = ActionItem
        fields = "__all__"  # noqa: DJ007 - the admin narrows the fields with its fieldsets

    def clean(self) -> dict:
        cleaned_data = super().clean()
        # A new item of a published postmortem amends it, as the editor and the API ask.
        postmortem = cleaned_data.get("postmortem")
        note = cleaned_data.get("amendment_note") or ""
        if self.instance.pk is None and postmortem and (problem := amendment_problem(postmortem, note)):
            self.add_error("amendment_note", problem)
        return cleaned_data


# (admin action name, description, service): status changes go through the same services as the pages.
STATUS_ACTIONS = [
    (
        "mark_done",
        "Mark done (with its resolution note)",
        lambda item, user: action_item_complete(
            item=item, user=user, resolution_note=item.resolution_note, evidence_url=item.evidence_url
        ),
    ),
    (
        "mark_wont_do",
        "Mark won't do (the resolution note gives the reason)",
        lambda item, user: action_item_wont_do(item=item, user=user, reason=item.resolution_note),
    ),
    ("reopen", "Reopen", lambda item, user: action_item_reopen(item=item, user=user)),
]


def _status_action(name: str, description: str, service):
    @admin.action(description=description)
    def action(modeladmin, request, queryset) -> None:
        label = description.split(" (")[0]
        apply_each(
            modeladmin,
            request,
            queryset,
            lambda item: service(item, request.user),
            name_of=lambda item: item.reference,
            done=label + ": {} item(s).",
        )

    action.__name__ = name
    return action


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    form = ActionItemAdminForm
    actions = [_status_action(*row) for row in STATUS_ACTIONS]
    list_display = ["reference", "title", "status", "priority", "kind", "owner", "team", "due_date", "days_overdue"]
    list_select_related = ["owner", "team"]
    list_filter = ["status", "priority", "kind", "team", "postmortem__incident__severity"]
    search_fields = ["reference", "title", "description", "postmortem__incident__reference"]
    date_hierarchy = "due_date"
    autocomplete_fields = ["postmortem", "owner", "team"]
    # The status changes through the admin actions, which call the same services as the pages.
    readonly_fields = ["reference", "status", "completed_at", "created_at", "updated_at"]
    # Comments have their own admin (search by item): an inline would need its own form data on every save.
    inlines = [ActionItemChangeInline]
    fieldsets = [
        (None, {"fields": ["reference", "postmortem", "title", "description", "kind", "priority"]}),
        ("Ownership", {"fields": ["owner", "team", "due_date", "due_date_reason"]}),
        ("Progress", {"fields": ["status", "completed_at", "resolution_note", "evidence_url", "external_url"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return self.fieldsets
        return [*self.fieldsets, ("Amendment", {"fields": ["amendment_note"]})]

    def get_readonly_fields(self, request, obj=None):
        # An item stays with the postmortem it was added to.
        return [*self.readonly_fields, "postmortem"] if obj else self.readonly_fields

    @admin.display(description="Days overdue")
    def days_overdue(self, obj: ActionItem) -> int:
        return obj.days_overdue()

    def save_model(self, request, obj: ActionItem, form, change: bool) -> None:
        # The same services as the pages and the API: the same rules, history and emails.
        data = {name: value for name, value in form.cleaned_data.items() if name in EDITABLE_FIELDS}
        if change:
            action_item_update(item=obj, user=request.user, data=data, note=form.cleaned_data["due_date_reason"])
            return
        # A new item is added as the editor and the API add one: a change to its postmortem.
        created = action_item_add(
            postmortem=form.cleaned_data["postmortem"],
            user=request.user,
            fields=data,
            amendment_note=form.cleaned_data["amendment_note"],
        )
        obj.pk = created.pk
        obj.refresh_from_db()


@admin.register(ActionItemChange)
class ActionItemChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The items' history, read-only: the services write it with each change."""

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
    autocomplete_fields = ["item"]

    def get_readonly_fields(self, request, obj=None):
        # A comment is its author's words: added here as the admin, never rewritten.
        return ["item", "author", "text", "created_at"] if obj else ["author", "created_at"]

    def save_model(self, request, obj: ActionItemComment, form, change: bool) -> None:
        if change:
            return  # nothing on a saved comment is editable
        created = action_item_comment(item=obj.item, user=request.user, text=obj.text)
        obj.pk = created.pk
        obj.refresh_from_db()


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "time_zone", "digest_opt_out", "email_assigned", "email_review", "email_published"]
    list_select_related = ["user"]
    list_filter = ["digest_opt_out", "email_assigned", "email_review", "email_published", "time_zone"]
    search_fields = ["user__username", "user__email", "time_zone"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):
        return ["user"] if obj else []

    def save_model(self, request, obj: NotificationPreference, form, change: bool) -> None:
        values = {name: form.cleaned_data[name] for name in PREFERENCE_FIELDS if name in form.cleaned_data}
        saved = preferences_update(user=obj.user, **values)
        obj.pk = saved.pk
