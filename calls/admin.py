from django.contrib import admin

from calls.models import Call, CallEvent, CallTurn


class CallTurnInline(admin.TabularInline):
    model = CallTurn
    fields = ("index", "speaker", "text", "heard_text", "interrupted", "timings")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "direction",
        "status",
        "disposition",
        "agent_version",
        "lead",
        "created_at",
        "duration_seconds",
    )
    list_filter = ("direction", "status", "disposition", "campaign")
    search_fields = ("twilio_call_sid", "from_number", "to_number", "lead__first_name", "lead__last_name")
    readonly_fields = (
        "id",
        "created_at",
        "started_at",
        "answered_at",
        "ended_at",
        "status_sequence",
        "dial_started_at",
        "outcome",
        "outcome_applied",
    )
    list_select_related = ("agent_version__agent", "lead")
    inlines = [CallTurnInline]


@admin.register(CallEvent)
class CallEventAdmin(admin.ModelAdmin):
    list_display = ("kind", "call_sid", "sequence_number", "received_at")
    list_filter = ("kind",)
    search_fields = ("call_sid", "idempotency_key")
    readonly_fields = ("idempotency_key", "call", "call_sid", "kind", "sequence_number", "payload", "received_at")
