"""Console broadcasts: small messages on the channel layer, never audio."""

from __future__ import annotations

import uuid

import structlog
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

CONSOLE_GROUP = "console.live"
log = structlog.get_logger(__name__)


def broadcast_call_changed(call_id: uuid.UUID | str) -> None:
    """Tell every open console that a call changed; they re-render it."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(CONSOLE_GROUP, {"type": "call.changed", "call_id": str(call_id)})
    except Exception:  # a console update must never break a call
        log.warning("console_broadcast_failed", call_id=str(call_id), exc_info=True)
