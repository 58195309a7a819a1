"""REST API: calls (read, with their turns), filtered and paginated."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from calls.models import Call, CallTurn
from calls.recording_views import recording_response
from calls.recordings import RECORDING_LISTEN
from voiceops.api_filters import UUID_PATTERN, QueryFilters


class CallTurnSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallTurn
        fields = ["index", "speaker", "text", "heard_text", "interrupted", "started_at", "ended_at", "timings", "data"]


class CallSerializer(serializers.ModelSerializer):
    turns = CallTurnSerializer(many=True, read_only=True)
    agent = serializers.IntegerField(source="agent_version.agent_id", read_only=True)
    agent_version_number = serializers.IntegerField(source="agent_version.number", read_only=True)
    recording_url = serializers.SerializerMethodField(
        help_text="Where the call's recording is served (GET /api/calls/{id}/recording/), or null without one."
    )

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
            "recording_url",
            "turns",
        ]

    def get_recording_url(self, call: Call) -> str | None:
        if not call.recording:
            return None
        path = reverse("call-recording", kwargs={"pk": call.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class MayListen(BasePermission):
    message = f"Your role does not allow listening to recordings ({RECORDING_LISTEN})."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm(RECORDING_LISTEN))


class AnyAccept(BaseContentNegotiation):
    """The recording is audio whatever the client accepts: no 406 for `Accept: audio/wav`."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


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

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "Range", str, OpenApiParameter.HEADER, description="One byte range, e.g. `bytes=0-` (RFC 9110)."
            )
        ],
        responses={
            (200, "audio/wav"): OpenApiTypes.BINARY,
            (206, "audio/wav"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="The call has no recording."),
            416: OpenApiResponse(description="The range lies past the end (Content-Range: bytes */size)."),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        permission_classes=[IsAuthenticated, MayListen],
        content_negotiation_class=AnyAccept,
    )
    def recording(self, request: Request, pk: str) -> HttpResponseBase:
        """The stereo WAV (caller left, agent right), with byte ranges; operators' and admins' tokens only."""
        call = get_object_or_404(Call.objects.only("pk", "recording"), pk=pk)
        return recording_response(request, call)


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
