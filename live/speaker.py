"""Who is speaking now on a live call, for the consoles' live list.

Read from the session's own state at each tick: the caller is speaking while
the turn detector has an utterance open, the agent while its audio is
playing on the line (the pacer's clock, not what was generated). Sent when
it changes, at most every MIN_INTERVAL_S: a caller's "mm-hm" over the agent
would otherwise flip the row several times a second on every console. A
change that comes too soon is not lost: it is sent at the first tick after
the interval if it still holds.
"""

from __future__ import annotations

CALLER, AGENT, BOTH, NOBODY = "caller", "agent", "both", ""
MIN_INTERVAL_S = 0.5


def speaker_now(*, caller_speaking: bool, agent_audible: bool) -> str:
    if caller_speaking and agent_audible:
        return BOTH
    if caller_speaking:
        return CALLER
    return AGENT if agent_audible else NOBODY


class SpeakerThrottle:
    """Decides which speaker changes are sent (see the module docstring); time is the session clock's."""

    def __init__(self, min_interval_s: float = MIN_INTERVAL_S) -> None:
        self.min_interval_s = min_interval_s
        self.sent: str | None = None  # None: nothing sent yet, so the first observation goes out
        self._sent_at = float("-inf")

    def observe(self, speaker: str, now: float) -> str | None:
        """The speaker to send now, or None (unchanged, or changed too soon after the last send)."""
        if speaker == self.sent or now - self._sent_at < self.min_interval_s:
            return None
        self.sent, self._sent_at = speaker, now
        return speaker
