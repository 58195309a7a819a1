"""Each media processor on its own: push frames in, look at what comes out."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from live.pipeline.bargein import BargeInDetector, backchannel_prompt, interrupts, is_backchannel, real_words
from live.pipeline.frames import AudioFrame, UserSpeaking, UserSpeechStarted, VadFrame
from live.pipeline.heard import HeardTracker
from live.pipeline.inbound import BadMediaPayload, FrameUpsampler, MediaDecoder, Resampler
from live.pipeline.mulaw import mulaw_decode, mulaw_encode
from live.pipeline.outbound import FRAME_BYTES, MediaMessages, OutboundEncoder
from live.pipeline.pacer import FramePacer
from live.pipeline.turns import TurnDetector
from tests.live.harness import VirtualClock


def tone(seconds: float, rate: int, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_mulaw_round_trip_is_within_quantisation():
    x = np.linspace(-0.9, 0.9, 4001, dtype=np.float32)
    y = mulaw_decode(mulaw_encode(x))
    # mu-law steps are about 3% of the value (plus a small floor near zero).
    assert np.all(np.abs(x - y) <= 0.035 * np.abs(x) + 0.002)
    assert mulaw_encode(np.zeros(4, dtype=np.float32)) == b"\xff" * 4


def test_decoder_stamps_stream_time_and_refuses_bad_base64():
    decoder = MediaDecoder()
    payload = base64.b64encode(b"\xff" * 160).decode()
    first, second = decoder.process(payload), decoder.process(payload)
    assert (first.t_ms, second.t_ms) == (0.0, 20.0)
    assert len(first.samples) == 160 and first.sample_rate == 8000
    with pytest.raises(BadMediaPayload):
        decoder.process("not base64!!")


def test_streaming_resampler_doubles_the_rate_without_losing_samples():
    resampler = Resampler(8000, 16000)
    signal = tone(1.0, 8000)
    out = [resampler.process(AudioFrame(signal[i : i + 160], 8000)) for i in range(0, len(signal), 160)]
    total = sum(len(f.samples) for f in out) + len(resampler.flush().samples)
    assert total == 16000
    joined = np.concatenate([f.samples for f in out])
    # Still a 440 Hz tone: the strongest bin of the spectrum.
    spectrum = np.abs(np.fft.rfft(joined[4000:12000]))
    assert abs(np.argmax(spectrum) * 16000 / 8000 - 440) < 5


def test_the_caller_upsampler_returns_every_frame_at_once_at_double_the_rate():
    """soxr's HQ stream returned ~104 ms every fifth frame, so the VAD heard the caller up to 100 ms late."""
    upsampler = FrameUpsampler()
    signal = tone(1.0, 8000)
    out = [upsampler.process(AudioFrame(signal[i : i + 160], 8000)) for i in range(0, len(signal), 160)]
    assert {len(f.samples) for f in out} == {320}  # a frame in, a frame out
    assert [f.t_ms for f in out[:3]] == [0.0, 20.0, 40.0]
    joined = np.concatenate([f.samples for f in out])
    spectrum = np.abs(np.fft.rfft(joined[4000:12000]))
    assert abs(np.argmax(spectrum) * 16000 / 8000 - 440) < 5
    # The level is kept (zero-stuffing halves it; the filter's gain restores it).
    assert np.max(np.abs(joined[4000:])) == pytest.approx(np.max(np.abs(signal)), rel=0.05)


def windows(pattern: str, start_ms: float = 0.0) -> list[VadFrame]:
    """'s' speech / '.' silence, one character per 32 ms window."""
    return [VadFrame(1.0 if c == "s" else 0.0, c == "s", start_ms + 32 * (i + 1)) for i, c in enumerate(pattern)]


def feed(detector: TurnDetector, pattern: str) -> list[object]:
    out: list[object] = []
    for window in windows(pattern):
        audio = AudioFrame(np.zeros(512, dtype=np.float32), 16000)
        out.extend(detector.process(audio, [window]))
    return out


