"""Operators' commands on a live call from its page: checked, recorded with the call, sent to its session.

The command crosses the real channel layer (Redis, or the embedded default's
in-memory layer) to the call's session: the engine's own Supervision and
ChannelLayerLink, as in the daphne process that holds the call, recording the
commands it is given. A call whose session is gone gets a clear answer, and
a hang-up still ends it through the carrier (calls.commands).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import override_settings
from django.urls import reverse

from audit.models import AuditEntry
from calls.commands import CONNECTING, NO_SESSION, call_hang_up_without_session
from calls.models import Call, CallEvent, CallTurn
from live.clock import SYSTEM_CLOCK
from live.supervision import ChannelLayerLink, LiveView, Supervision
from telephony.rest import CarrierCallState
from tests.factories import AgentVersionFactory, CallFactory
from voiceops.realtime import speaker_publish

live_db = pytest.mark.django_db(transaction=True)


@asynccontextmanager
async def live_session(call_id: uuid.UUID) -> AsyncIterator[list[dict[str, Any]]]:
    """The call's session, reachable over the channel layer; yields the commands it was given."""
    commands: list[dict[str, Any]] = []

    async def on_command(message: dict[str, Any]) -> None:
        commands.append(message)

    supervision = Supervision(
        call_id=call_id, clock=SYSTEM_CLOCK, view=lambda: LiveView("", "", {}), on_command=on_command
    )
    link = ChannelLayerLink(supervision)
    await link.start()
    try:
        yield commands
    finally:
        await supervision.close()
        await link.close()


def command_url(call: Call, command: str) -> str:
    return reverse("console:call-command", args=[call.pk, command])


def without_reply_channel(message: dict[str, Any]) -> dict[str, Any]:
    assert message["reply_to"]  # where the session acknowledges it
    return {key: value for key, value in message.items() if key != "reply_to"}


@live_db
async def test_hang_up_reaches_the_session_and_records_who(async_client, operator_role):
    call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS)
    await async_client.aforce_login(operator_role)

    async with live_session(call.pk) as commands:
        response = await async_client.post(command_url(call, "hangup"), headers={"hx-request": "true"})

    assert response.status_code == 200 and "Hanging up" in response.content.decode()
    assert [without_reply_channel(message) for message in commands] == [
        {"type": "call.command", "command": "hangup", "actor": operator_role.get_username()}
    ]
    entry = await AuditEntry.objects.aget(target_id=str(call.pk))
    assert (entry.actor_id, entry.verb) == (operator_role.pk, "hung up")
    assert (await Call.objects.aget(pk=call.pk)).status == Call.Status.IN_PROGRESS  # the session ends it, not the page


@live_db
async def test_say_next_and_transfer_carry_their_checked_arguments(async_client, operator_role):
    call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS)
    await async_client.aforce_login(operator_role)

    async with live_session(call.pk) as commands:
        said = await async_client.post(command_url(call, "say"), {"text": "  A colleague   will call you back. "})
        moved = await async_client.post(command_url(call, "transfer"), {"number": "+1 415 555 0123"})

    assert said.status_code == moved.status_code == 200
    assert [message.get("text") or message.get("number") for message in commands] == [
        "A colleague will call you back.",
        "+14155550123",
    ]
    verbs = [e.verb async for e in AuditEntry.objects.filter(target_id=str(call.pk)).order_by("pk")]
    assert verbs == ["had the agent say", "transferred"]


@live_db
@pytest.mark.parametrize(
    ("command", "data", "message"),
    [
        ("say", {"text": "One moment please."}, "Nothing was said"),
        ("transfer", {"number": "+14155550123"}, "The call was not transferred"),
    ],
)
async def test_a_command_no_session_takes_is_a_409_that_says_so(async_client, operator_role, command, data, message):
    call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS)
    await async_client.aforce_login(operator_role)

    response = await async_client.post(command_url(call, command), data, headers={"hx-request": "true"})

    assert response.status_code == 409
    assert f"{message}: {NO_SESSION}." in response.content.decode()
    assert not await AuditEntry.objects.filter(target_id=str(call.pk)).aexists()  # nothing was done
    assert (await Call.objects.aget(pk=call.pk)).status == Call.Status.IN_PROGRESS


@live_db
async def test_a_command_for_a_call_answered_a_moment_ago_asks_to_try_again(async_client, operator_role):
    from django.utils import timezone

    call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS, answered_at=timezone.now())
    await async_client.aforce_login(operator_role)

    response = await async_client.post(command_url(call, "hangup"), headers={"hx-request": "true"})

    assert response.status_code == 409 and CONNECTING in response.content.decode()
    assert (await Call.objects.aget(pk=call.pk)).status == Call.Status.IN_PROGRESS  # not ended behind its session


