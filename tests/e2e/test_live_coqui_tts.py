"""Coqui TTS on CPU with a tiny, randomly initialised VITS model the test builds.

The weights are random, so the audio is noise-like; what is checked is the
engine contract (float32 mono chunks at the model's sample rate, one per
sentence) and Coqui's real loading paths: by directory, by checkpoint file,
and by model name through Coqui's ModelManager (from its cache, and failing
clearly when it would have to download). The cuda path cannot run here: there
is no GPU on these machines.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from live.speech.coqui_tts import CoquiTTS, CoquiTTSError

pytestmark = [pytest.mark.e2e]  # real models (or real threads and time)

SAMPLE_RATE = 16000


def _torchaudio_problem() -> str | None:
    try:
        import torchaudio  # noqa: F401
    except (ImportError, OSError) as exc:
        return (
            "torchaudio cannot be imported; on the CPU torch wheel its CUDA-built extension must be removed "
            f"(the dev bootstrap deletes torchaudio/lib/*.so): {exc}"
        )
    return None


@pytest.fixture(scope="module")
def tiny_vits(tmp_path_factory) -> Path:
    """A directory with config.json and model.pth: a 260k-parameter VITS with a character tokenizer."""
    problem = _torchaudio_problem()
    if problem:
        pytest.fail(problem)
    import torch
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    torch.manual_seed(0)
    config = VitsConfig(
        model_args=VitsArgs(
            hidden_channels=16,
            hidden_channels_ffn_text_encoder=32,
            num_heads_text_encoder=2,
            num_layers_text_encoder=1,
            num_layers_flow=1,
            num_layers_posterior_encoder=1,
            upsample_rates_decoder=[8, 8, 4],
            upsample_initial_channel_decoder=32,
            upsample_kernel_sizes_decoder=[16, 16, 8],
            resblock_kernel_sizes_decoder=[3],
            resblock_dilation_sizes_decoder=[[1, 3, 5]],
            use_sdp=False,
            init_discriminator=False,
            max_inference_len=2000,  # random durations must not run away
        ),
        use_phonemes=False,  # characters: no espeak needed
        text_cleaner="basic_cleaners",
        characters=CharactersConfig(
            characters_class="TTS.tts.models.vits.VitsCharacters",
            pad="_",
            eos="",
            bos="",
            blank=None,
            characters="abcdefghijklmnopqrstuvwxyz",
            punctuations=" .,!?'-",
            is_unique=True,
            is_sorted=True,
        ),
        audio=BaseAudioConfig(sample_rate=SAMPLE_RATE, hop_length=256, win_length=1024, fft_size=1024, num_mels=80),
    )
    model = Vits(config)
    directory = tmp_path_factory.mktemp("tiny_vits")
    torch.save({"model": model.state_dict()}, directory / "model.pth")
    config.save_json(str(directory / "config.json"))
    return directory


@pytest.fixture(scope="module")
def tiny_tts(tiny_vits) -> CoquiTTS:
    return CoquiTTS(str(tiny_vits), "cpu")


def test_loads_a_local_model_directory_and_yields_float32_audio_at_its_rate(tiny_tts):
    assert tiny_tts.sample_rate == SAMPLE_RATE
    chunks = list(tiny_tts.synthesize("Hello there. How are you today?"))
    assert len(chunks) == 2  # one per sentence: the first can play while the second is made
    for chunk in chunks:
        assert chunk.dtype == np.float32
        assert chunk.ndim == 1
        assert chunk.size > SAMPLE_RATE // 20  # more than 50 ms of audio
        assert np.all(np.isfinite(chunk))
        assert np.abs(chunk).max() <= 1.0
        assert np.abs(chunk).max() > 0  # random weights still make sound, not silence


def test_empty_text_yields_nothing(tiny_tts):
    assert list(tiny_tts.synthesize("   ")) == []


def test_loads_by_checkpoint_file_with_config_beside_it(tiny_vits):
    tts = CoquiTTS(str(tiny_vits / "model.pth"), "cpu")
    assert tts.sample_rate == SAMPLE_RATE
    assert next(iter(tts.synthesize("Hi."))).dtype == np.float32


def test_loads_by_name_through_coquis_model_manager_cache(tiny_vits, tmp_path, monkeypatch):
    """A name resolves through ModelManager: a model already in $TTS_HOME loads without any download."""
    from TTS.utils.manage import ModelManager

    monkeypatch.setenv("TTS_HOME", str(tmp_path))
    cached = ModelManager(progress_bar=False).output_prefix / "tts_models--en--ljspeech--vits"
    shutil.copytree(tiny_vits, cached)
    tts = CoquiTTS("tts_models/en/ljspeech/vits", "cpu")
    assert tts.sample_rate == SAMPLE_RATE
    assert next(iter(tts.synthesize("Hello."))).size > 0


def test_loading_by_name_without_network_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TTS_HOME", str(tmp_path))
    with pytest.raises(CoquiTTSError, match=r"could not fetch Coqui model 'tts_models/en/ljspeech/vits'") as info:
        CoquiTTS("tts_models/en/ljspeech/vits", "cpu")
    assert "local directory" in str(info.value)
    assert "ConnectionError" in str(info.value)  # Coqui's own downloader really tried
    assert str(tmp_path) in str(info.value)  # where it tried to put it


def test_unknown_model_name_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TTS_HOME", str(tmp_path))
    with pytest.raises(CoquiTTSError, match="unknown Coqui model"):
        CoquiTTS("tts_models/xx/nowhere/nothing", "cpu")


def test_licensed_model_needs_explicit_agreement_instead_of_a_prompt(tmp_path, monkeypatch):
    monkeypatch.setenv("TTS_HOME", str(tmp_path))
    monkeypatch.delenv("COQUI_TOS_AGREED", raising=False)
    with pytest.raises(CoquiTTSError, match="COQUI_TOS_AGREED"):
        CoquiTTS("tts_models/multilingual/multi-dataset/xtts_v2", "cpu")


def test_bad_local_paths_are_clear_errors(tiny_vits, tmp_path):
    with pytest.raises(CoquiTTSError, match="does not exist"):
        CoquiTTS(str(tmp_path / "missing"), "cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CoquiTTSError, match=r"no config\.json"):
        CoquiTTS(str(tmp_path / "empty"), "cpu")
    two = tmp_path / "two"
    shutil.copytree(tiny_vits, two)
    shutil.copy(two / "model.pth", two / "a.pth")
    (two / "model.pth").rename(two / "b.pth")
    with pytest.raises(CoquiTTSError, match="needs one model file"):
        CoquiTTS(str(two), "cpu")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model": "vits"}))
    (broken / "model.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CoquiTTSError, match="could not load Coqui model"):
        CoquiTTS(str(broken), "cpu")


def test_cuda_on_a_host_without_gpu_is_a_clear_error(tiny_vits):
    with pytest.raises(CoquiTTSError, match="no CUDA GPU"):
        CoquiTTS(str(tiny_vits), "cuda")
    with pytest.raises(CoquiTTSError, match="unknown device"):
        CoquiTTS(str(tiny_vits), "tpu")


def test_voice_speed_scales_a_vits_models_phoneme_durations(tiny_tts):
    def seconds(speed: float) -> float:
        return sum(len(chunk) for chunk in tiny_tts.synthesize("Hello there.", speed=speed)) / SAMPLE_RATE

    slow, normal, fast = seconds(0.5), seconds(1.0), seconds(2.0)
    assert slow > normal > fast
    assert seconds(1.0) == normal  # the model's own scale is back after each sentence
