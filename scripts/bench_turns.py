"""Turn-taking benchmark: premature end of turn and false barge-in, with counts, on a dialogue set we make here.

    .venv/bin/python scripts/bench_turns.py [--quick]

The dialogue set is synthesised on the spot, the same every run: the Piper
voice (en_US-joe-medium, packaged) at three speeds, through the phone band
(resampled to 8 kHz and mu-law coded, as Twilio carries it), with and
without line noise (white noise at 20 dB SNR), plus coughs and a door (noise
bursts shaped like them) that no speech-to-text should turn into words.
The espeak-ng voice (Debian's espeak-ng, installed by scripts/test) speaks
every line too when the `espeak-ng` binary is on PATH (not with --quick).

Each dialogue runs through the engine's own pieces, not a model of them:
the caller's pipeline (live.pipeline.listener: mu-law decode, the 8 to 16 kHz
upsampler, Silero VAD, the turn detector), the turn-taking state machine
(live.turn_taking) and the real faster-whisper tiny.en for the speculative
transcript and the check on speech over the agent. Time is the stream's own
(20 ms per frame); each speech-to-text call delivers its words after the
wall-clock time it really took, so a slow machine shows up as late words.

It prints:
1. premature end of turn: "Um, I think ... Tuesday." with a 900 ms pause
   inside; the turn counts as ended early if a commit comes before the
   caller's last words; for the transcript rule (the default) and for the
   500 ms silence rule;
2. the end of finished turns: silence from the end of speech to the commit,
   p50 / p95, for both rules;
3. false barge-in: coughs, a door, line noise and backchannels ("mhm"
   hummed, "yeah", "right", "okay", "uh-huh") over the agent; a cut is a false
   barge-in, a pause that resumes is not; for the word-confirmed barge-in
   (the default) and the old cut at 300 ms of speech;
4. real barge-ins: how many cut the agent, and the time from the minimum
   speech (300 ms) to the cut.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FRAME = 160  # 20 ms at 8 kHz
SPEEDS = (0.9, 1.0, 1.15)
HESITATIONS = [
    ("Um, I think", "Tuesday would be good."),
    ("Let me see", "maybe Friday morning."),
    ("I was wondering if", "you have anything next week."),
    ("My name is, uh", "Jordan Smith."),
    ("I'd like to book an", "appointment for a cleaning."),
    ("Could we do it on the", "fourteenth?"),
    ("Hmm, maybe", "Thursday afternoon."),
    ("So I'm calling because", "my tooth hurts."),
]
FINISHED = [
    "Tuesday would be good.",
    "Yes, that's right.",
    "My name is Jordan Smith.",
    "Can I come in on Friday?",
    "No thanks, I'm not interested.",
    "Nine thirty works for me.",
]
# "Mhm." is hummed (hum() below): both voices spell it out, the letters "em aitch em"
# (espeak-ng's phonemizer, Piper's too, reads it as three letters), which no caller says and
# tiny.en hears as "And make it." The spelled one is still run and printed, not counted.
BACKCHANNELS = ["Yeah.", "Right.", "Okay.", "Uh-huh.", "Yeah, yeah."]
SPELLED_HUM = "Mhm."
# Speech-to-text lines: the finished turns above plus numbers read out, where tiny.en loops.
NUMBER_LINES = [
    "My card number is 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1.",
    "The code is 4 4 4 4.",
    "Call me back at 5 5 5 1 2 3 4.",
    "No, no, no, no.",
]
REAL_BARGE_INS = [
    "Wait, sorry, can I stop you there?",
    "Actually, I need to change that.",
    "No, that's the wrong day.",
    "Hold on, what was the address?",
    "Sorry?",  # one word: the early look hears it, or the caller's pause does
    "Stop.",
]


@dataclass
class Outcome:
    commits: list[float] = field(default_factory=list)  # stream seconds of each commit
    pauses: list[float] = field(default_factory=list)
    resumes: list[float] = field(default_factory=list)
    cuts: list[float] = field(default_factory=list)
    stt_calls: int = 0
    heard: list[str] = field(default_factory=list)  # every transcript, in order
    confidence: list[float | None] = field(default_factory=list)  # Whisper's confidence in each, in the same order
    words_at: list[float] = field(default_factory=list)  # when each speculation's words were known
    smart_turn_s: list[float] = field(default_factory=list)  # wall time of each Smart Turn run
    voice: list[float] = field(default_factory=list)  # Smart Turn's probability at each pause


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one speed, no noise variants")
    parser.add_argument("--verbose", action="store_true", help="print what was heard in each failure")
    parser.add_argument(
        "--only", choices=("turns", "barge-in", "stt"), help="one part: end of turn (1-2), barge-in (3-4), STT (5)"
    )
    parser.add_argument(
        "--smart-turn", default=None, help="Smart Turn v3.2 ONNX file (default: SMART_TURN_MODEL, see README)"
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceops.settings")
    os.environ.setdefault("VOICEOPS_VAR_DIR", tempfile.mkdtemp(prefix="voiceops-bench-turns-"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("DATABASE_URL", None)  # nothing here touches a database
    import django

    django.setup()
    from django.conf import settings

    from live.speech.smart_turn import get_smart_turn
    from live.speech.stt import get_stt
    from live.speech.tts import get_tts

    stt, tts = get_stt(), get_tts("piper")
    smart = get_smart_turn(settings.SMART_TURN_MODEL if args.smart_turn is None else args.smart_turn)
    rules: list[tuple[str, str, object | None]] = []
    if smart is not None:
        rules.append(("smart", "words+voice", smart))  # the default where the model is installed
    rules.append(("words", "words", None))
    rules.append(("silence", "silence 500 ms", None))
    speeds = (1.0,) if args.quick else SPEEDS
    noises = (False,) if args.quick else (False, True)
    voices = [("piper", speed) for speed in speeds] + (
        [("espeak", 1.0)] if shutil.which("espeak-ng") and not args.quick else []
    )
    rng = np.random.default_rng(14)
    started = time.monotonic()
    print(f"dialogue set: voices {voices}, noise {noises}; load average {os.getloadavg()[0]:.1f} (2 shared cores)")

    def say(text: str, voice: tuple[str, float]) -> np.ndarray:
        return speak(tts, text, voice)

    if args.only in (None, "turns"):
        end_of_turn_report(args, stt, rules, voices, noises, say, rng)
    if args.only in (None, "barge-in"):
        barge_in_report(args, stt, voices, noises, say, rng)
    if args.only in (None, "stt"):
        stt_report(stt, voices, noises, say, rng)
    print(f"\ndone in {time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")


def same_noise(audio: np.ndarray) -> np.random.Generator:
    """The line noise for one dialogue, the same whichever rule hears it (rules are compared on the same audio)."""
    return np.random.default_rng([14, len(audio)])


def end_of_turn_report(args: Any, stt: Any, rules: Any, voices: Any, noises: Any, say: Any, rng: Any) -> None:
    print("\n1. premature end of turn (a 900 ms pause after a hesitation, then the rest of the sentence)")
    for mode, label, model in rules:
        early = total = 0
        for first, rest in HESITATIONS:
            for voice in voices:
                for noisy in noises:
                    audio, rest_at = join([say(first, voice), silence(0.9), say(rest, voice)], mark=2)
                    outcome = run(
                        audio, stt, mode=mode, agent_audible=False, noisy=noisy, rng=same_noise(audio), smart_turn=model
                    )
                    total += 1
                    if any(at < rest_at for at in outcome.commits):
                        early += 1
                        if args.verbose:
                            print(
                                f"     early: {first!r} {voice} noise={noisy} heard {outcome.heard} "
                                f"voice {outcome.voice}"
                            )
        print(f"   {label:15s} rule: {early}/{total} ended early ({100 * early / total:.1f}%)")

    print("\n2. end of finished turns: from the end of speech to the reply's go (commit and words both there)")
    for mode, label, model in rules:
        delays: list[float] = []
        voice_s: list[float] = []
        for line in FINISHED:
            for voice in voices:
                for noisy in noises:
                    audio, end_at = join([say(line, voice)], mark=1)
                    outcome = run(
                        audio, stt, mode=mode, agent_audible=False, noisy=noisy, rng=same_noise(audio), smart_turn=model
                    )
                    voice_s += outcome.smart_turn_s
                    if outcome.commits and outcome.words_at:
                        # The reply needs the commit and the words; whichever comes last.
                        ready = max(outcome.commits[0], min(at for at in outcome.words_at))
                        delays.append(1000 * (ready - end_at))
        print(
            f"   {label:15s} rule: p50 {np.percentile(delays, 50):.0f} ms, p95 {np.percentile(delays, 95):.0f} ms "
            f"({len(delays)} turns; includes the speech-to-text wall time on this machine)"
        )
        if voice_s:
            print(
                f"   {'':15s} Smart Turn itself: p50 {1000 * np.percentile(voice_s, 50):.0f} ms of wall time per pause"
            )


def barge_in_report(args: Any, stt: Any, voices: Any, noises: Any, say: Any, rng: Any) -> None:
    sounds: list[tuple[str, np.ndarray]] = [("cough", cough(rng)) for _ in range(4)]
    sounds += [("door", door(rng)) for _ in range(2)]
    sounds += [("line noise", 0.05 * rng.standard_normal(int(0.6 * 22050)).astype(np.float32)) for _ in range(2)]
    sounds += [("backchannel 'mhm' (hummed)", hum(rng)) for _ in voices]
    sounds += [(f"backchannel {text!r}", say(text, voice)) for text in BACKCHANNELS for voice in voices]
    print("\n3. false barge-in (non-words and backchannels over the agent)")
    spelled = [say(SPELLED_HUM, voice) for voice in voices]
    spelled_cuts = 0
    for sound in spelled:
        for noisy in noises:
            audio, _ = join([silence(0.5), sound, silence(0.2)], mark=1)
            spelled_cuts += bool(run(audio, stt, mode="words", agent_audible=True, noisy=noisy, rng=rng).cuts)
    print(
        f"   not counted: {SPELLED_HUM!r} as the voices say it, the letters M H M: "
        f"{spelled_cuts}/{len(spelled) * len(noises)} cut the agent"
    )
    for confirm_ms in (200, 0):
        label = "word-confirmed" if confirm_ms else "cut at 300 ms"
        cuts = pauses = total = 0
        by_kind: dict[str, list[int]] = {}
        for kind, sound in sounds:
            for noisy in noises:
                audio, _ = join([silence(0.5), sound, silence(0.2)], mark=1)
                outcome = run(audio, stt, mode="words", agent_audible=True, noisy=noisy, rng=rng, confirm_ms=confirm_ms)
                total += 1
                cut = bool(outcome.cuts)
                cuts += cut
                if confirm_ms and args.verbose and (cut or kind.startswith("backchannel")):
                    verdict = "cut" if cut else "kept"
                    heard = list(zip(outcome.heard, outcome.confidence, strict=True))
                    print(f"     {verdict}: {kind} noise={noisy} heard {heard}")
                pauses += bool(outcome.pauses) and not cut
                entry = by_kind.setdefault(kind.split(" ")[0], [0, 0])
                entry[0] += cut
                entry[1] += 1
        detail = ", ".join(f"{kind} {c}/{n}" for kind, (c, n) in by_kind.items())
        print(f"   {label:15s}: {cuts}/{total} cut the agent ({100 * cuts / total:.1f}%); {pauses} paused and resumed")
        print(f"   {'':15s}  {detail}")

    print("\n4. real barge-ins (must cut, and soon)")
    for confirm_ms in (200, 0):
        label = "word-confirmed" if confirm_ms else "cut at 300 ms"
        cut_delays: list[float] = []  # from the minimum speech (the agent's pause) to the cut
        short_delays: list[float] = []  # shorter than the minimum: from the end of the speech to the cut
        total = short = 0
        for line in REAL_BARGE_INS:
            for voice in voices:
                audio, speech_end = join([silence(0.5), say(line, voice), silence(0.2)], mark=2)
                outcome = run(audio, stt, mode="words", agent_audible=True, noisy=False, rng=rng, confirm_ms=confirm_ms)
                total += 1
                paused = bool(outcome.pauses) or confirm_ms == 0
                short += not paused
                if not outcome.cuts:
                    continue
                if paused:
                    reference = outcome.pauses[0] if outcome.pauses else outcome.cuts[0]
                    cut_delays.append(1000 * (outcome.cuts[0] - reference))
                    what = "after the pause"
                else:
                    reference = speech_end
                    short_delays.append(1000 * (outcome.cuts[0] - reference))
                    what = "after the speech ended (shorter than the minimum)"
                if args.verbose:
                    print(
                        f"     {line!r} {voice}: cut {1000 * (outcome.cuts[0] - reference):.0f} ms {what},"
                        f" heard {list(zip(outcome.heard, outcome.confidence, strict=True))}"
                    )
        cut_count = len(cut_delays) + len(short_delays)
        figures = (
            f"; from the minimum speech to the cut p50 {np.percentile(cut_delays, 50):.0f} ms, "
            f"max {max(cut_delays):.0f} ms"
            if cut_delays
            else ""
        )
        if short:
            figures += (
                f"; {short} shorter than the minimum speech, {len(short_delays)} of them cut at the caller's pause"
            )
            if short_delays:
                figures += f" (p50 {np.percentile(short_delays, 50):.0f} ms after the speech ended)"
        print(f"   {label:15s}: {cut_count}/{total} cut{figures}")


def stt_report(stt: Any, voices: Any, noises: Any, say: Any, rng: Any) -> None:
    print("\n5. speech-to-text: the engine's path (short window, loops decoded again) vs faster-whisper's standard")
    import soxr

    from agents.brains.repetition import looks_hallucinated, repetition_rate

    for label, path in (("engine", "engine"), ("standard", "standard")):
        errors = words = loops = 0
        rates: list[float] = []
        for line in FINISHED + NUMBER_LINES:
            for voice in voices:
                for noisy in noises:
                    audio8 = soxr.resample(say(line, voice), 22050, 8000).astype(np.float32)
                    if noisy:
                        audio8 = audio8 + 0.01 * rng.standard_normal(len(audio8)).astype(np.float32)
                    audio16 = soxr.resample(phone_band(audio8), 8000, 16000).astype(np.float32)
                    if path == "engine":
                        heard = str(stt.transcribe(audio16, language="en"))
                    else:
                        heard = stt._transcribe_standard(audio16, "en")
                    expected = spoken_words(line)
                    errors += edit_distance(expected, spoken_words(heard))
                    words += len(expected)
                    rates.append(repetition_rate(heard))
                    loops += looks_hallucinated(heard)
        print(
            f"   {label:9s}: WER {100 * errors / words:.1f}% ({errors}/{words} words), "
            f"mean repetition rate {np.mean(rates):.3f}, transcripts that still loop {loops}/{len(rates)}"
        )


_NUMBER_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "for": "4"}
_NUMBER_WORDS |= {"five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}


def spoken_words(text: str) -> list[str]:
    """Lower-case words, digits one by one ("4,111" and "four one one one" both 4 1 1 1), for WER."""
    import re

    out: list[str] = []
    for token in re.findall(r"[a-z']+|\d", text.lower().replace(",", " ")):
        out.append(_NUMBER_WORDS.get(token, token))
    return out


def edit_distance(reference: list[str], heard: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions, insertions, deletions)."""
    previous = list(range(len(heard) + 1))
    for i, word in enumerate(reference, start=1):
        current = [i]
        for j, other in enumerate(heard, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other)))
        previous = current
    return previous[-1]


