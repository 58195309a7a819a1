"""REST API: calls (read, with their turns), filtered and paginated."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from calls.models import Call, CallTurn
from voiceops.api_filters import UUID_PATTERN, QueryFilters


class CallTurnSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallTurn
        fields = ["index", "speaker", "text", "heard_text", "interrupted", "started_at", "ended_at", "timings", "data"]


class CallSerializer(serializers.ModelSerializer):
    turns = CallTurnSerializer(many=True, read_only=True)
    agent = serializers.IntegerField(source="agent_version.agent_id", read_only=True)
    agent_version_number = serializers.IntegerField(source="agent_version.number", read_only=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "direction",
            "status",
            "twilio_call_sid",
            "agent",
            "agent_version",
            "agent_version_number",
            "lead",
            "campaign",
            "variant",
            "attempt_number",
            "from_number",
            "to_number",
            "disposition",
            "answered_by",
            "variables",
            "failure_reason",
            "created_at",
            "started_at",
            "answered_at",
            "ended_at",
            "duration_seconds",
            "turns",
        ]


class CallFilters(QueryFilters):
    """`GET /api/calls/` filters; every one optional, combined with AND, repeated `status` or `direction` with OR."""

    twilio_call_sid = serializers.CharField(required=False, help_text="The call with this Twilio CallSid.")
    status = serializers.MultipleChoiceField(choices=Call.Status.choices, required=False)
    direction = serializers.ChoiceField(choices=Call.Direction.choices, required=False)
    agent = serializers.IntegerField(required=False, min_value=1, help_text="Agent id.")
    agent_version = serializers.IntegerField(required=False, min_value=1, help_text="Agent version id.")
    campaign = serializers.IntegerField(required=False, min_value=1, help_text="Campaign id.")
    lead = serializers.IntegerField(required=False, min_value=1, help_text="Lead id.")
    variant = serializers.IntegerField(required=False, min_value=1, help_text="Experiment variant id.")
    disposition = serializers.CharField(required=False, max_length=40)
    created_after = serializers.DateTimeField(required=False, help_text="Placed at or after (ISO 8601).")
    created_before = serializers.DateTimeField(required=False, help_text="Placed before (ISO 8601).")
    min_duration_s = serializers.IntegerField(required=False, min_value=0)
    max_duration_s = serializers.IntegerField(required=False, min_value=0)

    lookups = {
        "twilio_call_sid": "twilio_call_sid",
        "status": "status__in",
        "direction": "direction",
        "agent": "agent_version__agent_id",
        "agent_version": "agent_version_id",
        "campaign": "campaign_id",
        "lead": "lead_id",
        "variant": "variant_id",
        "disposition": "disposition",
        "created_after": "created_at__gte",
        "created_before": "created_at__lt",
        "min_duration_s": "duration_seconds__gte",
        "max_duration_s": "duration_seconds__lte",
    }


@extend_schema_view(list=extend_schema(parameters=[CallFilters]))
class CallViewSet(viewsets.ReadOnlyModelViewSet):
    """Calls, newest first, with their turns; `/api/calls/{id}/` takes the call's UUID."""

    serializer_class = CallSerializer
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self) -> QuerySet[Call]:
        return Call.objects.select_related("agent_version").prefetch_related("turns").order_by("-created_at")

    def filter_queryset(self, queryset: QuerySet[Call]) -> QuerySet[Call]:
        if self.action == "list":
            return CallFilters.apply(self.request, queryset)
        return queryset


class CallAttemptSerializer(serializers.ModelSerializer):
    """A call as one attempt of a campaign (the campaigns API lists them)."""

    class Meta:
        model = Call
        fields = [
            "id",
            "lead",
            "attempt_number",
            "status",
            "answered_by",
            "disposition",
            "outcome",
            "variant",
            "agent_version",
            "twilio_call_sid",
            "failure_reason",
            "created_at",
            "answered_at",
            "ended_at",
            "duration_seconds",
        ]