@live_db
@override_settings(TWILIO_AUTH_TOKEN="", SIMULATED_CARRIER=False)
async def test_hanging_up_a_call_no_session_holds_and_no_carrier_carries_ends_it(async_client, operator_role):
    call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS, twilio_call_sid=None)
    await async_client.aforce_login(operator_role)

    response = await async_client.post(command_url(call, "hangup"), headers={"hx-request": "true"})

    assert response.status_code == 200 and NO_SESSION in response.content.decode()
    call = await Call.objects.aget(pk=call.pk)
    assert (call.status, call.disposition) == (Call.Status.COMPLETED, "operator_hangup")
    turn = await CallTurn.objects.aget(call=call, speaker="system")
    assert (
        turn.text
        == f"Hung up by {operator_role.get_username()} (no live session held the call, and no carrier carries it)"
    )
    assert turn.data["without_session"]
    assert await AuditEntry.objects.filter(target_id=str(call.pk), verb="hung up").aexists()


class Carrier:
    """The carrier's side of one call, as its REST API would answer (the view tests above use no carrier)."""

    def __init__(self, *, state_after_hangup: CarrierCallState | None, refuses: bool = False) -> None:
        self.state: CarrierCallState | None = CarrierCallState(status="in-progress")
        self.state_after_hangup, self.refuses = state_after_hangup, refuses
        self.hangups: list[str] = []

    def hangup(self, sid: str) -> None:
        self.hangups.append(sid)
        if self.refuses:
            raise RuntimeError("HTTP 404: the requested resource was not found")
        self.state = self.state_after_hangup

    def lookup(self, sid: str) -> CarrierCallState | None:
        return self.state


@pytest.mark.django_db
@override_settings(SIMULATED_CARRIER=True)
def test_without_a_session_the_carrier_ends_the_call_and_its_answer_is_stored_as_reconcile_does(operator_role):
    call = CallFactory(status=Call.Status.IN_PROGRESS)
    carrier = Carrier(state_after_hangup=CarrierCallState(status="completed", duration="42"))

    result = call_hang_up_without_session(call_id=call.pk, actor="olive", hangup=carrier.hangup, lookup=carrier.lookup)

    assert result.ended and "ended through the carrier" in result.note
    assert carrier.hangups == [call.twilio_call_sid]
    call.refresh_from_db()
    assert (call.status, call.disposition) == (Call.Status.COMPLETED, "operator_hangup")
    assert CallEvent.objects.get(call=call).payload["Reconciled"] == "rest"  # the reconcile path stored the end


@pytest.mark.django_db
@override_settings(SIMULATED_CARRIER=True)
def test_a_call_the_carrier_no_longer_knows_is_failed_with_that_reason(operator_role):
    call = CallFactory(status=Call.Status.IN_PROGRESS)
    carrier = Carrier(state_after_hangup=None, refuses=True)
    carrier.state = None  # gone with the process that carried it (a simulated carrier)

    result = call_hang_up_without_session(call_id=call.pk, actor="olive", hangup=carrier.hangup, lookup=carrier.lookup)

    assert result.ended and "no such call" in result.note
    call.refresh_from_db()
    assert (call.status, call.disposition) == (Call.Status.FAILED, "operator_hangup")


