"""POST /twilio/voice/: signature, agent lookup, call records and the <Connect><Stream> answer."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import time_machine
from twilio.request_validator import RequestValidator

from calls.models import Call
from telephony.tokens import BadStreamToken, stream_token_read
from tests.factories import AgentVersionFactory, CallFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db

URL = "/twilio/voice/"


def post(client, settings, params, path=URL, token=None, signature=None):
    headers = {}
    if token:
        full = settings.PUBLIC_BASE_URL + path
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature or RequestValidator(token).compute_signature(full, params)
    return client.post(path, params, **headers)


def stream_of(response):
    root = ET.fromstring(response.content)  # noqa: S314  (our own server's TwiML)
    stream = root.find("./Connect/Stream")
    assert stream is not None, response.content
    return stream.get("url"), {p.get("name"): p.get("value") for p in stream.findall("Parameter")}


def test_inbound_call_is_created_and_connected_to_the_media_socket(client, settings):
    settings.TWILIO_AUTH_TOKEN = "secret"
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    version = AgentVersionFactory(config={"brain": "scripted", "greeting": "Hi."})
    number = PhoneNumberFactory(agent=version.agent)
    params = {"CallSid": "CA" + "1" * 32, "From": "+12125550100", "To": number.e164, "Direction": "inbound"}

    response = post(client, settings, params, token="secret")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    url, parameters = stream_of(response)
    assert url == "wss://voice.example.com/ws/twilio/media/"
    call = Call.objects.get(twilio_call_sid=params["CallSid"])
    assert (call.direction, call.agent_version, call.from_number, call.to_number) == (
        "inbound",
        version,
        "+12125550100",
        number.e164,
    )
    assert stream_token_read(parameters["token"]) == call.pk
    # Twilio retries a slow webhook: the same call, not a second one.
    assert post(client, settings, params, token="secret").status_code == 200
    assert Call.objects.filter(twilio_call_sid=params["CallSid"]).count() == 1


def test_outbound_call_found_by_the_answer_url_gets_its_sid(client, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    call = CallFactory(direction="outbound", twilio_call_sid=None)
    response = post(client, settings, {"CallSid": "CA" + "2" * 32, "To": "+12125550111"}, path=f"{URL}?call={call.pk}")
    url, parameters = stream_of(response)
    assert url == "ws://127.0.0.1:8000/ws/twilio/media/"
    call.refresh_from_db()
    assert call.twilio_call_sid == "CA" + "2" * 32
    assert stream_token_read(parameters["token"]) == call.pk


def test_forged_signature_is_refused_and_creates_nothing(client, settings):
    settings.TWILIO_AUTH_TOKEN = "secret"
    number = PhoneNumberFactory(agent=AgentVersionFactory().agent)
    params = {"CallSid": "CA" + "3" * 32, "To": number.e164}
    assert post(client, settings, params, token="secret", signature="forged").status_code == 403
    assert client.post(URL, params).status_code == 403  # no signature at all
    assert not Call.objects.exists()


def test_unknown_number_and_bad_call_id_get_clear_answers(client, settings):
    response = post(client, settings, {"CallSid": "CA" + "4" * 32, "To": "+19999999999"})
    assert response.status_code == 200 and b"<Hangup" in response.content and b"<Connect" not in response.content
    assert post(client, settings, {"CallSid": "CA1"}, path=f"{URL}?call=not-a-uuid").status_code == 400
    assert not Call.objects.exists()


def test_stream_tokens_expire_and_cannot_be_forged(settings):
    settings.MEDIA_STREAM_TOKEN_MAX_AGE_S = 60
    call = CallFactory()
    from telephony.tokens import stream_token_make

    with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), tick=False) as traveller:
        token = stream_token_make(call.pk)
        assert stream_token_read(token) == call.pk
        traveller.shift(61)
        with pytest.raises(BadStreamToken, match="expired"):
            stream_token_read(token)
    with pytest.raises(BadStreamToken, match="invalid"):
        stream_token_read(token[:-2] + "xx")
