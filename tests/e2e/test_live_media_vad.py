"""Silero through onnxruntime: one shared model, per-call state, same verdicts however audio arrives."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from live.pipeline.frames import AudioFrame
from live.pipeline.pacer import FramePacer
from live.pipeline.vad import WINDOW, VadProcessor, silero_session

pytestmark = [pytest.mark.e2e]  # real models (or real threads and time)


@pytest.fixture(scope="module")
def caller_16k() -> np.ndarray:
    """Half a second of line silence, a real spoken sentence (Piper), then silence again."""
    import soxr
    from piper.config import SynthesisConfig

    from live.speech.tts import get_tts

    tts = get_tts("piper")
    # Without Piper's sampling noise the sentence is the same audio on every
    # run, so these verdict comparisons are repeatable.
    still = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    text = "Could I move my appointment to Friday afternoon?"
    chunks = tts._voice.synthesize(text, syn_config=still)  # type: ignore[attr-defined]
    speech = np.concatenate([np.asarray(c.audio_float_array, dtype=np.float32) for c in chunks])
    speech = soxr.resample(speech, tts.sample_rate, 16000).astype(np.float32)
    return np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(12000, np.float32)])


def in_frames(audio: np.ndarray, size: int = 320) -> list[AudioFrame]:
    """Cut audio into media-sized frames (320 samples = 20 ms at 16 kHz)."""
    return [AudioFrame(audio[i : i + size], 16000) for i in range(0, len(audio), size)]


def test_one_session_serves_every_call():
    assert VadProcessor()._session is VadProcessor()._session is silero_session()


def test_frame_size_does_not_change_the_verdicts(caller_16k):
    whole = VadProcessor().process(AudioFrame(caller_16k, 16000))
    streamed = VadProcessor()
    windows = [w for frame in in_frames(caller_16k) for w in streamed.process(frame)]
    assert len(windows) == len(whole) == len(caller_16k) // WINDOW
    assert [w.t_ms for w in windows] == [w.t_ms for w in whole]
    np.testing.assert_allclose([w.probability for w in windows], [w.probability for w in whole], atol=1e-5)
    speech = [w.t_ms for w in windows if w.speech]
    # Speech is found where the sentence is, and the silence around it is not speech.
    assert speech and speech[0] >= 500 and len(speech) > len(windows) // 3
    assert not windows[-1].speech


def test_calls_sharing_the_model_keep_their_own_state(caller_16k):
    alone = VadProcessor()
    expected = [w.probability for f in in_frames(caller_16k) for w in alone.process(f)]
    # Two calls interleaved frame by frame: one hears the sentence, the other a
    # different signal. Neither may leak recurrent state into the other.
    a, b = VadProcessor(), VadProcessor()
    other = np.roll(caller_16k, 7000)[::-1].copy()
    got: list[float] = []
    for fa, fb in zip(in_frames(caller_16k), in_frames(other), strict=True):
        got.extend(w.probability for w in a.process(fa))
        b.process(fb)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_silence_is_gated_without_running_the_model():
    vad = VadProcessor()
    out = vad.process(AudioFrame(np.zeros(16000, np.float32), 16000))
    assert len(out) == 16000 // WINDOW and not any(w.speech for w in out)
    assert vad.model_windows == 0


def test_the_energy_gate_changes_no_verdict(caller_16k):
    """Skipping silent windows saves the model's time, never a word: the same speech windows as without it."""
    gated, ungated = VadProcessor(), VadProcessor(silence_rms=0.0)
    with_gate = [w for f in in_frames(caller_16k) for w in gated.process(f)]
    without = [w for f in in_frames(caller_16k) for w in ungated.process(f)]
    assert [w.speech for w in with_gate] == [w.speech for w in without]
    assert gated.model_windows < ungated.model_windows == len(without)


def test_wrong_rate_is_refused():
    with pytest.raises(ValueError, match="16 kHz"):
        VadProcessor().process(AudioFrame(np.zeros(160, np.float32), 8000))


async def test_pacer_counts_queued_frames_through_sends_and_clear():
    sent: list[bytes] = []

    async def send_frame(frame: bytes) -> None:
        sent.append(frame)

    async def send_mark(name: str) -> None:
        return None

    # A clock that stands still: the pacer sends its lead (50 ms: three 20 ms
    # frames) and then waits for playback that never advances.
    pacer = FramePacer(send_frame=send_frame, send_mark=send_mark, lead_ms=50, clock=lambda: 1000.0)
    pacer.push_frames([b"a" * 160] * 10)
    pacer.push_mark("m1")
    assert pacer.queued_frames == 10
    pacer.start()
    for _ in range(20):
        await asyncio.sleep(0.005)
    assert len(sent) == 3
    assert pacer.queued_frames == 7
    assert pacer.clear() == ["m1"]
    assert pacer.queued_frames == 0
    await pacer.close()