def phone_band(audio8: np.ndarray) -> np.ndarray:
    """Through the mu-law codec, as Twilio carries it."""
    from live.pipeline.mulaw import mulaw_decode, mulaw_encode

    return np.asarray(mulaw_decode(mulaw_encode(np.clip(audio8, -1, 1))), dtype=np.float32)


# ---- running one dialogue through the engine's pieces ---------------------------------------


def run(
    audio22: np.ndarray,
    stt: object,
    *,
    mode: str,
    agent_audible: bool,
    noisy: bool,
    rng: np.random.Generator,
    confirm_ms: float = 200,
    smart_turn: object | None = None,
) -> Outcome:
    """One dialogue, frame by frame, on the stream's clock; the decisions that came out."""
    import soxr

    from agents.brains.config import DEFAULT_BACKCHANNELS, SilenceSettings
    from live import turn_taking as tt
    from live.pipeline.bargein import backchannel_prompt
    from live.pipeline.listener import Listener
    from live.pipeline.mulaw import mulaw_encode

    audio8 = soxr.resample(audio22, 22050, 8000).astype(np.float32)
    if noisy:
        level = np.sqrt(np.mean(audio8[np.abs(audio8) > 0.01] ** 2)) if np.any(np.abs(audio8) > 0.01) else 0.05
        audio8 = audio8 + (level / 10.0) * rng.standard_normal(len(audio8)).astype(np.float32)  # 20 dB SNR
    audio8 = np.concatenate([audio8, np.zeros(int(3.0 * 8000), dtype=np.float32)])  # time for the turn to end
    coded = mulaw_encode(np.clip(audio8, -1, 1))
    listener = Listener(end_of_turn_ms=500, pause_ms=200)
    machine = tt.TurnTaking(
        started_at=0.0,
        max_duration_s=3600,
        silence=SilenceSettings(reminder_after_s=600, reminders=[]),
        barge_in_min_ms=300,
        interruptible=True,
        end_of_turn=tt.EndOfTurn(mode=mode, silence_ms=500, finished_ms=250, unfinished_ms=2000),
        barge_in_confirm_ms=confirm_ms,
        backchannel_words=list(DEFAULT_BACKCHANNELS),
    )
    machine.expect_acoustic = smart_turn is not None
    outcome = Outcome()
    pending: list[tuple[float, str, str, int]] = []  # (due, "words" | "overlap", text, speculation number)
    speculation = 0
    audible = agent_audible

    def transcribe(samples: np.ndarray, *, overlap: bool, look: bool = False) -> tuple[str, float]:
        # As the engine does: decodes of speech over the agent are prompted with the backchannel words.
        prompt = backchannel_prompt(list(DEFAULT_BACKCHANNELS)) if overlap else ""
        began = time.perf_counter()
        heard = stt.transcribe(samples, language="en", prompt=prompt, quick=look)  # type: ignore[attr-defined]
        text = str(heard)
        outcome.stt_calls += 1
        outcome.heard.append(text)
        outcome.confidence.append(getattr(heard, "confidence", None))
        return heard, time.perf_counter() - began

    def apply(decisions: Sequence[object], now: float) -> None:
        nonlocal speculation, audible
        for decision in decisions:
            if isinstance(decision, tt.Speculate):
                speculation += 1
                text, took = transcribe(decision.audio, overlap=decision.overlapped_agent)  # every speculation
                pending.append((now + took, "words", text, speculation))
                if smart_turn is not None:
                    began = time.perf_counter()
                    probability = smart_turn.probability(decision.audio)  # type: ignore[attr-defined]
                    outcome.smart_turn_s.append(time.perf_counter() - began)
                    outcome.voice.append(round(probability, 2))
                    # On the engine it runs beside the speech-to-text: whichever is slower counts.
                    due = now + max(took, outcome.smart_turn_s[-1])
                    pending.append((due, "voice", str(probability), speculation))
            elif isinstance(decision, tt.Discard):
                speculation += 1
            elif isinstance(decision, tt.TurnWindow):
                listener.turns.set_window(decision.ms)
            elif isinstance(decision, tt.Commit):
                outcome.commits.append(now)
            elif isinstance(decision, (tt.PauseAgent, tt.CheckOverlap)):  # a look at the overlap, as the engine's
                if isinstance(decision, tt.PauseAgent):
                    outcome.pauses.append(now)
                text, took = transcribe(listener.turns.audio_so_far(), overlap=True, look=True)
                pending.append((now + took, "overlap", text, speculation))
            elif isinstance(decision, tt.ResumeAgent):
                outcome.resumes.append(now)
            elif isinstance(decision, tt.BargeIn):
                outcome.cuts.append(now)
                audible = False  # the agent stopped

    for index in range(0, len(coded) - FRAME + 1, FRAME):
        payload = base64.b64encode(coded[index : index + FRAME]).decode()
        _frame, events, stream_ms, _mulaw = listener.hear(payload)
        now = stream_ms / 1000.0
        for due, kind, text, number in sorted(p for p in pending if p[0] <= now):
            pending.remove((due, kind, text, number))
            if kind == "words" and number == speculation:
                outcome.words_at.append(now)
                apply(machine.words(text, now=now), now)
            elif kind == "voice" and number == speculation:
                apply(machine.acoustic(float(text)), now)
            elif kind == "overlap":
                apply(machine.overlap_words(text, now=now, final=False), now)
        for event in events:
            apply(machine.hear(event, now=now, stream_ms=stream_ms, agent_audible=audible), now)
        if index % (FRAME * 12) == 0:
            apply(
                machine.tick(now, caller_speaking=listener.caller_speaking, replying=False, agent_audible=audible), now
            )
    return outcome


