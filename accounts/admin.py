from django.conf import settings
from django.contrib import admin

from .models import GroupMapping, KeptLead, OidcIdentity


class SingleSignOnAdmin(admin.ModelAdmin):
    """Shown only when a provider is configured (OIDC_RP_CLIENT_ID)."""

    def has_module_permission(self, request):
        return settings.OIDC_ENABLED and super().has_module_permission(request)


@admin.register(GroupMapping)
class GroupMappingAdmin(SingleSignOnAdmin):
    list_display = ["group", "team"]
    list_select_related = ["team"]
    list_filter = ["team"]
    search_fields = ["group", "team__name"]
    autocomplete_fields = ["team"]


@admin.register(KeptLead)
class KeptLeadAdmin(SingleSignOnAdmin):
    """Leads a sync did not remove from a team their groups no longer map to."""

    list_display = ["user", "team", "created_at", "updated_at"]
    list_select_related = ["user", "team"]
    readonly_fields = ["user", "team", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False


@admin.register(OidcIdentity)
class OidcIdentityAdmin(SingleSignOnAdmin):
    """Links a provider subject to an account, e.g. one whose email the provider does not verify."""

    list_display = ["user", "subject", "issuer", "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "subject"]
    autocomplete_fields = ["user"]
