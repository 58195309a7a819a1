""" "Run a simulated caller" from the console: a persona calls one version, through the real webhook and socket.

The call row exists first (calls.services.call_create_test), so the persona
reaches exactly that version, draft or published, the way an outbound call
does: the answer webhook carries `?call=<id>`. The simulator then plays the
caller over the Media Streams socket as Twilio would, on the simulated
carrier's background loop, so the request that started it returns at once.
"""

from __future__ import annotations

import uuid

import structlog
from django.conf import settings

from sandbox.carrier import submit
from sandbox.personas import PERSONAS, persona_named

log = structlog.get_logger(__name__)

PERSONA_NAMES = tuple(sorted(PERSONAS))


def simulated_caller_run(*, call_id: uuid.UUID, persona: str) -> str:
    """Start `persona` calling the call `call_id` (already created); returns the simulated CallSid."""
    chosen = persona_named(persona)  # KeyError for an unknown persona: the view checks first
    call_sid = "CA" + uuid.uuid4().hex
    base_url = settings.PUBLIC_BASE_URL.rstrip("/")

    async def play() -> None:
        from sandbox.simulator import simulate_call

        try:
            result = await simulate_call(
                base_url=base_url,
                persona=chosen,
                to_number="+15005550006",
                from_number="+15005550100",
                call_sid=call_sid,
                direction="outbound-api",
                answer_url=f"{base_url}/twilio/voice/?call={call_id}",
                auth_token=settings.TWILIO_AUTH_TOKEN or None,
                transcribe=False,
            )
            log.info("simulated_caller_done", call_id=str(call_id), ended_by=result.ended_by)
        except Exception:
            log.exception("simulated_caller_failed", call_id=str(call_id))

    submit(play())
    return call_sid
