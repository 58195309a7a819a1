"""Operators' commands on a live call from its page: checked, recorded with the call, sent to its session.

The command crosses real Redis to whatever joined the call's control group
(here a stand-in for the session, in the daphne process that holds the call).
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from django.urls import reverse

from audit.models import AuditEntry
from calls.models import Call, CallTurn
from live.supervision import control_group
from tests.factories import AgentVersionFactory, CallFactory

SESSION_LAYER = (
    get_channel_layer()  # the embedded default's in-memory layer: one per process, shared
    if "InMemory" in channel_layers.configs["default"]["BACKEND"]
    else channel_layers.make_backend("default")
)


def session_stand_in(call: Call) -> str:
    channel = async_to_sync(SESSION_LAYER.new_channel)()
    async_to_sync(SESSION_LAYER.group_add)(control_group(call.pk), channel)
    return channel


def received(channel: str) -> dict:
    async def receive() -> dict:
        import asyncio

        return await asyncio.wait_for(SESSION_LAYER.receive(channel), 5)

    return async_to_sync(receive)()


def command_url(call: Call, command: str) -> str:
    return reverse("console:call-command", args=[call.pk, command])


@pytest.mark.django_db
def test_hang_up_reaches_the_session_and_records_who(client, operator_role):
    call = CallFactory(status=Call.Status.IN_PROGRESS)
    channel = session_stand_in(call)
    client.force_login(operator_role)

    response = client.post(command_url(call, "hangup"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and "Hanging up" in response.content.decode()
    assert received(channel) == {
        "type": "call.command",
        "command": "hangup",
        "actor": operator_role.get_username(),
    }
    entry = AuditEntry.objects.get(target_id=str(call.pk))
    assert (entry.actor, entry.verb) == (operator_role, "hung up")


@pytest.mark.django_db
def test_say_next_and_transfer_carry_their_checked_arguments(client, operator_role):
    call = CallFactory(status=Call.Status.IN_PROGRESS)
    channel = session_stand_in(call)
    client.force_login(operator_role)

    client.post(command_url(call, "say"), {"text": "  A colleague   will call you back. "})
    assert received(channel)["text"] == "A colleague will call you back."
    client.post(command_url(call, "transfer"), {"number": "+1 415 555 0123"})
    assert received(channel)["number"] == "+14155550123"
    assert [e.verb for e in AuditEntry.objects.filter(target_id=str(call.pk)).order_by("pk")] == [
        "had the agent say",
        "transferred",
    ]


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
    client.force_login(viewer)
    for url in (reverse("console:home"), reverse("console:live-calls")):
        page = client.get(url).content.decode()
        row = page[page.index(f'id="live-call-{live.pk}"') :]
        row = row[: row.index("</tr>")]
        assert '<td class="current-speaker">Caller</td>' in row
        assert "I would like to book a cleaning." in row
        assert 'class="talk-time"' in row
        assert f'id="live-call-{over.pk}"' not in page
