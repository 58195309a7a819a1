"""Live supervision in a real browser (Debian's Chromium driven by Playwright) against the real daphne server.

- A simulated caller started from the console: its words appear on the call
  page while the call is still going; Listen delivers audio batches to the
  page's AudioWorklet; "say next" is spoken into the call (and heard: the
  caller's side echoed its marks); Hang up ends the call with the disposition
  operator_hangup.
- A browser test call with Chromium's fake microphone playing a WAV (Piper's
  voice): the agent answers what the file says.
- A viewer is refused every action (commands, listen-in, test calls).

Screenshots are the tests' output (their paths are printed).
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr
from playwright.sync_api import Browser, Page

from audit.models import AuditEntry
from calls.models import Call, CallTurn
from tests.e2e.browser_support import CHROMIUM, CHROMIUM_ARGS, browser, log_in
from tests.e2e.browser_support import screenshot as shot
from tests.e2e.live_scripts import CHATTY
from tests.factories import AgentVersionFactory, CallFactory, UserFactory
from voiceops.roles import OPERATOR, VIEWER, role_assign

__all__ = ["browser"]  # the shared Chromium fixture

pytestmark = [pytest.mark.e2e]

PASSWORD = "live-pass-123"
# Every test here starts from the same content type ids (reset sequences): the
# server process caches them, and audit entries point at them.
# A flow that answers according to what the caller asks.
ANSWERS = {
    "brain": "flow",
    "greeting": "Hello, this is the clinic.",
    "first_speaker": "agent",
    "flow": {
        "start": "ask",
        "nodes": {
            "ask": {
                "type": "ask",
                "prompt": "How can I help you today?",
                "intents": {"book": ["appointment", "book"], "hours": ["opening hours", "when are you open"]},
                "branches": {"book": "book", "hours": "hours"},
                "reprompts": ["Sorry, how can I help?"],
                "no_match": "unclear",
            },
            "book": {"type": "end", "text": "Sure, Friday at nine is free. Goodbye!", "disposition": "booked"},
            "hours": {"type": "end", "text": "We are open from eight until six. Goodbye!", "disposition": "info"},
            "unclear": {"type": "end", "text": "Sorry, goodbye.", "disposition": "unclear"},
        },
    },
}


def user(role: str, username: str):
    account = UserFactory(username=username, password=PASSWORD, is_staff=False, is_superuser=False)
    role_assign(user=account, role=role)  # type: ignore[arg-type]  # a factory-built User
    return account


def login(browser: Browser, base_url: str, username: str, *, permissions: list[str] | None = None) -> Page:
    return log_in(browser, base_url, username, PASSWORD, "/", width=1100, permissions=permissions or [])


def panel_final(page: Page, call_id: str) -> str | None:
    return page.get_attribute(f"#call-panel-{call_id}", "data-final")


def start_simulated_caller(page: Page, base_url: str, version_pk: int, persona: str) -> str:
    """From the version's page to its test-call page, then "Run a simulated caller"; returns the call's id."""
    page.goto(f"{base_url}/agents/versions/{version_pk}/")
    page.click("#try-version")
    page.select_option("select[name=persona]", persona)
    page.click("#simulate-button")
    page.wait_for_url(f"{base_url}/calls/*/", timeout=15_000)
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def test_operator_watches_listens_and_injects_into_a_simulated_call(
    voice_server, django_db_reset_sequences, browser, tmp_path
):
    user(OPERATOR, "olive")
    version = AgentVersionFactory(config=CHATTY)
    page = login(browser, voice_server.base_url, "olive")
    call_id = start_simulated_caller(page, voice_server.base_url, version.pk, "call_later")

    # The live list, open on another tab from the start: who is speaking now, talk time and last words
    # change there as the call goes on, with no reload.
    home = page.context.new_page()
    home.goto(f"{voice_server.base_url}/")
    home.wait_for_selector(f"#speaker-{call_id}", timeout=30_000)
    # Every speaker the row shows, in order, as the socket (or the list's poll) changes it.
    home.evaluate(
        """(id) => {
            window.speakersSeen = [];
            const record = () => {
                const cell = document.getElementById("speaker-" + id);
                const seen = window.speakersSeen;
                if (cell && seen[seen.length - 1] !== cell.dataset.speaking) seen.push(cell.dataset.speaking);
            };
            record();
            const options = {subtree: true, childList: true, attributes: true};
            new MutationObserver(record).observe(document.getElementById("live-list"), options);
        }""",
        call_id,
    )
    home.wait_for_selector(f"#speaker-{call_id}[data-speaking='agent']", timeout=60_000)  # the greeting
    talk_time = home.text_content(f"#live-call-{call_id} time.talk-time")
    last_words = home.text_content(f"#live-call-{call_id} .last-words")

    # Say next, sent as soon as the call is connected: the agent says it at the first pause in the conversation.
    page.wait_for_selector(f"#call-panel-{call_id} .status-in-progress", timeout=60_000)
    sentence = "A colleague will call you back this afternoon."
    page.fill("input[name=text]", sentence)
    page.click("form.say-next button[type=submit]")
    page.wait_for_selector("#command-result .note", timeout=10_000)

    # The caller's words appear while the call is still going (no reload: the page came up before they were said).
    page.wait_for_selector(f"#transcript-{call_id} .turn-caller", timeout=90_000)
    assert panel_final(page, call_id) == "0"
    shot(page, tmp_path / "live-call-caller-words.png")

    # Meanwhile on the live list: the caller was shown speaking, and their words replaced the greeting's.
    seen = home.evaluate("() => window.speakersSeen")
    print(f"\nlive list: speaking now, as shown: {seen}")
    assert "agent" in seen and "caller" in seen[seen.index("agent") :]
    home.wait_for_function(
        "([id, before]) => document.querySelector('#live-call-' + id + ' .last-words').textContent !== before",
        arg=[call_id, last_words],
        timeout=30_000,
    )
    home.wait_for_function(
        "([id, before]) => document.querySelector('#live-call-' + id + ' time.talk-time').textContent !== before",
        arg=[call_id, talk_time],
        timeout=5_000,
    )
    shot(home, tmp_path / "live-list-caller-spoke.png")
    home.close()

    # Listen: audio batches reach the page's AudioWorklet.
    page.click("#listen-button")
    page.wait_for_function(
        "() => Number(document.querySelector('#listen-status').dataset.batches) >= 5", timeout=20_000
    )
    shot(page, tmp_path / "live-call-listening.png")

    page.wait_for_selector(f"#transcript-{call_id} .turn-injected", timeout=90_000)
    page.wait_for_function(
        "([id, s]) => Array.from(document.querySelectorAll('#transcript-' + id + ' .turn-agent .heard'))"
        ".some(el => el.textContent.includes(s))",
        arg=[call_id, sentence],
        timeout=60_000,
    )
    said = CallTurn.objects.get(call_id=call_id, speaker="agent", text=sentence)
    assert said.heard_text == sentence  # the caller's side played it and echoed its mark
    injected = CallTurn.objects.get(call_id=call_id, speaker="system", data__operator_injected=True)
    assert (injected.data["operator"], injected.data["text"]) == ("olive", sentence)
    assert AuditEntry.objects.get(target_id=call_id, verb="had the agent say").actor_name == "olive"
    shot(page, tmp_path / "live-call-say-next.png")


LONG_GREETING = {
    **CHATTY,
    "greeting": " ".join(
        [
            "Hello, this is the clinic calling about your appointment.",
            "Before we start, let me tell you a little about the practice and what we can offer you this year.",
            "We have three dentists and two hygienists, and we are open six days a week from eight until six.",
            "We also offer evening appointments on Thursdays for people who work during the day.",
            "Now, is this a good time to talk about booking your next visit?",
        ]
    ),
}


def test_hang_up_from_the_call_page_ends_the_call(voice_server, django_db_reset_sequences, browser, tmp_path):
    user(OPERATOR, "hank")
    version = AgentVersionFactory(config={**LONG_GREETING, "recording": {"enabled": True}})
    page = login(browser, voice_server.base_url, "hank")
    call_id = start_simulated_caller(page, voice_server.base_url, version.pk, "smalltalk")
    page.wait_for_selector(f"#live-{call_id} .heard", timeout=60_000)  # the agent is talking: the call is live
    shot(page, tmp_path / "hang-up-before.png")

    # The home page's live list has the call, with its talk time.
    home = page.context.new_page()
    home.goto(f"{voice_server.base_url}/")
    home.wait_for_selector(f"#live-call-{call_id} time.talk-time")
    shot(home, tmp_path / "live-list.png")
    home.close()

    clicked = time.monotonic()
    page.click("#hangup-button")
    page.wait_for_function(
        "id => document.querySelector('#call-panel-' + id).dataset.final === '1'", arg=call_id, timeout=30_000
    )
    print(f"\nhang-up: the page showed the call over {time.monotonic() - clicked:.2f} s after the click")
    call = Call.objects.get(pk=call_id)
    assert call.status == Call.Status.COMPLETED and call.disposition == "operator_hangup"
    assert call.test_kind == Call.TestKind.SIMULATED and call.campaign_id is None and call.variant_id is None
    hung_up = AuditEntry.objects.get(target_id=call_id, verb="hung up")
    print(f"hang-up: the call ended {(call.ended_at - hung_up.created_at).total_seconds():.2f} s after the command")
    assert hung_up.actor_name == "hank"
    assert CallTurn.objects.filter(call_id=call_id, speaker="system", text="Hung up by hank").exists()
    assert page.is_hidden("#call-controls")
    # The cards that change once a call is over follow without a reload: the
    # audit log names the hang-up, the recording can be played.
    page.wait_for_function("() => document.querySelector('#audit-log').textContent.includes('hung up')", timeout=15_000)
    page.wait_for_selector("#call-recording audio.recording-player", timeout=15_000)
    assert "hank" in page.inner_text("#audit-log")
    shot(page, tmp_path / "hang-up-after.png")


def test_commands_for_a_call_no_session_holds_say_so_on_the_page(
    voice_server, django_db_reset_sequences, browser, tmp_path
):
    """A call left "in progress" with no live session anywhere (its process died): nothing is lost silently."""
    from django.utils import timezone

    user(OPERATOR, "orla")
    # Answered a minute ago (long enough for a session to hold it), with a SID the carrier never issued.
    call = CallFactory(status=Call.Status.IN_PROGRESS, answered_at=timezone.now() - timedelta(minutes=1))
    page = login(browser, voice_server.base_url, "orla")
    page.goto(f"{voice_server.base_url}/calls/{call.pk}/")

    page.click("#listen-button")
    page.wait_for_function(
        "() => document.querySelector('#listen-status').textContent.startsWith('Nothing to listen to')",
        timeout=15_000,
    )
    page.fill("input[name=text]", "One moment please.")
    page.click("form.say-next button[type=submit]")
    page.wait_for_selector("#command-result .error", timeout=15_000)
    assert page.text_content("#command-result").startswith("Nothing was said: No server is running")
    shot(page, tmp_path / "no-session-refused.png")

    # Hang up still ends it: through the carrier, which has no such call, so it is failed as reconcile would.
    page.click("#hangup-button")
    page.wait_for_function(
        "id => document.querySelector('#call-panel-' + id).dataset.final === '1'", arg=str(call.pk), timeout=15_000
    )
    shot(page, tmp_path / "no-session-hung-up.png")
    call.refresh_from_db()
    assert (call.status, call.disposition) == (Call.Status.FAILED, "operator_hangup")
    said = "Hung up by orla (no live session held the call, and the carrier had no such call)"
    assert CallTurn.objects.filter(call=call, speaker="system", text=said).exists()
    assert page.locator(f"#transcript-{call.pk}").inner_text().count(said) == 1
    assert voice_server.twilio_api.hangups(call.twilio_call_sid)  # the carrier was asked to end it


@pytest.fixture
def ask_for_an_appointment_wav(tmp_path) -> Path:
    """Piper saying the line, after a pause for the greeting, as 48 kHz 16-bit WAV for Chromium's fake microphone."""
    from live.speech.tts import get_tts

    tts = get_tts("piper")
    speech = np.concatenate(list(tts.synthesize("I would like to book an appointment, please.")))
    speech = soxr.resample(speech, tts.sample_rate, 48000).astype(np.float32)
    silence = np.zeros(48000 * 5, dtype=np.float32)
    path = tmp_path / "ask-for-an-appointment.wav"
    soundfile.write(path, np.concatenate([silence, speech, silence, silence]), 48000, subtype="PCM_16")
    return path


