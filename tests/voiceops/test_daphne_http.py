"""daphne's requests skip the per-request work nothing reads (voiceops.daphne_http)."""

from __future__ import annotations

import io
from types import SimpleNamespace

from daphne import http_protocol
from twisted.web.test.requesthelper import DummyChannel

from voiceops import daphne_http


def received(request_class: type, body: bytes) -> http_protocol.WebRequest:
    """A request of `request_class` on a dummy channel, fed a urlencoded POST (daphne's processing left out)."""
    channel = DummyChannel()
    channel.factory = SimpleNamespace(server=SimpleNamespace(protocol_connected=lambda request: None))  # type: ignore[attr-defined]  # what daphne reads
    request = request_class(channel)
    request.process = lambda: None  # what daphne does next is not under test
    request.requestHeaders.setRawHeaders(b"content-type", [b"application/x-www-form-urlencoded"])
    request.content = io.BytesIO()
    request.content.write(body)  # as the channel leaves it: written, positioned at its end
    request.requestReceived(b"POST", b"/twilio/status/?call=abc", b"HTTP/1.1")
    return request


def test_daphne_requests_leave_the_body_to_the_application_and_write_no_twisted_access_line():
    daphne_http.install_for_daphne()  # daphne is imported here, as in a daphne process
    daphne_http.install_for_daphne()  # and idempotent
    lean = http_protocol.WebRequest
    plain = lean.__base__
    assert getattr(lean, "lean", False) and plain.__module__ == "daphne.http_protocol"
    assert received(plain, b"CallSid=CA1&CallStatus=ringing").args[b"CallSid"] == [b"CA1"]  # Twisted's default

    request = received(lean, b"CallSid=CA1&CallStatus=ringing")
    assert request.args == {b"call": [b"abc"]}  # the query is still read; the body is not
    assert request.content.read() == b"CallSid=CA1&CallStatus=ringing"  # handed on untouched

    factory = http_protocol.HTTPFactory(SimpleNamespace())
    factory.logFile = io.StringIO()
    factory.log(request)
    assert factory.logFile.getvalue() == ""
