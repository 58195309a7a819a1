"""Twilio Media Streams messages for the media socket's tests, shaped as Twilio sends them."""

from __future__ import annotations


def start_message(call_sid: str, stream_sid: str, token: str) -> dict:
    return {
        "event": "start",
        "sequenceNumber": "1",
        "start": {
            "accountSid": "AC" + "0" * 32,
            "streamSid": stream_sid,
            "callSid": call_sid,
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": {"token": token},
        },
        "streamSid": stream_sid,
    }


def media(stream_sid: str, payload: str) -> dict:
    return {"event": "media", "streamSid": stream_sid, "media": {"track": "inbound", "payload": payload}}
