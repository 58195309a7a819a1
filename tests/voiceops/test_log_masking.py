"""Phone masking must not eat the ids and times a log is read by.

A call is followed through the logs by its call id, Twilio SIDs, request id
and timestamps; they are digit runs, but never phone numbers.
"""

import json
import uuid

import pytest
import structlog

from voiceops.logging import configure_logging, mask_phone_numbers


@pytest.mark.parametrize(
    "text",
    [
        str(uuid.UUID("e52f6c23-4187-4901-9300-cad29a877bf2")),
        "CA3443dcbb2d684800a42563581de864e4",  # a CallSid with an 8-digit run inside
        "0c4f9b2a1e6d4d8f9a3b7c2e12345678",  # uuid4().hex, as request ids are
        "2026-11-21T16:55:47.123456Z",
        "2026-03-08 02:30:00-05:00",
        "/2010-04-01/Accounts/AC00000000000000000000000000000000/Calls/CA3443dcbb2d684800a42563581de864e4.json",
    ],
)
def test_ids_and_times_are_kept(text):
    assert mask_phone_numbers(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "call e52f6c23-4187-4901-9300-cad29a877bf2 to +14155550101",
            "call e52f6c23-4187-4901-9300-cad29a877bf2 to +*********01",
        ),
        ("at 2026-11-21T16:55:47Z dialed (212) 555-0102", "at 2026-11-21T16:55:47Z dialed ********02"),
        ("To=+14155550101&From=+12125550100", "To=+*********01&From=+*********00"),
        ("dial +1 415 555 0101.", "dial +*********01."),
    ],
)
def test_phone_numbers_next_to_ids_are_still_masked(text, masked):
    assert mask_phone_numbers(text) == masked


def test_a_call_can_be_followed_in_the_json_log_by_its_id_and_time(capsys):
    configure_logging("INFO")
    call_id = str(uuid.uuid4())
    structlog.contextvars.bind_contextvars(call_id=call_id, call_sid="CA" + "1234567890" * 3 + "ab")
    try:
        structlog.get_logger("test").info("transfer", to="+14155550123")
    finally:
        structlog.contextvars.clear_contextvars()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["call_id"] == call_id
    assert line["call_sid"] == "CA" + "1234567890" * 3 + "ab"
    assert line["to"] == "+*********23"
    assert "*" not in line["timestamp"] and line["timestamp"][:4].isdigit()