@pytest.mark.django_db
@override_settings(SIMULATED_CARRIER=True)
def test_a_carrier_that_keeps_the_call_live_is_reported_and_nothing_is_stored(operator_role):
    call = CallFactory(status=Call.Status.IN_PROGRESS)
    carrier = Carrier(state_after_hangup=CarrierCallState(status="in-progress"))

    result = call_hang_up_without_session(call_id=call.pk, actor="olive", hangup=carrier.hangup, lookup=carrier.lookup)

    assert not result.ended and "still has the call live" in result.note
    call.refresh_from_db()
    assert (call.status, call.disposition) == (Call.Status.IN_PROGRESS, "")
    assert not CallTurn.objects.filter(call=call).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "data", "message"),
    [
        ("transfer", {"number": "not a number"}, "is not a phone number"),
        ("transfer", {}, "Phone number is empty"),
        ("say", {"text": "   "}, "write the sentence first"),
        ("say", {"text": "x" * 401}, "at most 400 characters"),
    ],
)
def test_bad_input_is_a_400_that_says_why_and_sends_nothing(client, operator_role, command, data, message):
    call = CallFactory(status=Call.Status.IN_PROGRESS)
    client.force_login(operator_role)
    response = client.post(command_url(call, command), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and message in response.content.decode()
    assert not AuditEntry.objects.filter(target_id=str(call.pk)).exists()


@pytest.mark.django_db
def test_a_call_that_is_over_cannot_be_commanded(client, operator_role):
    call = CallFactory(status=Call.Status.COMPLETED)
    client.force_login(operator_role)
    response = client.post(command_url(call, "hangup"), HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and "already over" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["hangup", "transfer", "say"])
def test_a_viewer_is_refused_every_command_and_sees_no_controls(client, viewer, command):
    call = CallFactory(status=Call.Status.IN_PROGRESS)
    client.force_login(viewer)
    response = client.post(command_url(call, command), {"number": "+14155550123", "text": "Hi."})
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(target_id=str(call.pk)).exists()
    page = client.get(reverse("console:call-detail", args=[call.pk])).content.decode()
    assert 'id="call-controls"' not in page and "Hang up" not in page and "Listen" not in page


@pytest.mark.django_db
def test_an_operator_sees_the_controls_only_while_the_call_is_live(client, operator_role):
    live = CallFactory(status=Call.Status.IN_PROGRESS)
    over = CallFactory(status=Call.Status.COMPLETED)
    client.force_login(operator_role)
    assert 'id="call-controls"' in client.get(reverse("console:call-detail", args=[live.pk])).content.decode()
    assert 'id="call-controls"' not in client.get(reverse("console:call-detail", args=[over.pk])).content.decode()


@pytest.mark.django_db
def test_the_transcript_shows_heard_and_cut_off_words_tools_and_injected_sentences(client, viewer):
    call = CallFactory(status=Call.Status.IN_PROGRESS)
    turns = [
        {"speaker": "caller", "text": "Can I come on Friday?"},
        {
            "speaker": "agent",
            "text": "Friday at nine works. Shall I book it?",
            "heard_text": "Friday at nine works.",
            "interrupted": True,
            "timings": {"stt_done": 420, "first_brain_text": 460, "first_tts_audio": 530, "first_frame_sent": 540},
        },
        {
            "speaker": "tool",
            "text": "book_slot",
            "data": {"name": "book_slot", "arguments": {"slot": "Fri 9:00"}, "result": {"ok": True}},
        },
        {"speaker": "system", "text": "x", "data": {"operator_injected": True, "operator": "alice", "text": "Hi."}},
    ]
    for index, turn in enumerate(turns):
        CallTurn.objects.create(call=call, index=index, **turn)
    client.force_login(viewer)
    page = client.get(reverse("console:call-detail", args=[call.pk])).content.decode()
    assert '<span class="heard" title="what the caller heard">Friday at nine works.</span>' in page
    assert '<span class="cut-off" title="cut off: never heard">Shall I book it?</span>' in page
    assert "first frame 540 ms" in page
    assert "{&quot;slot&quot;: &quot;Fri 9:00&quot;}" in page and "{&quot;ok&quot;: true}" in page
    assert "alice had the agent say “Hi.”" in page


@pytest.mark.django_db
def test_the_test_call_page_is_for_operators_on_any_version(client, operator_role, viewer):
    draft = AgentVersionFactory()
    client.force_login(operator_role)
    page = client.get(reverse("console:test-call", args=[draft.pk])).content.decode()
    assert 'id="talk-button"' in page and "Run a simulated caller" in page
    client.force_login(viewer)
    assert client.get(reverse("console:test-call", args=[draft.pk])).status_code == 403
    assert client.post(reverse("console:simulated-caller", args=[draft.pk]), {"persona": "booker"}).status_code == 403


@pytest.mark.django_db
def test_an_unknown_persona_is_a_400(client, operator_role):
    draft = AgentVersionFactory()
    client.force_login(operator_role)
    response = client.post(reverse("console:simulated-caller", args=[draft.pk]), {"persona": "nobody"})
    assert response.status_code == 400 and "Choose a persona" in response.content.decode()
    assert not Call.objects.filter(agent_version=draft).exists()


@pytest.mark.django_db
def test_the_live_list_shows_each_live_calls_speaker_and_last_words(client, viewer):
    from django.utils import timezone

    live = CallFactory(status=Call.Status.IN_PROGRESS, answered_at=timezone.now())
    CallTurn.objects.create(call=live, index=0, speaker="agent", text="Hello there.", heard_text="Hello there.")
    CallTurn.objects.create(call=live, index=1, speaker="caller", text="I would like to book a cleaning.")
    over = CallFactory(status=Call.Status.COMPLETED)
    quiet = CallFactory(status=Call.Status.IN_PROGRESS, answered_at=timezone.now())
    async_to_sync(speaker_publish)(str(live.pk), "agent")  # the session: the agent is talking now
    client.force_login(viewer)
    for url in (reverse("console:home"), reverse("console:live-calls")):
        page = client.get(url).content.decode()
        assert "<th>Speaking now</th>" in page
        row = page[page.index(f'id="live-call-{live.pk}"') :]
        row = row[: row.index("</tr>")]
        # Who speaks now, not who spoke last (the caller's turn is the last stored one).
        assert f'<td class="current-speaker" id="speaker-{live.pk}" data-speaking="agent">Agent</td>' in row
        assert f'id="speaker-{quiet.pk}" data-speaking="">—</td>' in page  # nothing published yet
        assert "I would like to book a cleaning." in row
        assert 'class="talk-time"' in row
        assert f'id="live-call-{over.pk}"' not in page
