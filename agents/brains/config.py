"""The agent version configuration: one JSON object per version, validated on save.

`load_config` turns the stored JSON into typed settings with defaults filled
in, and raises `ConfigError` with every problem at once, keyed by field path
(for example ``turn_taking.end_of_turn_silence_ms``). The flow graph and the
LLM tools are checked by their own modules (agents.brains.flow_schema,
agents.brains.tools). The schema is pure: the Django side turns a
`ConfigError` into a ValidationError (AgentVersion.clean, which the admin,
the version services and the console all go through), and checks what needs
the database (that the named calendar exists) there.

One rule needs the server's settings: an English-only speech model (Whisper's
``*.en`` models and the distilled large ones) only transcribes English, so an
agent that asks for another language would mishear every caller. The server's
STT_MODEL is handed in (`stt_model`) for the agents that do not name a model
of their own.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from agents.brains.flow_schema import validate_flow
from agents.brains.tools import TOOL_NAMES
from agents.brains.validation import DISPOSITION_RULE, e164_problem, is_disposition

BRAIN_KINDS = ("flow", "llm", "scripted")
FIRST_SPEAKERS = ("agent", "caller")
VOICEMAIL_ACTIONS = ("hang_up", "leave_message")
TTS_BACKENDS = ("piper", "coqui")
# "transcript" is the name "smart" had before Smart Turn was on by default (same behaviour).
END_OF_TURN_MODES = ("smart", "words", "silence", "transcript")
# "oh": tiny.en hears Piper's "Uh-huh." as "Oh." (scripts/bench_turns.py), and a caller's "oh" asks nothing.
DEFAULT_BACKCHANNELS = ["mhm", "mm-hmm", "uh-huh", "yeah", "yes", "okay", "ok", "right", "sure", "i see", "oh"]
# The language codes Whisper knows (faster_whisper.tokenizer._LANGUAGE_CODES,
# copied: importing faster-whisper loads CTranslate2, far too much for a schema).
WHISPER_LANGUAGES = frozenset(
    (  # noqa: SIM905 (a hundred codes read better as text than as a hundred quoted strings)
        "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu "
        "hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro "
        "ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh yue"
    ).split(" ")
)
# Distilled Whisper checkpoints were trained on English only, whatever their name says.
_ENGLISH_ONLY_DISTIL = frozenset(
    f"{prefix}{size}"
    for prefix in ("distil-", "faster-distil-whisper-")
    for size in ("large-v2", "large-v3", "large-v3.5")
)


class ConfigError(ValueError):
    """An agent configuration that cannot run; `errors` maps each field path to its problems."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, messages in errors.items() for message in messages))

    @property
    def messages(self) -> list[str]:
        """Every problem as "path: message", in the order they were found."""
        return [f"{path}: {message}" for path, messages in self.errors.items() for message in messages]


def stt_model_is_english_only(model: str) -> bool:
    """Whether a faster-whisper model name (an alias, a hub id or a local directory) transcribes only English."""
    name = posixpath.basename(model.strip().rstrip("/")).lower()
    return name.endswith(".en") or name in _ENGLISH_ONLY_DISTIL


@dataclass(frozen=True)
class VoiceSettings:
    backend: str = ""  # empty: the server's TTS_BACKEND
    voice: str = ""  # empty: the backend's default voice (Piper: en_US-joe-medium)
    speed: float = 1.0


@dataclass(frozen=True)
class SttSettings:
    model: str = ""  # empty: the server's STT_MODEL
    language: str = "en"


@dataclass(frozen=True)
class TurnTaking:
    # "smart": after the first short pause, the words heard so far
    # (agents.brains.completeness) and the voice (Smart Turn, when the server
    # has its model) decide: finished ends the turn after finished_silence_ms,
    # unfinished waits unfinished_silence_ms (live.turn_taking says how the
    # two combine). "words": the words alone. "silence":
    # end_of_turn_silence_ms of silence ends every turn; it is also the window
    # when there are no words at all (a cough).
    # The default is "words": on the project's dialogue set (bench_turns.py) the words alone ended turns
    # early no more often than words with Smart Turn, and ended finished turns about 0.6 s sooner at p95.
    end_of_turn: str = "words"
    end_of_turn_silence_ms: int = 500
    finished_silence_ms: int = 250
    unfinished_silence_ms: int = 2000
    barge_in_min_ms: int = 300
    # Caller speech over the agent for barge_in_min_ms pauses the agent; words
    # that are not a backchannel cut it (so does more speech, barge_in_confirm_ms
    # on, whatever the words); no words or a backchannel resume it.
    # 0: cut at barge_in_min_ms at once, as before.
    barge_in_confirm_ms: int = 200
    backchannel_words: list[str] = field(default_factory=lambda: list(DEFAULT_BACKCHANNELS))
    interruptible: bool = True


