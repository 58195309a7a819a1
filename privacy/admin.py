from django.contrib import admin

from privacy.models import ClearTurn, PurgeRecord


@admin.register(PurgeRecord)
class PurgeRecordAdmin(admin.ModelAdmin):
    list_display = ("ran_at", "recordings", "transcript_turns", "model_exchanges", "analyses")
    readonly_fields = ("ran_at", "recordings", "transcript_turns", "model_exchanges", "analyses", "calls")

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(ClearTurn)
class ClearTurnAdmin(admin.ModelAdmin):
    list_display = ("turn", "created_at")
    readonly_fields = ("turn", "text", "heard_text", "data", "created_at")

    def has_add_permission(self, request: object) -> bool:
        return False