def test_turn_detector_pauses_then_ends_the_turn():
    detector = TurnDetector(end_of_turn_ms=500, pause_ms=200)
    events = feed(detector, "s" * 20 + "." * 17)
    kinds = [type(e).__name__ for e in events if not isinstance(e, UserSpeaking)]
    assert kinds == ["UserSpeechStarted", "UserSpeechPaused", "UserTurnEnded"]
    ended = events[-1]
    assert ended.speech_ms == 20 * 32
    assert ended.speech_end_ms == 20 * 32


def test_turn_detector_resumes_when_the_caller_goes_on():
    detector = TurnDetector(end_of_turn_ms=500, pause_ms=200)
    events = feed(detector, "s" * 10 + "." * 8 + "s" * 5 + "." * 17)
    kinds = [type(e).__name__ for e in events if not isinstance(e, UserSpeaking)]
    assert kinds == ["UserSpeechStarted", "UserSpeechPaused", "UserSpeechResumed", "UserSpeechPaused", "UserTurnEnded"]
    assert events[-1].speech_ms == 15 * 32


def test_turn_detector_drops_a_click():
    detector = TurnDetector(end_of_turn_ms=500, pause_ms=200, min_speech_ms=90)
    events = feed(detector, "s" + "." * 20)
    assert [type(e).__name__ for e in events] == ["UserSpeechStarted", "UserSpeaking"]


def test_barge_in_fires_once_after_the_minimum_and_only_over_the_agent():
    detector = BargeInDetector(min_ms=300)
    detector.process(UserSpeechStarted(0))
    assert detector.process(UserSpeaking(320, 320)) is None  # agent silent: the caller's own turn
    detector.set_agent_speaking(True, current_speech_ms=320)
    assert detector.process(UserSpeaking(600, 600)) is None  # only 280 ms over the agent
    fired = detector.process(UserSpeaking(640, 640))
    assert fired is not None and fired.speech_ms == 320
    assert detector.process(UserSpeaking(700, 700)) is None


def test_backchannels_are_recognised():
    words = ["mhm", "okay", "yeah", "uh-huh", "i see"]
    assert is_backchannel("Mhm.", words)
    assert is_backchannel("Okay, okay.", words)
    assert is_backchannel("I see.", words)
    assert not is_backchannel("Okay, but what about Friday?", words)


def test_a_hum_spelled_out_and_a_backchannel_inside_a_longer_text_are_no_words():
    """What tiny.en wrote for Piper's "Mhm." over the agent (scripts/bench_turns.py)."""
    words = ["mhm", "mm-hmm", "yeah", "i see"]
    for heard in ["M H M", "M-H-N-N.", "Mm-h. Mm-h.", "Mm-huh.", "Yeah, I see.", "Um, yeah."]:
        assert real_words(heard, words) == [], heard
    assert real_words("And, Mm-hmm.", words) == ["and"]
    assert real_words("Wait, I see a problem.", words) == ["wait", "a", "problem"]


def test_thanks_over_the_agent_is_no_words():
    """Whisper's "Thank you." for a sound it cannot place (a noisy hum), and a caller's own thanks."""
    words = ["mhm", "okay"]
    for heard in ["Thank you.", "Okay. Thank you.", "Thanks!", "Thank you very much.", "Mhm, thanks a lot."]:
        assert real_words(heard, words) == [], heard
    assert real_words("Thank you, but can you repeat that?", words) == ["but", "can", "you", "repeat", "that"]


def test_encoder_cuts_whole_frames_and_pads_the_last():
    encoder = OutboundEncoder(22050)
    frames = encoder.process(tone(0.51, 22050)) + encoder.flush()
    assert all(len(f) == FRAME_BYTES for f in frames)
    assert len(frames) == 26  # 510 ms at 8 kHz, the last frame padded
    audio = mulaw_decode(b"".join(frames))
    assert np.max(np.abs(audio[800:3200])) > 0.3


@pytest.mark.parametrize("rate", [22050, 16000, 8000])
def test_one_encoder_serves_sentence_after_sentence_as_if_each_had_a_new_one(rate):
    # The session keeps one encoder per call: after each flush it must be as good as new.
    shared = OutboundEncoder(rate)
    for seconds, freq in [(0.51, 440.0), (0.33, 300.0), (0.2, 700.0)]:
        audio = tone(seconds, rate, freq)
        fresh = OutboundEncoder(rate)
        assert shared.process(audio) + shared.flush() == fresh.process(audio) + fresh.flush()


