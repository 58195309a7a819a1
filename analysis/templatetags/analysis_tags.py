"""What the call page's analysis and model I/O partials read (the call page's own view stays as it is)."""

from __future__ import annotations

from typing import Any

from django import template

from analysis.models import CallAnalysis, ModelExchange
from analysis.selectors import analysis_for_call, model_exchanges_for_call

register = template.Library()


@register.simple_tag
def analysis_of(call: Any) -> CallAnalysis | None:
    return analysis_for_call(call_id=call.pk)


@register.simple_tag
def model_exchanges_of(call: Any) -> list[ModelExchange]:
    return model_exchanges_for_call(call_id=call.pk)