def test_a_browser_test_call_where_the_agent_answers_the_fake_microphone(
    voice_server, django_db_reset_sequences, browser, ask_for_an_appointment_wav, tmp_path
):
    user(OPERATOR, "tess")
    version = AgentVersionFactory(config=ANSWERS)  # a draft: any version may be tried
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={ask_for_an_appointment_wav}%noloop",
        "--autoplay-policy=no-user-gesture-required",
    ]
    # A second Chromium from the shared fixture's Playwright, with the fake microphone.
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, args=args, headless=True)
    try:
        page = login(chromium, voice_server.base_url, "tess", permissions=["microphone"])
        page.goto(f"{voice_server.base_url}/test-calls/{version.pk}/")
        page.click("#talk-button")
        page.wait_for_selector(".call-panel", timeout=30_000)
        call_id = page.get_attribute("#call-watch", "data-call-id")
        page.wait_for_function(
            "id => Array.from(document.querySelectorAll('#transcript-' + id + ' .turn-agent'))"
            ".some(el => el.textContent.includes('Friday at nine'))",
            arg=call_id,
            timeout=60_000,
        )
        shot(page, tmp_path / "browser-test-call.png")
        assert int(page.get_attribute("#test-call", "data-agent-frames") or 0) > 50  # the agent's voice played
    finally:
        chromium.close()
    call = Call.objects.get(pk=call_id)
    assert call.test_kind == Call.TestKind.WEB and call.agent_version_id == version.pk
    caller = CallTurn.objects.filter(call=call, speaker="caller").first()
    assert caller is not None and "appointment" in caller.text.lower()
    answer = CallTurn.objects.get(call=call, speaker="agent", text__contains="Friday at nine")
    assert answer.heard_text  # the page acknowledged the marks as it played the audio
    assert AuditEntry.objects.filter(target_id=str(call.pk), verb="placed a browser test call").exists()


