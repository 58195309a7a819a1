from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from agents.models import Agent, AgentVersion, PhoneNumber
from agents.services import VersionAlreadyPublished, agent_version_publish


class AgentVersionInline(admin.TabularInline):
    model = AgentVersion
    fields = ("number", "notes", "published_at", "created_at")
    readonly_fields = ("number", "notes", "published_at", "created_at")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at", "updated_at")
    search_fields = ("name", "description")
    inlines = [AgentVersionInline]


@admin.register(AgentVersion)
class AgentVersionAdmin(admin.ModelAdmin):
    list_display = ("agent", "number", "published_at", "notes", "created_at")
    list_filter = ("agent",)
    search_fields = ("agent__name", "notes")
    readonly_fields = ("published_at", "created_at")
    actions = ["publish_selected"]

    @admin.action(description="Publish the selected draft versions")
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[AgentVersion]) -> None:
        # Through the publishing service, as the console and the API: the configuration is validated
        # under the row lock and a version is published once.
        for version in queryset.order_by("agent__name", "number"):
            try:
                agent_version_publish(version=version)
                self.message_user(request, f"{version} is published.", messages.SUCCESS)
            except VersionAlreadyPublished as exc:
                self.message_user(request, str(exc), messages.WARNING)
            except ValidationError as exc:
                reasons = "; ".join(exc.messages)
                self.message_user(request, f"{version} was not published: {reasons}", messages.ERROR)

    def get_readonly_fields(self, request: HttpRequest, obj: AgentVersion | None = None) -> Any:
        # A published version is shown, never edited: calls point at it.
        if obj is not None and obj.is_published:
            return ("agent", "number", "config", "notes", "published_at", "created_at")
        return self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: AgentVersion | None = None) -> bool:
        return obj is None or not obj.is_published


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ("e164", "agent", "label")
    search_fields = ("e164", "label", "agent__name")
