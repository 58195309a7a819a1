"""What the call page's analysis and model I/O partials read (the call page's own view stays as it is)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from analysis.models import CallAnalysis, ModelExchange
from analysis.selectors import analysis_for_call, model_exchanges_for_call

register = template.Library()


@register.simple_tag
def analysis_of(call: Any) -> CallAnalysis | None:
    return analysis_for_call(call_id=call.pk)


@register.simple_tag
def model_exchanges_of(call: Any) -> list[ModelExchange]:
    return model_exchanges_for_call(call_id=call.pk)


# How long after a call ends its page keeps looking for the automatic analysis
# (a worker that is down or POST_CALL_ANALYSIS off must not leave a page polling for ever).
WAIT_AFTER_END_S = 300


@register.simple_tag
def analysis_expected(call: Any, analysis: CallAnalysis | None) -> bool:
    """Whether the panel should poll: a run is pending, or an answered call's analysis is still to come."""
    if analysis is not None:
        return analysis.status == CallAnalysis.Status.PENDING
    if call.answered_at is None:
        return False
    if not call.is_final:
        return True  # still going: it is analysed when it ends
    # A final status is what ends a call; a call that never got an end time has nothing to wait from.
    return call.ended_at is not None and (timezone.now() - call.ended_at).total_seconds() < WAIT_AFTER_END_S
