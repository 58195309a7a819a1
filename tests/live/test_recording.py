"""Stereo recordings that span media streams: a later stream's part goes after the earlier one, where it happened."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np

from live.pipeline.mulaw import mulaw_encode
from live.recording import MAX_GAP_S, RATE, StereoRecorder


def read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, RATE)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).reshape(-1, 2)


def constant(value: float, seconds: float) -> np.ndarray:
    return np.full(round(seconds * RATE), value, dtype=np.float32)


def part(caller: float, seconds: float, at: float, agent_at: float | None = None) -> StereoRecorder:
    """A stream's recorder: `seconds` of constant caller audio from monotonic `at`, and one agent frame."""
    recorder = StereoRecorder()
    for i in range(round(seconds * 50)):  # 20 ms frames, as on_media adds them
        recorder.add_caller(constant(caller, 0.02), at + i * 0.02)
    if agent_at is not None:
        recorder.add_agent(mulaw_encode(constant(0.5, 0.02)), agent_at)
    return recorder


def first_index(channel: np.ndarray, start: int = 0) -> int:
    return start + int(np.flatnonzero(channel[start:])[0])


def test_a_later_stream_goes_after_the_earlier_part_at_its_own_time(tmp_path):
    path = tmp_path / "recordings" / "call.wav"
    start = time.monotonic()
    # The first stream: one second of caller audio, an agent frame half a second in.
    first = part(0.25, 1.0, start, agent_at=start + 0.5)
    assert first.write(path) == 1.0
    earlier = read(path)
    # The digits play for two seconds; the new stream's audio starts when it reconnects.
    second = part(-0.25, 0.5, start + 3.0, agent_at=start + 3.1)
    assert second.write(path) == 3.5

    audio = read(path)
    assert len(audio) == round(3.5 * RATE)
    assert np.array_equal(audio[: len(earlier)], earlier)  # the first part, untouched
    caller, agent = audio[:, 0], audio[:, 1]
    assert np.all(caller[:RATE] > 0)
    assert not np.any(audio[RATE : 3 * RATE])  # the gap: nothing was streamed
    assert np.all(caller[3 * RATE :] < 0)
    # Each part's agent audio is where its caller heard it.
    assert first_index(agent) == round(0.5 * RATE)
    assert first_index(agent, RATE) == round(3.1 * RATE)


def test_a_gap_longer_than_any_reconnect_is_capped(tmp_path):
    path = tmp_path / "call.wav"
    start = time.monotonic()
    part(0.25, 0.2, start).write(path)
    part(-0.25, 0.2, start + 0.2 + 10 * MAX_GAP_S).write(path)

    caller = read(path)[:, 0]
    assert len(caller) == round((0.2 + MAX_GAP_S + 0.2) * RATE)
    assert first_index(caller < 0) == round((0.2 + MAX_GAP_S) * RATE)


def test_a_stream_that_recorded_nothing_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "call.wav"
    part(0.25, 0.4, time.monotonic(), agent_at=time.monotonic()).write(path)
    before = path.read_bytes()

    assert StereoRecorder().write(path) == 0.4
    assert path.read_bytes() == before


def test_a_single_stream_starts_the_file_and_a_stray_file_is_not_kept(tmp_path):
    path = tmp_path / "call.wav"
    path.write_bytes(b"not a recording")
    start = time.monotonic()
    assert part(0.25, 0.4, start, agent_at=start).write(path) == 0.4

    audio = read(path)
    assert len(audio) == round(0.4 * RATE)
    assert np.all(audio[:, 0] > 0) and first_index(audio[:, 1]) == 0