# ---- the dialogue set -------------------------------------------------------------------------


def speak(tts: object, text: str, voice: tuple[str, float]) -> np.ndarray:
    """`text` at 22.05 kHz from the Piper voice (or espeak-ng) at `speed`, silence trimmed."""
    name, speed = voice
    if name == "espeak":
        return espeak(text)
    chunks = list(tts.synthesize(text, speed=speed))  # type: ignore[attr-defined]
    audio = np.concatenate(chunks).astype(np.float32)
    rate = int(tts.sample_rate)  # type: ignore[attr-defined]
    if rate != 22050:
        import soxr

        audio = soxr.resample(audio, rate, 22050).astype(np.float32)
    loud = np.nonzero(np.abs(audio) > 0.02)[0]
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio


def espeak(text: str) -> np.ndarray:
    import wave

    import soxr

    with tempfile.NamedTemporaryFile(suffix=".wav") as handle:
        subprocess.run(["espeak-ng", "-w", handle.name, text], check=True, capture_output=True)  # noqa: S603, S607
        with wave.open(handle.name) as wav:
            rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    return np.asarray(soxr.resample(samples, rate, 22050), dtype=np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 22050), dtype=np.float32)


def join(parts: list[np.ndarray], *, mark: int) -> tuple[np.ndarray, float]:
    """The parts back to back, and the time (s) where part `mark` starts (or ends, when mark == len(parts))."""
    at = sum(len(p) for p in parts[:mark]) / 22050 if mark < len(parts) else sum(len(p) for p in parts) / 22050
    if mark == len(parts):  # the end of the last part
        return np.concatenate(parts), at
    return np.concatenate(parts), at