def test_a_viewer_is_refused_every_action(voice_server, django_db_reset_sequences, browser, tmp_path):
    user(VIEWER, "vera")
    call = CallFactory(status=Call.Status.IN_PROGRESS)
    version = AgentVersionFactory()
    page = login(browser, voice_server.base_url, "vera")
    page.goto(f"{voice_server.base_url}/calls/{call.pk}/")
    assert page.locator("#call-controls, #listen-button, #hangup-button").count() == 0
    shot(page, tmp_path / "viewer-call-page.png")

    token = page.evaluate("() => JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    statuses = page.evaluate(
        """async ([id, token]) => {
            const out = {};
            for (const command of ["hangup", "transfer", "say"]) {
                const body = new URLSearchParams({number: "+14155550123", text: "Hello."});
                const headers = {"X-CSRFToken": token};
                const r = await fetch(`/calls/${id}/${command}/`, {method: "POST", body, headers});
                out[command] = r.status;
            }
            return out;
        }""",
        [str(call.pk), token],
    )
    assert statuses == {"hangup": 403, "transfer": 403, "say": 403}

    refusals = page.evaluate(
        """async ([callId, versionId]) => {
            const scheme = location.protocol === "https:" ? "wss://" : "ws://";
            const listen = await new Promise(resolve => {
                const ws = new WebSocket(scheme + location.host + "/ws/console/live/");
                ws.onopen = () => ws.send(JSON.stringify({action: "listen", call_id: callId}));
                ws.onmessage = e => { resolve(JSON.parse(e.data)); ws.close(); };
            });
            const testCall = await new Promise(resolve => {
                const ws = new WebSocket(scheme + location.host + "/ws/console/test-call/" + versionId + "/");
                ws.onclose = e => resolve(e.code);
            });
            return {listen, testCall};
        }""",
        [str(call.pk), version.pk],
    )
    assert refusals["listen"] == {"error": "forbidden", "action": "listen"}
    assert refusals["testCall"] == 4403
    response = page.goto(f"{voice_server.base_url}/test-calls/{version.pk}/")
    assert response is not None and response.status == 403
    assert not AuditEntry.objects.filter(target_id=str(call.pk)).exists()
    assert Call.objects.get(pk=call.pk).status == Call.Status.IN_PROGRESS
