"""G.711 mu-law <-> float32 through lookup tables (audioop is gone from Python 3.13)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from live.pipeline.frames import Samples

_BIAS = 0x84
_CLIP = 32635


def _decode_table() -> npt.NDArray[np.float32]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    linear = np.where(sign != 0, -magnitude, magnitude)
    return (linear / 32768.0).astype(np.float32)


def _encode_table() -> npt.NDArray[np.uint8]:
    # One entry per 16-bit sample value (64 KiB): encoding is a single take().
    pcm = np.arange(-32768, 32768, dtype=np.int32)
    sign = np.where(pcm < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(pcm), _CLIP) + _BIAS
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    table: npt.NDArray[np.uint8] = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)
    return table


DECODE_TABLE = _decode_table()
ENCODE_TABLE = _encode_table()
SILENCE_BYTE = 0xFF  # mu-law zero


def mulaw_decode(data: bytes) -> Samples:
    """mu-law bytes to float32 samples in [-1, 1]."""
    return DECODE_TABLE[np.frombuffer(data, dtype=np.uint8)]


def mulaw_encode(samples: Samples) -> bytes:
    """float32 samples in [-1, 1] to mu-law bytes."""
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int32)
    return bytes(ENCODE_TABLE[pcm + 32768])
