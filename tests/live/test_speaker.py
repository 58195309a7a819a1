"""Who is speaking now (live.speaker): read from the session's state, sent when it changes, at most every interval."""

from __future__ import annotations

import pytest

from live.speaker import AGENT, BOTH, CALLER, MIN_INTERVAL_S, NOBODY, SpeakerThrottle, speaker_now


@pytest.mark.parametrize(
    ("caller_speaking", "agent_audible", "speaker"),
    [(False, False, NOBODY), (True, False, CALLER), (False, True, AGENT), (True, True, BOTH)],
)
def test_the_speaker_is_read_from_the_caller_and_the_line(caller_speaking, agent_audible, speaker):
    assert speaker_now(caller_speaking=caller_speaking, agent_audible=agent_audible) == speaker


def test_the_first_speaker_goes_out_and_then_only_changes():
    throttle = SpeakerThrottle()
    assert throttle.observe(NOBODY, 0.0) == NOBODY  # a fresh row learns the call is quiet
    assert throttle.observe(NOBODY, 1.0) is None
    assert throttle.observe(AGENT, 2.0) == AGENT
    assert throttle.observe(AGENT, 3.0) is None


def test_a_change_too_soon_after_the_last_waits_for_the_interval_and_a_flicker_sends_nothing():
    throttle = SpeakerThrottle()
    assert throttle.observe(AGENT, 10.0) == AGENT
    assert throttle.observe(BOTH, 10.25) is None  # too soon
    assert throttle.observe(BOTH, 10.0 + MIN_INTERVAL_S) == BOTH  # still true once the interval is over: sent
    assert throttle.observe(AGENT, 10.75) is None
    assert throttle.observe(BOTH, 11.0) is None  # a flicker back within the interval: nothing to send
    assert throttle.sent == BOTH