@dataclass(frozen=True)
class SilenceSettings:
    reminder_after_s: float = 8.0
    reminders: list[str] = field(default_factory=lambda: ["Are you still there?"])
    hangup_after_reminders: int = 2
    hangup_message: str = "I'll let you go for now. Goodbye!"


@dataclass(frozen=True)
class VoicemailSettings:
    """An outbound call that an answering machine takes (Twilio's answering-machine detection says so).

    "hang_up": hang up as soon as a machine is detected. "leave_message": wait
    for the end of its greeting (the beep), say `message`, hang up.
    Either way the call's disposition is "voicemail".
    """

    action: str = "hang_up"
    message: str = ""


@dataclass(frozen=True)
class RecordingSettings:
    enabled: bool = False
    notice: str = "This call may be recorded for quality purposes."


@dataclass(frozen=True)
class LlmSettings:
    system_prompt: str = "You are a helpful, concise phone agent."
    temperature: float = 0.3
    max_tokens: int = 200
    tools: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)  # empty: the server's LLM_BASE_URLS
    model: str = ""  # empty: the server's LLM_MODEL
    first_token_timeout_ms: int = 0  # 0: the server's LLM_FIRST_TOKEN_TIMEOUT_MS


FIELD_TYPES = ("string", "number", "boolean", "enum", "date")
_FIELD_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class ExtractionField:
    """One typed value post-call analysis pulls out of a call.

    `capture` names the flow capture (call variable) the rules read when no LLM
    is configured (default: the field's own name); `lead_field`, when set, is
    the lead's custom field the value is written back to.
    """

    name: str
    type: str = "string"
    required: bool = False
    description: str = ""
    choices: list[str] = field(default_factory=list)  # for enum
    capture: str = ""
    lead_field: str = ""


@dataclass(frozen=True)
class AnalysisSettings:
    enabled: bool = True
    fields: list[ExtractionField] = field(default_factory=list)
    # The rules' sentiment words (without an LLM): caller turns are counted against both lists.
    positive_words: list[str] = field(
        default_factory=lambda: ["great", "perfect", "thanks", "thank you", "wonderful", "good", "yes", "sure"]
    )
    negative_words: list[str] = field(
        default_factory=lambda: ["angry", "annoyed", "stop calling", "not interested", "terrible", "bad", "no"]
    )


@dataclass(frozen=True)
class PrivacySettings:
    """PII redaction (privacy.redaction): what is stored after the call.

    `redact_pii` stores transcripts, the model I/O log, summaries and
    extraction with placeholders such as [card]; `keep_clear_text` keeps a
    clear copy too (admins only, same retention). The LLM still hears what the
    caller said during the call.
    """

    redact_pii: bool = False
    keep_clear_text: bool = False


@dataclass(frozen=True)
class RetentionSettings:
    """Days to keep each kind of data after the call ended; 0 keeps it for ever."""

    recordings_days: int = 0
    transcripts_days: int = 0
    analysis_days: int = 0


