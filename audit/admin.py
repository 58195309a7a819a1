from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: an audit log that can be edited records nothing."""

    list_display = ("created_at", "actor_name", "verb", "target_type", "target_id", "summary")
    list_filter = ("verb", "target_type")
    search_fields = ("actor_name", "summary", "target_id")
    date_hierarchy = "created_at"
    list_select_related = ("target_type",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
