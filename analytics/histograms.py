"""Latency histograms: log-spaced buckets 5% wide, and percentiles read back from summed bucket counts.

Pure functions (no Django): the rollup rebuild uses the same bucket arithmetic
in SQL, the selectors and the experiments' guardrails read percentiles here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# Latency stages, as CallTurn.timings keys (ms after the end of the caller's speech), with their labels.
STAGES: tuple[tuple[str, str], ...] = (
    ("end_of_turn", "End of turn"),
    ("stt_done", "STT"),
    ("first_brain_text", "Brain"),
    ("first_tts_audio", "TTS"),
    ("first_frame_sent", "First frame (voice to voice)"),
    ("first_mark_acknowledged", "First mark"),
)
# The server's voice to voice: the first reply frame sent after the caller's speech ended.
VOICE_TO_VOICE_STAGE = "first_frame_sent"
BUCKET_RATIO = 1.05


def bucket_of_ms(ms: float) -> int:
    """The bucket of a latency: bucket b holds [1.05^b, 1.05^(b+1)) ms (below 1 ms counts as 1 ms)."""
    return math.floor(math.log(max(ms, 1.0)) / math.log(BUCKET_RATIO))


def bucket_value(bucket: int) -> float:
    """A bucket's representative latency: the geometric middle of its range (within 2.5% of any value in it)."""
    return float(BUCKET_RATIO ** (bucket + 0.5))


def histogram_percentile(histogram: Mapping[int, int], percentile: float) -> float | None:
    """The percentile (0-100) of the latencies a histogram counts, in ms; None when it counts none.

    The value at rank ceil(p/100 * n) in sorted order (numpy's "inverted_cdf"), read as its bucket's middle.
    """
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = percentile / 100 * total
    running = 0
    for bucket in sorted(histogram):
        running += histogram[bucket]
        if running >= rank:
            return bucket_value(bucket)
    return bucket_value(max(histogram))


def histogram_percentiles(histogram: Mapping[int, int], percentiles: tuple[int, ...]) -> dict[int, float | None]:
    """Several percentiles of one histogram in a single pass over its sorted buckets (the per-day series)."""
    total = sum(histogram.values())
    if total == 0:
        return dict.fromkeys(percentiles)
    found: dict[int, float | None] = {}
    wanted = sorted(percentiles)
    running, index = 0, 0
    for bucket in sorted(histogram):
        running += histogram[bucket]
        while index < len(wanted) and running >= wanted[index] / 100 * total:
            found[wanted[index]] = bucket_value(bucket)
            index += 1
    for percentile in wanted[index:]:
        found[percentile] = bucket_value(max(histogram))
    return found
