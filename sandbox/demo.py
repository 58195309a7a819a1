"""The demo agent: "Ava", who books check-ups for Bright Smile Dental, as a flow agent.

The flow greets, confirms identity, offers two free slots from the clinic's
calendar in the lead's timezone, books one, and handles "not interested",
"call me later" (with a callback time), "do not call", a wrong number and an
answering machine, each ending with its own disposition. It runs offline: no
language model anywhere.
"""

from __future__ import annotations

from typing import Any

DEMO_AGENT_NAME = "Ava (dental appointments)"
DEMO_CALENDAR_NAME = "Bright Smile Dental"
DEMO_CALENDAR_TIMEZONE = "America/New_York"

# Every way one of Ava's calls can end, and the persona that exercises it.
DEMO_DISPOSITIONS = ("booked", "not_interested", "callback", "voicemail", "wrong_person", "do_not_call", "unclear")


def demo_flow() -> dict[str, Any]:
    return {
        "start": "confirm",
        # Heard at any question: the caller can always decline, defer or opt out.
        "global_intents": {
            "not_interested": {
                "phrases": ["not interested", "no thank you", "no thanks", "i do not want", "i am all set"],
                "goto": "not_interested",
            },
            "call_later": {
                "phrases": [
                    "call me later",
                    "call me back",
                    "call back later",
                    "call me another time",
                    "not a good time",
                    "bad time",
                    "i am busy",
                ],
                "goto": "callback_when",
            },
            "do_not_call": {
                "phrases": ["stop calling", "do not call me", "take me off your list", "remove me from your list"],
                "goto": "dnc",
            },
        },
        "nodes": {
            "confirm": {
                "type": "ask",
                "prompt": "Am I speaking with {{first_name}}?",
                "intents": {
                    "yes": ["yes", "yeah", "speaking", "that is me", "this is she", "this is he", "it is"],
                    "wrong_person": [
                        "wrong number",
                        "no",
                        "not me",
                        "nobody by that name",
                        "does not live here",
                        "you have the wrong",
                    ],
                    "voicemail": [
                        "leave a message",
                        "after the beep",
                        "after the tone",
                        "you have reached",
                        "can not take your call",
                        "can not come to the phone",
                        "not available",
                        "voicemail",
                        "mailbox",
                    ],
                },
                "branches": {"yes": "pitch", "wrong_person": "wrong_person", "voicemail": "voicemail"},
                "reprompts": ["Sorry, I didn't catch that. Is this {{first_name}}?"],
                "no_match": "unclear",
            },
            "pitch": {
                "type": "say",
                "text": "Great! You're due for your dental check-up, and I'd love to get you booked.",
                "next": "find_slots",
            },
            "find_slots": {
                "type": "action",
                "tool": "find_slots",
                "arguments": {"count": 2},
                "next": "pick",
                "on_error": "no_slots",
            },
            "pick": {
                "type": "capture",
                "kind": "slot",
                "variable": "appointment_choice",
                "prompt": "I have {{slots_spoken}}. Which one works for you?",
                "reprompts": ["Sorry, which would you prefer: {{slots_spoken}}?"],
                "intents": {"neither": ["neither", "none of those", "none of them", "a different time", "another day"]},
                "branches": {"neither": "other_time"},
                "next": "book",
                "no_match": "unclear",
            },
            "other_time": {
                "type": "capture",
                "kind": "datetime",
                "variable": "appointment_choice",
                "prompt": "No problem. What day and time would suit you better?",
                "reprompts": ["Which day and time should I look at?"],
                "next": "book",
                "no_match": "unclear",
            },
            "book": {
                "type": "action",
                "tool": "book_appointment",
                "arguments": {"start": "{{appointment_choice}}", "notes": "Check-up booked by Ava"},
                "next": "booked",
                "on_error": "pick_again",
            },
            "pick_again": {
                "type": "capture",
                "kind": "slot",
                "variable": "appointment_choice",
                "prompt": "Sorry, that time isn't available. I could do {{slots_spoken}}. Would one of those work?",
                "reprompts": ["Which would you prefer: {{slots_spoken}}?"],
                "next": "book",
                "no_match": "unclear",
            },
            "booked": {
                "type": "end",
                "text": "You're all set for {{appointment_spoken}}. We'll send you a reminder. Goodbye!",
                "disposition": "booked",
            },
            "no_slots": {
                "type": "end",
                "text": "Our calendar is full right now, so we'll call you back soon. Goodbye!",
                "disposition": "callback",
            },
            "not_interested": {
                "type": "end",
                "text": "No problem at all. Thanks for your time, and have a great day. Goodbye!",
                "disposition": "not_interested",
            },
            "callback_when": {
                "type": "capture",
                "kind": "datetime",
                "variable": "callback_time",
                "prompt": "Of course. When would be a better time to call you back?",
                "reprompts": ["What day and time works best for a call back?"],
                "next": "save_callback",
                "no_match": "callback_anytime",
            },
            "save_callback": {
                "type": "action",
                "tool": "schedule_callback",
                "arguments": {"at": "{{callback_time}}"},
                "next": "callback_confirmed",
                "on_error": "callback_anytime",
            },
            "callback_confirmed": {
                "type": "end",
                "text": "Great, I'll call you back {{callback_spoken}}. Talk to you then. Goodbye!",
                "disposition": "callback",
            },
            "callback_anytime": {
                "type": "end",
                "text": "No problem, we'll try you again another time. Goodbye!",
                "disposition": "callback",
            },
            "dnc": {
                "type": "say",
                "text": "Understood. We won't call you again. Goodbye.",
                "next": "mark_dnc",
            },
            "mark_dnc": {"type": "action", "tool": "mark_do_not_call"},
            "wrong_person": {
                "type": "end",
                "text": "Sorry for the trouble. Have a good day. Goodbye!",
                "disposition": "wrong_person",
            },
            "voicemail": {
                "type": "end",
                "text": (
                    "Hi {{first_name}}, this is Ava from Bright Smile Dental. You're due for your check-up. "
                    "Please call us back to book a time. Thank you!"
                ),
                "disposition": "voicemail",
            },
            "unclear": {
                "type": "end",
                "text": "Sorry, I'm having trouble hearing you. We'll try again another time. Goodbye!",
                "disposition": "unclear",
            },
        },
    }


