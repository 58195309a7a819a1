"""A voicemail left after the beep, end to end (issue 14).

The dialer asks the simulated carrier for the call with answering-machine
detection set for the demo agent's version (it leaves a message, so
DetectMessageEnd). The carrier's voicemail callee plays its greeting and a
beep; when the beep has played the carrier posts Twilio's asynchronous AMD
result, machine_end_beep, to the status webhook; the live engine reads it
off the call, says the version's message and hangs up.
"""

from __future__ import annotations

import io
import time as monotonic_clock
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from agents.brains.templating import render_template
from agents.models import AgentVersion
from calls.models import Call, CallEvent, CallTurn
from campaigns.dialer import dialer_tick
from campaigns.models import Campaign, Lead
from sandbox.demo import DEMO_AGENT_NAME, DEMO_VOICEMAIL_MESSAGE
from tests.e2e.conftest import E2E_ACCOUNT_SID

pytestmark = [pytest.mark.e2e]


def daytime_zone() -> str:
    for zone in ("America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Tokyo", "Asia/Kolkata"):
        if 9 <= datetime.now(ZoneInfo(zone)).hour < 20:
            return zone
    raise AssertionError("some zone in the list is always in daytime")


def test_the_demo_agent_leaves_its_message_after_the_beep(voice_server, transactional_db, settings):
    settings.PUBLIC_BASE_URL = voice_server.base_url
    settings.TWILIO_API_BASE_URL = voice_server.base_url + "/carrier"
    settings.TWILIO_ACCOUNT_SID = E2E_ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = voice_server.auth_token
    settings.DIALER_DISPOSITION_GRACE_SECONDS = 3
    call_command("seed_demo", stdout=io.StringIO())
    version = (
        AgentVersion.objects.filter(agent__name=DEMO_AGENT_NAME, published_at__isnull=False).order_by("pk").first()
    )
    assert version is not None
    campaign = Campaign.objects.create(
        name="E2E voicemail",
        agent_version=version,
        status=Campaign.Status.RUNNING,
        window_start=time(8),
        window_end=time(21),
        days=[],
        max_concurrent=1,
        calls_per_minute=10,
    )
    lead = Lead.objects.create(
        phone="+12125550183",
        first_name="Tom",
        timezone=daytime_zone(),
        consent=True,
        campaign=campaign,
        custom_fields={"persona": "voicemail"},
    )

    deadline = monotonic_clock.monotonic() + 150
    while monotonic_clock.monotonic() < deadline:
        dialer_tick()
        lead.refresh_from_db()
        if lead.status not in ("new", "dialing"):
            break
        monotonic_clock.sleep(1)
    call = Call.objects.get(lead=lead)
    turns = list(CallTurn.objects.filter(call=call).order_by("pk"))
    summary = (lead.status, lead.last_outcome, call.status, call.answered_by, call.disposition, turns)

    assert call.answered_by == "machine_end_beep", summary
    assert call.disposition == "voicemail" and lead.last_outcome == "voicemail", summary
    message = render_template(DEMO_VOICEMAIL_MESSAGE, {"first_name": "Tom"})
    # The flow may have begun the same words as its answer to the machine's greeting ("you have
    # reached..."): the beep cuts that reply off, and the message is then left whole, once.
    [left] = [turn for turn in turns if turn.speaker == "agent" and turn.text == message and not turn.interrupted]
    assert not left.interrupted and left.heard_text == message, summary  # all of it, then the hang-up
    amd = CallEvent.objects.get(call=call, kind="amd")
    assert left.started_at is not None and left.started_at >= amd.received_at  # after the beep, not before
