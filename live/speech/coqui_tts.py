"""Coqui TTS (`coqui-tts`, import name `TTS`): the GPU text-to-speech backend.

`CoquiTTS(model, device)` loads either a Coqui model name such as
``tts_models/multilingual/multi-dataset/xtts_v2`` (through Coqui's own
ModelManager, which downloads into ``$TTS_HOME`` the first time) or a local
directory holding ``config.json`` and the model file, which is what an
offline host uses: download once, copy the directory, point TTS_MODEL at it.

XTTS streams (``inference_stream``): its first audio chunk exists long before
the sentence is finished, so it is yielded at once (and the engine sends it
on at once, see live.workers). Every other Coqui model
(VITS, Tacotron, ...) synthesises one sentence at a time and yields each.
On ``device="cuda"`` the model moves to the GPU and inference runs under
float16 autocast (weights stay float32, so models whose layers do not support
half precision still work); on CPU it runs in float32. An agent's voice
speed goes to XTTS as its `speed` and to models with a length scale (VITS,
Glow-TTS, FastPitch) as 1/speed of it.

torch and TTS are imported only here, inside the class, so the CPU tier
(Piper) never pays for them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from live.speech.base import Audio

log = structlog.get_logger(__name__)

# File names Coqui's own ModelManager accepts for a model checkpoint.
_CHECKPOINT_NAMES = ("model.pth", "model_file.pth", "model_file.pth.tar", "checkpoint.pth", "best_model.pth")


class CoquiTTSError(RuntimeError):
    """The Coqui model could not be loaded or run; the message says what to do."""


class CoquiTTS:
    """live.speech.base.TextToSpeech over a Coqui model."""

    def __init__(
        self,
        model: str,
        device: str = "cpu",
        *,
        speaker: str | None = None,
        speaker_wav: str | None = None,
        language: str | None = None,
    ) -> None:
        if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
            raise CoquiTTSError(f"unknown device {device!r}: use cpu or cuda")
        try:
            import torch
        except ImportError as exc:
            raise CoquiTTSError(
                "Coqui TTS needs the GPU tier: pip install -r requirements-gpu.txt (torch, coqui-tts)"
            ) from exc
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise CoquiTTSError(f"device {device!r} asked for, but torch sees no CUDA GPU on this host")
        self.model = model
        self.device = device
        self._lock = threading.Lock()  # one inference at a time on one model
        self._synthesizer = _load_synthesizer(model, use_cuda=device.startswith("cuda"))
        if device.startswith("cuda:"):
            self._synthesizer.tts_model.to(device)
        self.sample_rate: int = int(self._synthesizer.output_sample_rate)
        self._tts_model = self._synthesizer.tts_model
        self._streams = hasattr(self._tts_model, "inference_stream")
        scale = getattr(self._tts_model, "length_scale", None)  # VITS, Glow-TTS, FastPitch: phoneme durations
        self._length_scale: float | None = float(scale) if isinstance(scale, int | float) else None
        self.language = language or self._default_language()
        self.speaker = speaker or self._default_speaker()
        self.speaker_wav = speaker_wav
        self._latents: tuple[Any, Any] | None = None
        log.info(
            "coqui_tts_loaded",
            model=model,
            device=device,
            sample_rate=self.sample_rate,
            streaming=self._streams,
            speaker=self.speaker,
            language=self.language,
        )

    def synthesize(self, text: str, *, speed: float = 1.0) -> Iterator[Audio]:
        text = text.strip()
        if not text:
            return
        if self._streams:
            yield from self._synthesize_stream(text, speed)
        else:
            yield from self._synthesize_sentences(text, speed)

    # -- one sentence at a time (VITS, Tacotron, ...) -------------------------------

    def _synthesize_sentences(self, text: str, speed: float) -> Iterator[Audio]:
        import torch

        for sentence in self._synthesizer.split_into_sentences(text, self.language) or [text]:
            with self._lock, torch.inference_mode(), self._autocast(), self._paced(speed):
                outputs = self._tts_model.synthesize(
                    text=sentence,
                    speaker=self.speaker,
                    language=self.language,
                    speaker_wav=self.speaker_wav,
                    use_griffin_lim=self._synthesizer.vocoder_model is None,
                )
                if self._synthesizer.vocoder_model is None:
                    wav = outputs["wav"]
                else:
                    wav = self._synthesizer._run_vocoder(
                        outputs["outputs"]["model_outputs"][0], "cuda" if self._on_cuda else "cpu"
                    )
            yield _as_audio(wav)

    # -- streaming (XTTS) -------------------------------------------------------------

    def _synthesize_stream(self, text: str, speed: float) -> Iterator[Audio]:
        import torch

        gpt_cond_latent, speaker_embedding = self._speaker_latents()
        with torch.inference_mode():
            chunks = self._tts_model.inference_stream(
                text,
                self.language or "en",
                gpt_cond_latent,
                speaker_embedding,
                speed=speed,
                enable_text_splitting=True,
            )
            while True:
                # The lock covers one step, not the whole stream, so two calls
                # sharing this model take turns chunk by chunk.
                with self._lock, self._autocast():
                    try:
                        chunk = next(chunks)
                    except StopIteration:
                        return
                yield _as_audio(chunk)

    def _speaker_latents(self) -> tuple[Any, Any]:
        if self._latents is None:
            model = self._tts_model
            manager = getattr(model, "speaker_manager", None)
            if self.speaker and manager is not None and self.speaker in manager.speakers:
                latents = manager.speakers[self.speaker]
                self._latents = (latents["gpt_cond_latent"], latents["speaker_embedding"])
            elif self.speaker_wav:
                with self._lock:
                    self._latents = model.get_conditioning_latents(audio_path=[self.speaker_wav])
            else:
                known = sorted(manager.speakers) if manager is not None else []
                raise CoquiTTSError(
                    f"{self.model} needs a voice: pass a speaker ({', '.join(known[:5]) or 'none bundled'}) "
                    "or a speaker_wav reference recording"
                )
        assert self._latents is not None
        return self._latents

    # -- helpers ----------------------------------------------------------------------

    @property
    def _on_cuda(self) -> bool:
        return self.device.startswith("cuda")

    @contextmanager
    def _paced(self, speed: float) -> Iterator[None]:
        """The model's length scale at 1/speed of its own for one inference (under the lock: the model is shared).

        Models without a length scale (Tacotron, for one) speak at their own pace.
        """
        base = self._length_scale
        if base is None or speed == 1.0:
            yield
            return
        self._tts_model.length_scale = base / speed
        try:
            yield
        finally:
            self._tts_model.length_scale = base

    def _autocast(self) -> AbstractContextManager[Any]:
        if not self._on_cuda:
            return nullcontext()
        import torch

        return torch.autocast("cuda", dtype=torch.float16)

    def _default_speaker(self) -> str | None:
        manager = getattr(self._tts_model, "speaker_manager", None)
        names = list(getattr(manager, "speaker_names", None) or getattr(manager, "speakers", None) or [])
        return str(names[0]) if len(names) > 1 or (names and self._streams) else None

    def _default_language(self) -> str | None:
        manager = getattr(self._tts_model, "language_manager", None)
        names = list(getattr(manager, "language_names", None) or [])
        if self._streams:
            return "en"
        if len(names) > 1:
            return "en" if "en" in names else str(names[0])
        return None


def _as_audio(wav: Any) -> Audio:
    if hasattr(wav, "detach"):
        wav = wav.detach().float().cpu().numpy()
    audio = np.asarray(wav, dtype=np.float32).reshape(-1)
    return np.clip(audio, -1.0, 1.0)


def _load_synthesizer(model: str, *, use_cuda: bool) -> Any:
    try:
        from TTS.utils.synthesizer import Synthesizer
    except ImportError as exc:
        raise CoquiTTSError("Coqui TTS is not installed: pip install -r requirements-gpu.txt") from exc
    path = Path(model).expanduser()
    if path.exists() or model.startswith(("/", ".", "~")):
        checkpoint, config = _local_model_files(path)
    else:
        checkpoint, config = _download_by_name(model)
    try:
        return Synthesizer(tts_checkpoint=checkpoint, tts_config_path=config, use_cuda=use_cuda)
    except Exception as exc:  # Coqui raises anything from KeyError to RuntimeError on a bad checkpoint
        raise CoquiTTSError(f"could not load Coqui model from {checkpoint}: {type(exc).__name__}: {exc}") from exc


def _local_model_files(path: Path) -> tuple[Path, Path]:
    """(checkpoint, config.json) for a model directory, or for a checkpoint file with config.json beside it."""
    if not path.exists():
        raise CoquiTTSError(f"Coqui model path {path} does not exist")
    directory = path if path.is_dir() else path.parent
    config = directory / "config.json"
    if not config.is_file():
        raise CoquiTTSError(f"Coqui model directory {directory} has no config.json")
    if path.is_file():
        return path, config
    if _config_model_name(config) == "xtts":
        return directory, config  # XTTS loads model.pth, vocab.json and speakers itself from its directory
    for name in _CHECKPOINT_NAMES:
        if (directory / name).is_file():
            return directory / name, config
    candidates = sorted(directory.glob("*.pth")) + sorted(directory.glob("*.pt"))
    if len(candidates) == 1:
        return candidates[0], config
    raise CoquiTTSError(
        f"Coqui model directory {directory} needs one model file ({', '.join(_CHECKPOINT_NAMES)}); "
        f"found {[c.name for c in candidates] or 'none'}"
    )


def _config_model_name(config: Path) -> str:
    import json

    try:
        return str(json.loads(config.read_text(encoding="utf-8")).get("model", ""))
    except (OSError, ValueError) as exc:
        raise CoquiTTSError(f"{config} is not valid JSON: {exc}") from exc


def _download_by_name(name: str) -> tuple[Path, Path]:
    """Coqui's ModelManager: the cached copy under $TTS_HOME, else a download."""
    from TTS.utils.manage import ModelManager

    manager = ModelManager(progress_bar=False)
    try:
        item, full_name, _ = manager._set_model_item(name)
    except (KeyError, ValueError) as exc:
        raise CoquiTTSError(
            f"unknown Coqui model {name!r}: use a name from `tts --list_models` "
            "(type/language/dataset/model) or a local model directory"
        ) from exc
    if not ModelManager.tos_agreed(item, manager.output_prefix / full_name):
        # The manager would otherwise stop and ask on stdin, which a server cannot answer.
        raise CoquiTTSError(
            f"Coqui model {name!r} requires accepting its licence (CPML): set COQUI_TOS_AGREED=1 once you have"
        )
    try:
        checkpoint, config, _item = manager.download_model(name)
    except Exception as exc:  # requests, huggingface_hub and archive errors all mean "not available"
        raise CoquiTTSError(
            f"could not fetch Coqui model {name!r} into {manager.output_prefix} ({type(exc).__name__}: {exc}). "
            "On a host without internet access, copy the model directory there, or point TTS_MODEL "
            "at a local directory with config.json and the model file"
        ) from exc
    if config is None:
        raise CoquiTTSError(f"Coqui model {name!r} has no config.json after download")
    return Path(checkpoint), Path(config)
