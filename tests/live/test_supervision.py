"""Operators on a live call (live.supervision) on the harness: hang-up, say-next, transfer, listen-in, watching.

The console's messages are delivered to the session's Supervision as the
channel layer would deliver them; what it sends back is recorded instead of
crossing a channel layer.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

from live.speaker import MIN_INTERVAL_S
from live.supervision import ACK, BATCH_MS, LEASE_S, WATCH_INTERVAL_S
from tests.live.harness import Harness, ScriptBrain

QUIET = {"reminder_after_s": 120, "reminders": []}
CALLER_FIRST = {"brain": "scripted", "first_speaker": "caller", "script": [], "silence": QUIET}


def record_sends(h: Harness) -> list[tuple[str, dict[str, Any]]]:
    sent: list[tuple[str, dict[str, Any]]] = []

    async def send(channel: str, message: dict[str, Any]) -> None:
        sent.append((channel, message))

    h.session.supervision.send = send
    return sent


async def command(h: Harness, **fields: Any) -> None:
    await h.session.supervision.deliver({"type": "call.command", "actor": "alice", **fields})
    await h.clock.settle()


async def test_hang_up_ends_the_call_with_the_operator_disposition_and_says_who():
    h = Harness({**CALLER_FIRST, "greeting": "Hello there, how can I help you today?", "first_speaker": "agent"})
    await h.start()
    await h.run(0.5)  # mid-greeting

    await command(h, command="hangup")
    await h.run(0.1)

    assert h.session.finished.is_set()
    assert h.store.outcome is not None and h.store.outcome["disposition"] == "operator_hangup"
    assert h.store.outcome["status"] == "completed"
    assert ("hangup", h.session.call_sid) in h.actions.done  # through the carrier's REST API
    assert h.line.closed == 1000
    assert ("system", "Hung up by alice") in h.transcript()


async def test_say_next_waits_for_the_caller_to_finish_and_is_recorded_as_operator_injected():
    h = Harness(CALLER_FIRST, brain=ScriptBrain([]))
    await h.start()
    await h.run(0.3)
    h.stt.heard = "I am still talking"
    h.vad.speaking = True
    await h.run(0.3)

    await command(h, command="say", text="A colleague will call you back today.")
    await h.run(0.6)  # the caller is still speaking: nothing is said over them
    assert h.spoken() == []

    h.vad.speaking = False
    await h.run(2.5)
    said_at = [t for t, sentence in h.spoken() if sentence == "A colleague will call you back today."]
    assert said_at, h.transcript()
    injected = [turn for turn in h.turns("system") if turn.get("data", {}).get("operator_injected")]
    assert [(turn["data"]["operator"], turn["data"]["text"]) for turn in injected] == [
        ("alice", "A colleague will call you back today.")
    ]
    agent = h.turns("agent")[-1]
    assert agent["text"] == "A colleague will call you back today."
    assert agent["heard_text"] == agent["text"]  # played to the end: the caller heard all of it


async def test_transfer_now_bridges_the_call_and_notes_it():
    h = Harness(CALLER_FIRST)
    await h.start()
    await h.run(0.2)
    await command(h, command="transfer", number="+14155550123")
    await h.run(0.1)
    assert ("transfer", h.session.call_sid, "+14155550123") in h.actions.done
    assert ("system", "Transferred to +14155550123") in h.transcript()
    assert h.ctx.disposition == "transferred"


async def test_nobody_listening_sends_nothing_and_a_listener_gets_both_sides_in_batches():
    h = Harness({**CALLER_FIRST, "greeting": "Hello there, how can I help you today?", "first_speaker": "agent"})
    sent = record_sends(h)
    await h.start()
    await h.run(1.0)
    assert sent == []  # nobody listens: not one message

    await h.session.supervision.deliver({"type": "listen.join", "reply_to": "browser-1"})
    await h.run(1.0)
    batches = [message for channel, message in sent if message["type"] == "listen.audio"]
    assert all(channel == "browser-1" for channel, _ in sent)
    # One second of line: both sides arrive, BATCH_MS at a time (the agent's frames run ahead by the lead).
    caller_bytes = sum(len(base64.b64decode(batch["caller"])) for batch in batches)
    agent_bytes = sum(len(base64.b64decode(batch["agent"])) for batch in batches)
    assert 7000 <= caller_bytes <= 8000
    assert agent_bytes > 4000
    assert all(
        len(base64.b64decode(b["caller"])) <= 8 * BATCH_MS and len(base64.b64decode(b["agent"])) <= 8 * BATCH_MS
        for b in batches
    )
    assert all(isinstance(batch["t0"], float) for batch in batches)

    await h.session.supervision.deliver({"type": "listen.leave", "reply_to": "browser-1"})
    count = len(sent)
    await h.run(1.0)
    assert len(sent) == count  # left: the call goes quiet on the channel layer again


async def test_a_listener_that_stops_renewing_its_lease_stops_costing_anything():
    h = Harness(CALLER_FIRST)
    sent = record_sends(h)
    await h.start()
    await h.session.supervision.deliver({"type": "listen.join", "reply_to": "gone"})
    await h.run(LEASE_S + 1.0)
    count = len(sent)
    await h.run(1.0)
    assert count > 0 and len(sent) == count


async def test_a_watcher_sees_the_reply_as_it_is_spoken_and_heard_and_its_stages():
    brain = ScriptBrain(["Friday at nine works. Shall I book it?"])
    h = Harness(CALLER_FIRST, brain=brain)
    sent = record_sends(h)
    await h.start()
    await h.session.supervision.deliver({"type": "watch.join", "reply_to": "page-1"})
    await h.say("Can I come on Friday?", 1.0)
    await h.run(2.0)  # the first sentence plays and its mark comes back; the second is still playing

    views = [message for _, message in sent if message["type"] == "call.live"]
    speaking = [view for view in views if view["speaking"]]
    assert speaking, views
    assert [view["heard"] for view in speaking][:2] == ["", "Friday at nine works."]
    assert all(view["speaking"].startswith(view["heard"]) for view in speaking)
    assert {"stt_done", "first_brain_text", "first_tts_audio", "first_frame_sent"} <= set(speaking[-1]["stages"])
    # Only changes are sent, at most one every WATCH_INTERVAL_S.
    assert len(views) <= (3.0 + 1.0) / WATCH_INTERVAL_S
    assert all(a != b for a, b in itertools.pairwise(views))


def record_speakers(h: Harness) -> list[tuple[float, str]]:
    published: list[tuple[float, str]] = []

    async def publish(call_id: str, speaker: str) -> None:
        assert call_id == str(h.session.call_id)
        published.append((h.at(h.clock.now()), speaker))

    h.session.supervision.publish_speaker = publish
    return published


async def test_the_current_speaker_follows_the_greeting_and_the_caller_and_is_sent_only_when_it_changes():
    h = Harness({**CALLER_FIRST, "greeting": "Hello there, how can I help you today?", "first_speaker": "agent"})
    published = record_speakers(h)
    await h.start()
    await h.run(1.0)
    assert [speaker for _, speaker in published] == ["agent"]  # the greeting plays: nothing else yet

    await h.run(3.0)  # the greeting is over: quiet
    h.stt.heard = "I would like to book a cleaning"
    h.vad.speaking = True
    await h.run(1.5)
    h.vad.speaking = False
    speakers = [speaker for _, speaker in published]
    assert speakers[:3] == ["agent", "", "caller"]
    times = [t for t, _ in published]
    assert all(later - earlier >= MIN_INTERVAL_S for earlier, later in itertools.pairwise(times))

    await h.finish()
    assert published[-1][1] == ""  # over: nobody speaks


async def test_a_listen_lease_and_a_command_with_a_reply_channel_are_acknowledged_there():
    h = Harness(CALLER_FIRST)
    sent = record_sends(h)
    await h.start()
    await h.session.supervision.deliver({"type": "listen.join", "reply_to": "console-1"})
    await h.session.supervision.deliver({"type": "watch.join", "reply_to": "console-2"})
    await h.session.supervision.deliver(
        {"type": "call.command", "command": "say", "text": "One moment.", "actor": "alice", "reply_to": "view-1"}
    )
    await h.clock.settle()
    acks = [(channel, message) for channel, message in sent if message["type"] == ACK]
    call_id = str(h.session.call_id)
    assert acks == [
        ("console-1", {"type": ACK, "call_id": call_id, "of": "listen.join"}),
        ("view-1", {"type": ACK, "call_id": call_id, "of": "call.command"}),
    ]


async def test_the_players_tap_is_set_only_while_a_listen_lease_is_held():
    h = Harness({**CALLER_FIRST, "greeting": "Hello there, how can I help you today?", "first_speaker": "agent"})
    record_sends(h)
    await h.start()
    await h.run(0.5)
    assert h.session.player.tap is None  # nobody listens: the agent's frames cost nothing extra

    await h.session.supervision.deliver({"type": "listen.join", "reply_to": "console-1"})
    assert h.session.player.tap is not None
    await h.session.supervision.deliver({"type": "listen.leave", "reply_to": "console-1"})
    assert h.session.player.tap is None

    await h.session.supervision.deliver({"type": "listen.join", "reply_to": "gone"})
    await h.run(LEASE_S + 1.0)  # never renewed: the lease runs out with the next batch
    assert not h.session.supervision.listeners and h.session.player.tap is None


async def test_the_caller_side_of_listen_in_is_the_bytes_the_listener_decoded():
    h = Harness(CALLER_FIRST)
    sent = record_sends(h)
    await h.start()
    await h.session.supervision.deliver({"type": "listen.join", "reply_to": "console-1"})
    frames = [bytes([index % 256]) * 160 for index in range(BATCH_MS // 20)]
    for frame in frames:
        h.session.on_media(base64.b64encode(frame).decode())
    await h.clock.settle()
    [batch] = [message for _, message in sent if message["type"] == "listen.audio"]
    assert base64.b64decode(batch["caller"]) == b"".join(frames)