@pytest.mark.parametrize("stream_sid", ["MZ" + "a" * 32, "", 'odd "sid" \\ \u00e9'])
def test_prebuilt_media_messages_are_twilio_media_messages_in_compact_json(stream_sid):
    messages = MediaMessages(stream_sid)
    for frame in (bytes(range(160)), b"\xff" * 160, b""):
        text = messages.text(frame)
        expected = {"event": "media", "streamSid": stream_sid, "media": {"payload": base64.b64encode(frame).decode()}}
        assert text == json.dumps(expected, separators=(",", ":"))
        parsed = json.loads(text)
        assert parsed["streamSid"] == stream_sid and base64.b64decode(parsed["media"]["payload"]) == frame


def test_heard_tracker_counts_acknowledged_chunks_and_estimates_the_cut_one():
    heard = HeardTracker()
    heard.add_chunk(text="Hello there.", mark="m1", duration_s=1.0)
    heard.add_chunk(text="Your appointment is on Tuesday at ten.", mark="m2", duration_s=2.0)
    heard.first_frame_sent(100.0)
    heard.mark_acked("m1", 101.0)
    # Cut one second into a two-second chunk of seven words: three words heard.
    assert heard.heard_text(interrupted_at=102.0) == "Hello there. Your appointment is"
    assert heard.text == "Hello there. Your appointment is on Tuesday at ten."
    heard.mark_acked("m2", 103.0)
    assert heard.all_acked and heard.heard_text() == heard.text


async def test_pacer_sends_a_little_ahead_of_real_time_and_marks_after_the_chunk():
    clock = VirtualClock()
    sent: list[tuple[str, float]] = []

    async def send_frame(frame: bytes) -> None:
        sent.append(("frame", clock.now() - 1000.0))

    async def send_mark(name: str) -> None:
        sent.append((f"mark:{name}", clock.now() - 1000.0))

    pacer = FramePacer(send_frame=send_frame, send_mark=send_mark, lead_ms=60, clock=clock.now, sleep=clock.sleep)
    pacer.start()
    pacer.push_frames([b"\xff" * 160] * 25)  # 500 ms of audio
    pacer.push_mark("m1")
    await clock.advance(1.0)
    await pacer.close()
    assert [k for k, _ in sent][-1] == "mark:m1"
    times = [round(t, 3) for k, t in sent if k == "frame"]
    # A burst up to lead_ms ahead (60 ms queued, then the frame that tops it up), then one frame every 20 ms.
    assert times == [0.0] * 4 + [round(0.02 * i, 3) for i in range(1, 22)]


async def test_pacer_clear_drops_unsent_audio_and_reports_its_marks():
    clock = VirtualClock()
    sent: list[bytes] = []

    async def send_frame(frame: bytes) -> None:
        sent.append(frame)

    async def nothing(_: object) -> None:
        return None

    pacer = FramePacer(send_frame=send_frame, send_mark=nothing, lead_ms=20, clock=clock.now, sleep=clock.sleep)
    pacer.start()
    pacer.push_frames([b"\xff" * 160] * 50)
    pacer.push_mark("m1")
    await clock.advance(0.1)
    assert pacer.clear() == ["m1"]
    assert pacer.queued_frames == 0 and not pacer.audible()
    await clock.advance(1.0)
    assert len(sent) == 7  # two at once (lead 20 ms), one every 20 ms up to 100 ms; nothing after the clear
    await pacer.close()


def test_the_backchannel_prompt_spells_hums_as_whisper_does_and_puts_them_first():
    prompt = backchannel_prompt(["yeah", "mhm", "okay", "mm-hmm", "uh-huh", "i see"])
    assert prompt == "Mm-hmm. Uh-huh. Yeah. Okay. I see."
    assert backchannel_prompt(["sí", "vale"]) == "Sí. Vale."  # another language's words, as the version has them


def test_interrupts_is_any_word_people_interrupt_with_and_nothing_else():
    assert interrupts(["no", "that's", "wrong"]) and interrupts(["wait"])
    assert not interrupts(["yeah", "right"]) and not interrupts([])