def cough(rng: np.random.Generator) -> np.ndarray:
    """A cough: a loud burst of breathy noise with a fast attack and a 250-400 ms decay."""
    length = int(rng.uniform(0.25, 0.4) * 22050)
    envelope = np.exp(-np.linspace(0, rng.uniform(4, 7), length))
    envelope[: int(0.01 * 22050)] *= np.linspace(0, 1, int(0.01 * 22050))
    burst = rng.standard_normal(length) * envelope * 0.5
    # Breath is low and wide: a first-order low-pass.
    out = np.empty_like(burst)
    state = 0.0
    for i, x in enumerate(burst):
        state = 0.7 * state + 0.3 * x
        out[i] = state
    return out.astype(np.float32)


def hum(rng: np.random.Generator) -> np.ndarray:
    """ "Mhm" as people say it: two closed-mouth hums, the second higher, a breath between (0.5-0.7 s).

    A voiced source (harmonics of a 95-140 Hz pitch) through a nasal murmur's
    resonance (a strong one near 250 Hz, a faint one near 2.2 kHz).
    """
    parts = []
    pitch = rng.uniform(95, 140)
    syllables = ((rng.uniform(0.18, 0.28), 1.0, 0.95), (rng.uniform(0.22, 0.34), 1.15, 1.3))  # (s, pitch from, to)
    for index, (seconds, start, end) in enumerate(syllables):
        length = int(seconds * 22050)
        f0 = pitch * np.linspace(start, end, length)
        phase = 2 * np.pi * np.cumsum(f0) / 22050
        voiced = np.zeros(length)
        for harmonic in range(1, int(3800 / f0.max()) + 1):
            frequency = harmonic * f0.mean()
            gain = 1 / (1 + ((frequency - 250) / 120) ** 2) + 0.03 / (1 + ((frequency - 2200) / 300) ** 2)
            voiced += gain / np.sqrt(harmonic) * np.sin(harmonic * phase)
        ramp = np.minimum(1, np.minimum(np.arange(length), length - np.arange(length)) / (0.03 * 22050))
        parts.append(voiced * ramp)
        if index == 0:
            gap = int(rng.uniform(0.05, 0.09) * 22050)
            parts.append(rng.standard_normal(gap) * np.hanning(gap) * 0.05)  # the breathy "h"
    out = np.concatenate(parts)
    return np.asarray(0.35 * out / np.max(np.abs(out)), dtype=np.float32)


def door(rng: np.random.Generator) -> np.ndarray:
    """A door closing: a thump (a decaying low tone) and a click."""
    t = np.arange(int(0.35 * 22050)) / 22050
    thump = 0.6 * np.sin(2 * np.pi * 70 * t) * np.exp(-t * 18)
    click = np.zeros_like(thump)
    click[:200] = rng.standard_normal(200) * 0.4
    return (thump + click).astype(np.float32)


if __name__ == "__main__":
    main()
