from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from campaigns.models import Campaign, Lead, LeadImport
from campaigns.services import CampaignTransitionError, campaign_control


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
