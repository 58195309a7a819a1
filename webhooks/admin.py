"""Admin for webhooks: endpoints (secrets never shown, only their hint) and a read-only delivery log with replay.

The admin edits endpoint rows directly, so its form runs the same checks as
the services (endpoint_validate: the events and the SSRF guard). A secret is
created with the row and rotated on the console page, which shows the new one
once; the admin never displays it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from webhooks.models import Delivery, DeliveryAttempt, Endpoint
from webhooks.services import delivery_replay, endpoint_validate, subscriptions_forget
from webhooks.signing import secret_generate


class EndpointAdminForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")

    class Meta:
        model = Endpoint
        fields = ["url", "description", "events", "is_active"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "url" in cleaned and "events" in cleaned:
            try:
                cleaned["events"] = endpoint_validate(url=cleaned["url"], events=cleaned["events"] or [])
            except ValidationError as exc:
                raise ValidationError(exc.message_dict) from None
        return cleaned


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointAdminForm
    list_display = ["url", "events", "is_active", "secret_hint", "created_at"]
    list_filter = ["is_active"]
    readonly_fields = ["secret_hint", "console_page", "secret_rotated_at", "created_by", "created_at"]

    @admin.display(description="Rotate the secret")
    def console_page(self, obj: Endpoint) -> str:
        if obj.pk is None:
            return "-"
        return format_html('<a href="{}">on the console page</a>', reverse("webhooks:detail", args=[obj.pk]))

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        if not change:
            obj.secret = secret_generate()
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        subscriptions_forget()


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "at", "status_code", "error", "response_excerpt", "duration_ms", "retry_in_s"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["pk", "endpoint", "event", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Replay the selected deliveries")
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        for delivery in queryset:
            delivery_replay(delivery_id=delivery.pk)
        messages.success(request, f"{queryset.count()} deliveries are being sent again.")
