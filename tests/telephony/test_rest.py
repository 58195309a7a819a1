"""The Twilio REST client: one pooled client per configuration, and it gives up on a carrier that never answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from telephony.rest import CarrierTimeout, twilio_client, twilio_create_call, twilio_hangup, twilio_update_twiml
from tests.campaigns.dialer_support import hang_guard, silent_carrier

__all__ = ["silent_carrier"]


def test_every_request_gives_up_on_a_carrier_that_never_answers(silent_carrier):
    with hang_guard():
        with pytest.raises(CarrierTimeout, match="call create"):
            twilio_create_call(to="+12125550100", from_="+15005550006", url="http://testserver/twilio/voice/")
        with pytest.raises(CarrierTimeout, match="hang-up"):
            twilio_hangup("CA" + "1" * 32)
        with pytest.raises(CarrierTimeout, match="TwiML update"):
            twilio_update_twiml("CA" + "1" * 32, "<Response/>")
    assert silent_carrier.accepted.is_set()  # the requests were on the wire, not refused


def test_one_pooled_client_per_configuration_with_both_timeouts(settings):
    settings.TWILIO_CONNECT_TIMEOUT_MS = 3050
    settings.TWILIO_READ_TIMEOUT_MS = 10_000
    client = twilio_client()
    assert twilio_client() is client  # kept-alive connections are reused across requests
    assert client.http_client.session is not None
    assert client.http_client.timeout == (3.05, 10.0)  # requests' (connect, read)
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    moved = twilio_client()
    assert moved is not client and moved.api.base_url == "http://127.0.0.1:9"


def _settings_error(tmp_path, **env: str) -> str:
    """Load voiceops.settings in a fresh interpreter with `env`; returns its error output ('' when it loaded)."""
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    result = subprocess.run(
        [sys.executable, "-c", "import voiceops.settings"],
        cwd=Path(__file__).resolve().parents[2],
        env={**clean, "VOICEOPS_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return "" if result.returncode == 0 else result.stderr


def test_timeouts_and_time_limits_are_validated_at_start_up(tmp_path):
    assert _settings_error(tmp_path) == ""
    assert "TWILIO_READ_TIMEOUT_MS must be an integer" in _settings_error(tmp_path, TWILIO_READ_TIMEOUT_MS="ten")
    assert "TWILIO_CONNECT_TIMEOUT_MS must be at least 100" in _settings_error(tmp_path, TWILIO_CONNECT_TIMEOUT_MS="0")
    # A dial's soft limit inside its own REST timeouts would cut off the dialer's report of a hung carrier.
    assert "PLACE_CALL_TIME_LIMIT_S must be longer" in _settings_error(
        tmp_path, PLACE_CALL_TIME_LIMIT_S="10", TWILIO_READ_TIMEOUT_MS="9000"
    )
    assert "CELERY_TASK_TIME_LIMIT_S must be longer" in _settings_error(
        tmp_path, CELERY_TASK_SOFT_TIME_LIMIT_S="60", CELERY_TASK_TIME_LIMIT_S="60"
    )
