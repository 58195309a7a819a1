from django.contrib import admin

from calls.models import Call, CallEvent, CallTurn, Campaign, Lead


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("phone", "first_name", "last_name", "timezone", "status", "campaign", "consent", "do_not_call")
    search_fields = ("first_name", "last_name", "phone")
    list_filter = ("status", "campaign", "timezone", "consent", "do_not_call")
    readonly_fields = ("attempts", "last_outcome", "created_at", "updated_at")
    list_select_related = ("campaign",)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "agent_version", "experiment", "max_concurrent", "calls_per_minute")
    list_filter = ("status",)
    search_fields = ("name",)


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
    readonly_fields = ("id", "created_at", "started_at", "answered_at", "ended_at", "status_sequence")
    list_select_related = ("agent_version__agent", "lead")
    inlines = [CallTurnInline]


@admin.register(CallEvent)
class CallEventAdmin(admin.ModelAdmin):
    list_display = ("kind", "call_sid", "sequence_number", "received_at")
    list_filter = ("kind",)
    search_fields = ("call_sid", "idempotency_key")
    readonly_fields = ("idempotency_key", "call", "call_sid", "kind", "sequence_number", "payload", "received_at")
