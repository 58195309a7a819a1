"""Reads for post-call analysis and the model I/O log."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from analysis.models import CallAnalysis, ModelExchange


def analysis_for_call(*, call_id: uuid.UUID) -> CallAnalysis | None:
    return CallAnalysis.objects.filter(call_id=call_id).first()


def model_exchanges_for_call(*, call_id: uuid.UUID) -> list[ModelExchange]:
    return list(ModelExchange.objects.filter(call_id=call_id).order_by("id"))


def call_ids_with_analysis(calls: QuerySet[Any]) -> list[uuid.UUID]:
    return list(CallAnalysis.objects.filter(call__in=calls).values_list("call_id", flat=True))


def call_ids_with_exchanges(calls: QuerySet[Any]) -> list[uuid.UUID]:
    return list(ModelExchange.objects.filter(call__in=calls).values_list("call_id", flat=True).distinct())
