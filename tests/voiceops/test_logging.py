import json
import logging

import structlog

from voiceops.logging import configure_logging, mask_phone_numbers


def test_mask_phone_numbers_keeps_only_the_last_two_digits():
    assert mask_phone_numbers("calling +14155550101 now") == "calling +*********01 now"
    assert mask_phone_numbers("(212) 555-0102") == "********02"
    assert mask_phone_numbers("call id 42, 3 turns") == "call id 42, 3 turns"


def test_logs_are_json_with_bound_context_and_masked_numbers(capsys):
    configure_logging("INFO")
    structlog.contextvars.bind_contextvars(call_id="abc-123")
    try:
        structlog.get_logger("test").info("dialing", to="+14155550101", nested={"from": "+12125550102"})
        logging.getLogger("plain").warning("stdlib line for +14155550101")
    finally:
        structlog.contextvars.clear_contextvars()
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert lines[0]["event"] == "dialing" and lines[0]["call_id"] == "abc-123"
    assert lines[0]["to"] == "+*********01" and lines[0]["nested"]["from"] == "+*********02"
    assert "+14155550101" not in lines[1]["event"]


def test_requests_carry_a_request_id(client):
    response = client.get("/login/", HTTP_X_REQUEST_ID="req-1")
    assert response["X-Request-ID"] == "req-1"


def test_a_line_below_the_level_is_dropped_before_any_redaction(capsys, monkeypatch):
    """The status webhook logs each batch at debug: below LOG_LEVEL that must cost no redaction at all."""
    from voiceops import logging as voiceops_logging

    redacted: list[str] = []
    real = voiceops_logging.redact_log_text

    def counting(text: str) -> str:
        redacted.append(text)
        return real(text)

    monkeypatch.setattr(voiceops_logging, "redact_log_text", counting)
    configure_logging("INFO")
    logger = structlog.get_logger("test.level")
    logger.debug("below the level", to="+14155550101")
    assert redacted == [] and capsys.readouterr().err == ""
    logger.info("at the level", to="+14155550101")
    assert "+14155550101" in redacted
    assert json.loads(capsys.readouterr().err)["to"] == "+*********01"
