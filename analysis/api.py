"""REST API: a call's analysis (read, re-run) and, for admins, its model I/O log."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis.dispatch import analysis_schedule
from analysis.models import CallAnalysis, ModelExchange
from analysis.selectors import analysis_for_call, model_exchanges_for_call
from analysis.services import analysis_mark_pending
from audit import verbs
from audit.services import audit_record
from calls.selectors import call_for_analysis
from voiceops.roles import SAFE_METHODS


class CallAnalysisSerializer(serializers.ModelSerializer):
    call = serializers.UUIDField(source="call_id", read_only=True)

    class Meta:
        model = CallAnalysis
        fields = [
            "call",
            "status",
            "method",
            "summary",
            "sentiment",
            "success",
            "extraction",
            "missing_required",
            "written_to_lead",
            "note",
            "model",
            "redacted",
            "runs",
            "analyzed_at",
        ]


class ModelExchangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelExchange
        fields = [
            "id",
            "kind",
            "request",
            "response",
            "endpoint",
            "model",
            "confidence",
            "error",
            "redacted",
            "created_at",
        ]


class CallPermission(BasePermission):
    """Reads need calls.view_call (every role); a re-run needs calls.change_call (operators and admins)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        needed = "calls.view_call" if request.method in SAFE_METHODS else "calls.change_call"
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(needed))


class ModelIoPermission(BasePermission):
    """The model I/O log is for admins (no other role holds analysis.view_modelexchange)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(
            request.user and request.user.is_authenticated and request.user.has_perm("analysis.view_modelexchange")
        )


def _call(call_id: uuid.UUID) -> Any:
    try:
        return call_for_analysis(call_id=call_id)
    except Exception as exc:  # Call.DoesNotExist, without importing the calls app's models
        if type(exc).__name__ == "DoesNotExist":
            raise Http404("No such call.") from None
        raise


class CallAnalysisView(APIView):
    permission_classes = [CallPermission]

    @extend_schema(responses=CallAnalysisSerializer, summary="A call's post-call analysis (404 until there is one)")
    def get(self, request: Request, call_id: uuid.UUID) -> Response:
        _call(call_id)
        analysis = analysis_for_call(call_id=call_id)
        if analysis is None:
            raise Http404("This call has not been analysed.")
        return Response(CallAnalysisSerializer(analysis).data)


class CallAnalysisRerunView(APIView):
    permission_classes = [CallPermission]

    @extend_schema(
        request=None, responses={202: CallAnalysisSerializer}, summary="Analyse an ended, answered call again"
    )
    def post(self, request: Request, call_id: uuid.UUID) -> Response:
        call = _call(call_id)
        if not call.is_final or call.answered_at is None:
            return Response(
                {"detail": "Only an answered call that has ended can be analysed."}, status=status.HTTP_409_CONFLICT
            )
        analysis = analysis_mark_pending(call_id=call.pk)
        audit_record(actor=request.user, verb=verbs.ANALYSIS_RERUN, target=call, summary="through the API")
        analysis_schedule(call_id=call.pk, force=True)
        analysis.refresh_from_db()
        return Response(CallAnalysisSerializer(analysis).data, status=status.HTTP_202_ACCEPTED)


class CallModelIoView(APIView):
    permission_classes = [ModelIoPermission]

    @extend_schema(responses=ModelExchangeSerializer(many=True), summary="A call's model inputs and outputs (admins)")
    def get(self, request: Request, call_id: uuid.UUID) -> Response:
        _call(call_id)
        return Response(ModelExchangeSerializer(model_exchanges_for_call(call_id=call_id), many=True).data)