@dataclass(frozen=True)
class AgentConfig:
    brain: str = "flow"
    greeting: str = ""
    first_speaker: str = "agent"
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    stt: SttSettings = field(default_factory=SttSettings)
    turn_taking: TurnTaking = field(default_factory=TurnTaking)
    max_duration_s: int = 600
    silence: SilenceSettings = field(default_factory=SilenceSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    voicemail: VoicemailSettings = field(default_factory=VoicemailSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    flow: dict[str, Any] = field(default_factory=dict)
    script: list[str] = field(default_factory=list)  # the scripted test brain's lines
    success_dispositions: list[str] = field(default_factory=lambda: ["booked"])
    transfer_number: str = ""
    calendar: str = ""  # the name of the calendars.Calendar that book_appointment uses
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.by_field.setdefault(path, []).append(message)


def _section(raw: dict[str, Any], key: str, errors: _Errors) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        errors.add(key, "must be an object")
        return {}
    return value


def _get(
    raw: dict[str, Any],
    key: str,
    path: str,
    kind: type | tuple[type, ...],
    default: Any,
    errors: _Errors,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    if key not in raw:
        return default
    value = raw[key]
    # bool is an int in Python; a number field must not accept true/false.
    if isinstance(value, bool) and kind is not bool:
        errors.add(path, f"must be {_kind_name(kind)}")
        return default
    if not isinstance(value, kind):
        errors.add(path, f"must be {_kind_name(kind)}")
        return default
    if minimum is not None and value < minimum:
        errors.add(path, f"must be at least {minimum}")
        return default
    if maximum is not None and value > maximum:
        errors.add(path, f"must be at most {maximum}")
        return default
    if choices is not None and value not in choices:
        errors.add(path, f"must be one of {', '.join(choices)}")
        return default
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _string_list(raw: dict[str, Any], key: str, path: str, default: list[str], errors: _Errors) -> list[str]:
    value = _get(raw, key, path, list, default, errors)
    if any(not isinstance(item, str) for item in value):
        errors.add(path, "must be a list of text")
        return default
    return list(value)


def _parse(raw: Any, stt_model: str) -> tuple[AgentConfig, _Errors]:
    errors = _Errors()
    if not isinstance(raw, dict):
        errors.add("config", "must be a JSON object")
        return AgentConfig(), errors
    number = (int, float)

    voice_raw = _section(raw, "voice", errors)
    voice = VoiceSettings(
        backend=_get(voice_raw, "backend", "voice.backend", str, "", errors, choices=("", *TTS_BACKENDS)),
        voice=_get(voice_raw, "voice", "voice.voice", str, "", errors),
        speed=float(_get(voice_raw, "speed", "voice.speed", number, 1.0, errors, minimum=0.5, maximum=2.0)),
    )
    stt_raw = _section(raw, "stt", errors)
    stt = SttSettings(
        model=_get(stt_raw, "model", "stt.model", str, "", errors),
        language=_get(stt_raw, "language", "stt.language", str, "en", errors),
    )
    if stt.language not in WHISPER_LANGUAGES:
        errors.add("stt.language", "must be a language code Whisper knows, such as en, es or de")
    elif stt.language != "en" and stt_model_is_english_only(stt.model or stt_model):
        errors.add(
            "stt.language",
            f"the speech model {stt.model or stt_model} only understands English: use en, "
            "or set stt.model to a multilingual model such as small or large-v3",
        )
    tt_raw = _section(raw, "turn_taking", errors)
    end_of_turn = _get(
        tt_raw, "end_of_turn", "turn_taking.end_of_turn", str, "words", errors, choices=END_OF_TURN_MODES
    )
    turn_taking = TurnTaking(
        end_of_turn="smart" if end_of_turn == "transcript" else end_of_turn,
        end_of_turn_silence_ms=_get(
            tt_raw,
            "end_of_turn_silence_ms",
            "turn_taking.end_of_turn_silence_ms",
            int,
            500,
            errors,
            minimum=100,
            maximum=5000,
        ),
        finished_silence_ms=_get(
            tt_raw,
            "finished_silence_ms",
            "turn_taking.finished_silence_ms",
            int,
            250,
            errors,
            minimum=100,
            maximum=5000,
        ),
        unfinished_silence_ms=_get(
            tt_raw,
            "unfinished_silence_ms",
            "turn_taking.unfinished_silence_ms",
            int,
            2000,
            errors,
            minimum=100,
            maximum=10000,
        ),
        barge_in_min_ms=_get(
            tt_raw, "barge_in_min_ms", "turn_taking.barge_in_min_ms", int, 300, errors, minimum=0, maximum=5000
        ),
        barge_in_confirm_ms=_get(
            tt_raw,
            "barge_in_confirm_ms",
            "turn_taking.barge_in_confirm_ms",
            int,
            200,
            errors,
            minimum=0,
            maximum=2000,
        ),
        backchannel_words=[
            w.lower().strip()
            for w in _string_list(
                tt_raw, "backchannel_words", "turn_taking.backchannel_words", DEFAULT_BACKCHANNELS, errors
            )
        ],
        interruptible=_get(tt_raw, "interruptible", "turn_taking.interruptible", bool, True, errors),
    )
    if turn_taking.finished_silence_ms > turn_taking.unfinished_silence_ms:
        errors.add(
            "turn_taking.finished_silence_ms",
            "must not be longer than turn_taking.unfinished_silence_ms (a finished sentence waits less)",
        )
    silence_raw = _section(raw, "silence", errors)
    silence = SilenceSettings(
        reminder_after_s=float(
            _get(
                silence_raw, "reminder_after_s", "silence.reminder_after_s", number, 8.0, errors, minimum=1, maximum=120
            )
        ),
        reminders=_string_list(silence_raw, "reminders", "silence.reminders", ["Are you still there?"], errors),
        hangup_after_reminders=_get(
            silence_raw,
            "hangup_after_reminders",
            "silence.hangup_after_reminders",
            int,
            2,
            errors,
            minimum=0,
            maximum=10,
        ),
        hangup_message=_get(
            silence_raw, "hangup_message", "silence.hangup_message", str, SilenceSettings.hangup_message, errors
        ),
    )
    rec_raw = _section(raw, "recording", errors)
    recording = RecordingSettings(
        enabled=_get(rec_raw, "enabled", "recording.enabled", bool, False, errors),
        notice=_get(rec_raw, "notice", "recording.notice", str, RecordingSettings.notice, errors),
    )
    llm_raw = _section(raw, "llm", errors)
    llm = LlmSettings(
        system_prompt=_get(llm_raw, "system_prompt", "llm.system_prompt", str, LlmSettings.system_prompt, errors),
        temperature=float(_get(llm_raw, "temperature", "llm.temperature", number, 0.3, errors, minimum=0, maximum=2)),
        max_tokens=_get(llm_raw, "max_tokens", "llm.max_tokens", int, 200, errors, minimum=1, maximum=4096),
        tools=_string_list(llm_raw, "tools", "llm.tools", [], errors),
        endpoints=_string_list(llm_raw, "endpoints", "llm.endpoints", [], errors),
        model=_get(llm_raw, "model", "llm.model", str, "", errors),
        first_token_timeout_ms=_get(
            llm_raw, "first_token_timeout_ms", "llm.first_token_timeout_ms", int, 0, errors, minimum=0, maximum=60000
        ),
    )
    for index, endpoint in enumerate(llm.endpoints):
        if not endpoint.startswith(("http://", "https://")):
            errors.add(f"llm.endpoints[{index}]", "must be an http(s) URL")
    for index, tool in enumerate(llm.tools):
        if tool not in TOOL_NAMES:
            errors.add(f"llm.tools[{index}]", f"unknown tool {tool!r}; known: {', '.join(TOOL_NAMES)}")

    analysis = _parse_analysis(_section(raw, "analysis", errors), errors)
    privacy_raw = _section(raw, "privacy", errors)
    privacy = PrivacySettings(
        redact_pii=_get(privacy_raw, "redact_pii", "privacy.redact_pii", bool, False, errors),
        keep_clear_text=_get(privacy_raw, "keep_clear_text", "privacy.keep_clear_text", bool, False, errors),
    )
    if privacy.keep_clear_text and not privacy.redact_pii:
        errors.add("privacy.keep_clear_text", "only applies with redact_pii on (without it the clear text is stored)")
    retention_raw = _section(raw, "retention", errors)
    retention = RetentionSettings(
        **{
            key: _get(retention_raw, key, f"retention.{key}", int, 0, errors, minimum=0, maximum=36500)
            for key in ("recordings_days", "transcripts_days", "analysis_days")
        }
    )
    voicemail_raw = _section(raw, "voicemail", errors)
    voicemail = VoicemailSettings(
        action=_get(voicemail_raw, "action", "voicemail.action", str, "hang_up", errors, choices=VOICEMAIL_ACTIONS),
        message=_get(voicemail_raw, "message", "voicemail.message", str, "", errors).strip(),
    )
    if voicemail.action == "leave_message" and not voicemail.message:
        errors.add("voicemail.message", "is required to leave a message (or set voicemail.action to hang_up)")

    config = AgentConfig(
        brain=_get(raw, "brain", "brain", str, "flow", errors, choices=BRAIN_KINDS),
        greeting=_get(raw, "greeting", "greeting", str, "", errors),
        first_speaker=_get(raw, "first_speaker", "first_speaker", str, "agent", errors, choices=FIRST_SPEAKERS),
        voice=voice,
        stt=stt,
        turn_taking=turn_taking,
        max_duration_s=_get(raw, "max_duration_s", "max_duration_s", int, 600, errors, minimum=10, maximum=4 * 3600),
        silence=silence,
        recording=recording,
        voicemail=voicemail,
        llm=llm,
        flow=_get(raw, "flow", "flow", dict, {}, errors),
        script=_string_list(raw, "script", "script", [], errors),
        success_dispositions=_string_list(raw, "success_dispositions", "success_dispositions", ["booked"], errors),
        transfer_number=_get(raw, "transfer_number", "transfer_number", str, "", errors),
        calendar=_get(raw, "calendar", "calendar", str, "", errors),
        analysis=analysis,
        privacy=privacy,
        retention=retention,
    )
    if config.transfer_number and (problem := e164_problem(config.transfer_number)) is not None:
        errors.add("transfer_number", problem)
    for index, disposition in enumerate(config.success_dispositions):
        if not is_disposition(disposition):
            errors.add(f"success_dispositions[{index}]", DISPOSITION_RULE)
    if config.flow:
        for path, message in validate_flow(config.flow, tools=TOOL_NAMES):
            errors.add(f"flow.{path}" if path else "flow", message)
    return config, errors


def _parse_analysis(raw: dict[str, Any], errors: _Errors) -> AnalysisSettings:
    defaults = AnalysisSettings()
    fields_raw = _get(raw, "fields", "analysis.fields", list, [], errors)
    fields: list[ExtractionField] = []
    seen: set[str] = set()
    for index, item in enumerate(fields_raw):
        path = f"analysis.fields[{index}]"
        if not isinstance(item, dict):
            errors.add(path, "must be an object")
            continue
        name = _get(item, "name", f"{path}.name", str, "", errors)
        if not name or not set(name) <= _FIELD_NAME_CHARS or name[0].isdigit():
            errors.add(f"{path}.name", "must be lower-case letters, digits and _, not starting with a digit")
        elif name in seen:
            errors.add(f"{path}.name", f"{name!r} is defined twice")
        seen.add(name)
        kind = _get(item, "type", f"{path}.type", str, "string", errors, choices=FIELD_TYPES)
        choices = _string_list(item, "choices", f"{path}.choices", [], errors)
        if kind == "enum" and not choices:
            errors.add(f"{path}.choices", "an enum field needs at least one choice")
        if kind != "enum" and choices:
            errors.add(f"{path}.choices", "only enum fields have choices")
        fields.append(
            ExtractionField(
                name=name,
                type=kind,
                required=_get(item, "required", f"{path}.required", bool, False, errors),
                description=_get(item, "description", f"{path}.description", str, "", errors),
                choices=choices,
                capture=_get(item, "capture", f"{path}.capture", str, "", errors),
                lead_field=_get(item, "lead_field", f"{path}.lead_field", str, "", errors),
            )
        )
        unknown = set(item) - {"name", "type", "required", "description", "choices", "capture", "lead_field"}
        if unknown:
            errors.add(path, f"unknown keys: {', '.join(sorted(unknown))}")
    return AnalysisSettings(
        enabled=_get(raw, "enabled", "analysis.enabled", bool, True, errors),
        fields=fields,
        positive_words=[
            w.lower()
            for w in _string_list(raw, "positive_words", "analysis.positive_words", defaults.positive_words, errors)
        ],
        negative_words=[
            w.lower()
            for w in _string_list(raw, "negative_words", "analysis.negative_words", defaults.negative_words, errors)
        ],
    )


def load_config(raw: Any, *, stt_model: str = "") -> AgentConfig:
    """Typed settings with defaults; raises ConfigError naming every bad field.

    `stt_model` is the server's STT_MODEL, the model an agent without its own
    `stt.model` runs on; empty when unknown (the language is then checked
    against the agent's own model only).
    """
    config, errors = _parse(raw, stt_model)
    if errors.by_field:
        raise ConfigError(errors.by_field)
    return config


def validate_config(raw: Any, *, stt_model: str = "") -> None:
    load_config(raw, stt_model=stt_model)
