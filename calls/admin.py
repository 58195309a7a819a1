from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from calls.models import Call, CallEvent, CallTurn, Campaign, Lead, LeadImport
from calls.services import CampaignTransitionError, campaign_control


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("phone", "first_name", "last_name", "timezone", "status", "campaign", "consent", "do_not_call")
    search_fields = ("first_name", "last_name", "phone")
    list_filter = ("status", "campaign", "timezone", "consent", "do_not_call")
    readonly_fields = ("attempts", "last_outcome", "created_at", "updated_at")
    list_select_related = ("campaign",)


def _control_action(name: str) -> Any:
    def run(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            try:
                campaign_control(campaign_id=campaign.pk, action=name)
            except CampaignTransitionError as exc:
                modeladmin.message_user(request, f"{campaign}: {exc}", level=messages.WARNING)

    run.__name__ = f"campaign_{name}"
    return admin.action(description=f"{name.capitalize()} selected campaigns")(run)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "status",
        "status_reason",
        "agent_version",
        "experiment",
        "max_concurrent",
        "calls_per_minute",
    )
    list_filter = ("status",)
    search_fields = ("name",)
    readonly_fields = ("status", "status_reason")
    actions = [_control_action(name) for name in ("start", "pause", "resume", "stop")]


@admin.register(LeadImport)
class LeadImportAdmin(admin.ModelAdmin):
    list_display = ("filename", "status", "processed_rows", "created_count", "merged_count", "error_count")
    list_filter = ("status",)
    exclude = ("content",)
    readonly_fields = [f.name for f in LeadImport._meta.fields if f.name != "content"]


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
