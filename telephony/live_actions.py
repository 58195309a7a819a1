"""The live engine's CallActions port over Twilio: REST hang-up, and TwiML updates for transfer and DTMF.

The engine (live/) never imports telephony or the twilio SDK; the Media
Streams consumer builds this port for each call and hands it to the session.
"""

from __future__ import annotations

import uuid

from live.actions import CallActions
from telephony.rest import carrier_configured, twilio_hangup, twilio_update_twiml
from telephony.twiml import answer_twiml_for, dial_twiml


def live_call_actions(call_id: uuid.UUID) -> CallActions:
    def transfer(call_sid: str, number: str) -> None:
        twilio_update_twiml(call_sid, dial_twiml(number))

    def send_digits(call_sid: str, digits: str) -> None:
        # Play the digits, then connect a new stream (fresh token) that resumes this call.
        twilio_update_twiml(call_sid, answer_twiml_for(call_id, play_digits=digits))

    # Closing the media socket ends a <Connect><Stream> call by itself; the REST
    # hang-up is for a real account (or the built-in simulated carrier).
    return CallActions(
        hangup=twilio_hangup, transfer=transfer, send_digits=send_digits, use_rest_for_hangup=carrier_configured()
    )
