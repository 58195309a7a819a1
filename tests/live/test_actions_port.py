"""The carrier port telephony hands the live engine: what each action asks of Twilio."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

import telephony.live_actions
from telephony.tokens import stream_token_read

CALL_ID = uuid.uuid4()


@pytest.fixture
def updates(monkeypatch):
    sent: list[tuple[str, ET.Element]] = []
    monkeypatch.setattr(
        telephony.live_actions,
        "twilio_update_twiml",
        lambda sid, twiml: sent.append((sid, ET.fromstring(twiml))),  # noqa: S314  (our own TwiML)
    )
    return sent


def test_a_transfer_bridges_the_call_to_the_number(updates):
    telephony.live_actions.live_call_actions(CALL_ID).transfer("CA1", "+14155550123")
    [(sid, twiml)] = updates
    assert sid == "CA1" and twiml.find("Dial").text == "+14155550123"


def test_digits_play_then_a_new_stream_resumes_the_same_call(updates, settings):
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    telephony.live_actions.live_call_actions(CALL_ID).send_digits("CA1", "12#")
    [(_, twiml)] = updates
    assert twiml.find("Play").get("digits") == "12#"
    stream = twiml.find("Connect/Stream")
    assert stream.get("url") == "wss://voice.example.com/ws/twilio/media/"
    assert stream_token_read(stream.find("Parameter").get("value")) == CALL_ID


def test_the_rest_hang_up_is_for_an_account_or_the_simulated_carrier(settings):
    settings.TWILIO_AUTH_TOKEN = ""
    settings.SIMULATED_CARRIER = False
    assert not telephony.live_actions.live_call_actions(CALL_ID).use_rest_for_hangup
    settings.TWILIO_AUTH_TOKEN = "secret"
    assert telephony.live_actions.live_call_actions(CALL_ID).use_rest_for_hangup
