"""`{% latency_waterfall call as chart %}`: a call's turn latencies as waterfall geometry (calls.waterfall)."""

from __future__ import annotations

from typing import Any

from django import template

from calls.waterfall import Waterfall, waterfall

register = template.Library()


@register.simple_tag
def latency_waterfall(call: Any) -> Waterfall | None:
    # call.turns.all() is the call page's prefetched list: no query of its own.
    return waterfall(call.turns.all())
