"""REST API: calls (read, with their turns)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from calls.models import Call, CallTurn


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


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("twilio_call_sid", str, description="Find the call with this Twilio CallSid.")]
    )
)
class CallViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CallSerializer

    def get_queryset(self) -> QuerySet[Call]:
        queryset = Call.objects.select_related("agent_version").prefetch_related("turns").order_by("-created_at")
        sid = self.request.query_params.get("twilio_call_sid")
        if sid:
            queryset = queryset.filter(twilio_call_sid=sid)
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
