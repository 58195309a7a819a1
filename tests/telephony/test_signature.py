"""signature_compute, the signing half of Twilio's scheme (for the sandbox, tests and benchmarks)."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from telephony.signature import FormFields, signature_compute, signature_valid


def test_a_computed_signature_passes_the_webhook_check(settings):
    settings.TWILIO_AUTH_TOKEN = "signing-token"
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    params = {"CallSid": "CA" + "1" * 32, "CallStatus": "ringing", "To": "+14155550100"}
    signature = signature_compute("https://voice.example.com/twilio/status/?call=1", params)
    form = FormFields({name: [value] for name, value in params.items()})
    assert signature_valid(full_path="/twilio/status/?call=1", form=form, signature=signature)
    assert not signature_valid(full_path="/twilio/status/?call=2", form=form, signature=signature)


def test_it_is_twilios_scheme_with_the_token_given_or_configured(settings):
    params = {"CallSid": "CA1", "Digits": "1234#"}
    url = "https://voice.example.com/twilio/voice/"
    assert signature_compute(url, params, auth_token="other") == RequestValidator("other").compute_signature(
        url, params
    )
    settings.TWILIO_AUTH_TOKEN = ""
    # Without a token the carrier's client authenticates with "unset" (telephony.rest), and signs so too.
    assert signature_compute(url, params) == RequestValidator("unset").compute_signature(url, params)