DEMO_VOICEMAIL_MESSAGE = (
    "Hi {{first_name}}, this is Ava from Bright Smile Dental. You're due for your check-up. "
    "Please call us back to book a time. Thank you!"
)


def demo_agent_config(*, greeting_style: str = "standard") -> dict[str, Any]:
    greeting = (
        "Hi {{first_name}}, this is Ava from Bright Smile Dental."
        if greeting_style == "standard"
        else "Hello {{first_name}}! Ava here, from Bright Smile Dental, hope your day is going well."
    )
    return {
        "brain": "flow",
        "greeting": greeting,
        "first_speaker": "agent",
        "calendar": DEMO_CALENDAR_NAME,
        "flow": demo_flow(),
        "success_dispositions": ["booked"],
        # Twilio's answering-machine detection: after the beep, this message, then goodbye.
        "voicemail": {"action": "leave_message", "message": DEMO_VOICEMAIL_MESSAGE},
        "llm": {
            "system_prompt": (
                "You are Ava, a friendly appointment setter for Bright Smile Dental, speaking with {{first_name}}. "
                "Keep answers to one or two short sentences."
            ),
            "tools": ["find_slots", "book_appointment", "schedule_callback", "mark_do_not_call", "end_call"],
        },
        # Issue 15: callers' personal data is stored redacted, and kept for a bounded time.
        "privacy": {"redact_pii": True},
        "retention": {"recordings_days": 90, "transcripts_days": 365, "analysis_days": 365},
        "analysis": {
            "fields": [
                {
                    "name": "appointment",
                    "type": "string",
                    "capture": "appointment_choice",
                    "description": "The appointment time the caller chose.",
                    "lead_field": "last_appointment_choice",
                },
                {
                    "name": "callback_time",
                    "type": "string",
                    "description": "When the caller asked to be called back.",
                },
                {
                    "name": "wants_callback",
                    "type": "boolean",
                    "description": "Whether the caller asked to be called back later.",
                },
            ]
        },
    }
