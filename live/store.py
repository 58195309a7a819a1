"""The live engine's database edge.

The session never touches the ORM itself: its writes go through the owning
app's services (calls.services), queued here off the media path.
"""

from __future__ import annotations

from calls.services import call_add_turn, call_store_outcome, call_stream_start

__all__ = ["call_add_turn", "call_store_outcome", "call_stream_start"]
