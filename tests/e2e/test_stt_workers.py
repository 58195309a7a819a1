"""Whisper runs as many decodes at once as the engine has model slots (live.workers.ModelGate).

With CTranslate2's default single worker, the gate's second slot only queued
inside the model: a committed turn let through could wait behind another
call's speculative decode. The packaged tiny.en is loaded for real here.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from live.speech.stt import PACKAGED_MODEL, WhisperSTT

pytestmark = [pytest.mark.e2e]


@pytest.mark.parametrize("slots", [1, 2, 3])
def test_the_model_has_a_worker_per_slot(slots):
    with override_settings(ENGINE_THREADS=slots, STT_CPU_THREADS=0):
        stt = WhisperSTT(PACKAGED_MODEL, "cpu")
    assert stt._model.model.num_workers == slots
