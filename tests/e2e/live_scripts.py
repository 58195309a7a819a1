"""Agent versions the live supervision tests call: one place for both the one-server and two-server tests."""

from __future__ import annotations

# Long agent lines keep the call going while a test listens, injects a sentence and hangs up.
CHATTY = {
    "brain": "scripted",
    "greeting": "Hello, this is the clinic calling about your appointment. Is now a good time to talk?",
    "first_speaker": "agent",
    "silence": {"reminder_after_s": 60, "reminders": []},
    # The simulated caller speaks 0.8 s after the agent stops, whatever the agent starts
    # saying meanwhile; here it must not cut off the injected sentence.
    "turn_taking": {"interruptible": False},
    "script": [
        "Thank you. We have a few openings next week, on Monday morning, Wednesday afternoon and Friday at nine. "
        "Each visit takes about forty minutes, and the hygienist will see you first.",
        "Of course. We can call you back whenever suits you. Mornings are quieter for us, but afternoons work too. "
        "Just let me know the day and the time and I will write it down.",
        "Thank you, I have written that down. We will call you tomorrow at three in the afternoon. "
        "If anything changes, you can call us at any time on this number. Have a lovely day.",
    ],
}
