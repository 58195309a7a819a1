"""Turn-taking: VAD verdicts plus audio in; speech start, pause, resume and end of turn out."""

from __future__ import annotations

from collections import deque

import numpy as np

from live.pipeline.frames import (
    AudioFrame,
    Samples,
    UserSpeaking,
    UserSpeechPaused,
    UserSpeechResumed,
    UserSpeechStarted,
    UserTurnEnded,
    VadFrame,
)

Event = UserSpeechStarted | UserSpeaking | UserSpeechPaused | UserSpeechResumed | UserTurnEnded


class TurnDetector:
    """Collects one utterance at a time and decides when the caller has finished.

    `pause_ms` of silence emits UserSpeechPaused (the engine starts STT and the
    brain speculatively); `end_of_turn_ms` emits UserTurnEnded (commit).
    Utterances with less than `min_speech_ms` of speech are noise and dropped.
    A little audio before the first speech window is kept (`preroll_ms`) so
    Whisper hears the onset of the first word.

    Turn taking may move the end of the current turn (`set_window`): sooner
    when the words so far sound finished, later when they do not. Each new
    utterance, and the caller resuming after a pause, starts again from
    `end_of_turn_ms`.
    """

    def __init__(
        self,
        *,
        end_of_turn_ms: float = 500,
        pause_ms: float = 200,
        min_speech_ms: float = 90,
        preroll_ms: float = 300,
        max_utterance_s: float = 28.0,
    ) -> None:
        self.end_of_turn_ms = end_of_turn_ms
        self.window_ms = end_of_turn_ms  # the end-of-turn silence for the current utterance
        self.pause_ms = min(pause_ms, end_of_turn_ms)
        self.min_speech_ms = min_speech_ms
        self.max_utterance_ms = max_utterance_s * 1000
        self._preroll: deque[Samples] = deque()
        self._preroll_samples = int(16 * preroll_ms)
        self._preroll_len = 0  # samples in _preroll (summed once per frame otherwise)
        self._utterance: list[Samples] = []
        self._active = False
        self._speech_ms = 0.0
        self._speech_start_ms = 0.0
        self._last_speech_ms = 0.0
        self._paused_sent = False
        self._pending_audio: list[Samples] = []

    @property
    def active(self) -> bool:
        return self._active

    def set_window(self, ms: float) -> None:
        """This utterance ends after `ms` of silence (checked at the next VAD window)."""
        if self._active:
            self.window_ms = ms

    def audio_so_far(self) -> Samples:
        """The current utterance's audio up to now (empty between utterances)."""
        return self._audio() if self._active else np.zeros(0, dtype=np.float32)

    def process(self, audio: AudioFrame, vad: list[VadFrame]) -> list[Event]:
        """Feed the 16 kHz audio of one media frame and the VAD windows it completed."""
        out: list[Event] = []
        if self._active:
            self._utterance.append(audio.samples)
        else:
            self._preroll.append(audio.samples)
            self._preroll_len += len(audio.samples)
            while self._preroll_len > self._preroll_samples and len(self._preroll) > 1:
                self._preroll_len -= len(self._preroll.popleft())
        for window in vad:
            if window.speech:
                if not self._active:
                    self._active = True
                    self.window_ms = self.end_of_turn_ms
                    self._speech_ms = 0.0
                    self._speech_start_ms = window.t_ms - 32
                    self._utterance = list(self._preroll)
                    self._preroll.clear()
                    self._preroll_len = 0
                    out.append(UserSpeechStarted(self._speech_start_ms))
                elif self._paused_sent:
                    self.window_ms = self.end_of_turn_ms
                    out.append(UserSpeechResumed(window.t_ms))
                self._paused_sent = False
                self._speech_ms += 32
                self._last_speech_ms = window.t_ms
                out.append(UserSpeaking(self._speech_ms, window.t_ms))
                if window.t_ms - self._speech_start_ms >= self.max_utterance_ms:
                    # Whisper hears 30 s at most: cut a monologue into turns.
                    ended = self._end()
                    if ended is not None:
                        out.append(ended)
            elif self._active:
                silence = window.t_ms - self._last_speech_ms
                if silence >= self.window_ms:
                    event = self._end()
                    if event is not None:
                        out.append(event)
                elif silence >= self.pause_ms and not self._paused_sent:
                    self._paused_sent = True
                    if self._speech_ms >= self.min_speech_ms:
                        out.append(UserSpeechPaused(self._audio(), self._last_speech_ms, self._speech_ms))
        return out

    def _audio(self) -> Samples:
        return np.concatenate(self._utterance) if self._utterance else np.zeros(0, dtype=np.float32)

    def _end(self) -> UserTurnEnded | None:
        audio, speech_ms = self._audio(), self._speech_ms
        self._active = False
        self._paused_sent = False
        self._utterance = []
        self._speech_ms = 0.0
        if speech_ms >= self.min_speech_ms:
            return UserTurnEnded(audio, self._last_speech_ms, speech_ms)
        return None
