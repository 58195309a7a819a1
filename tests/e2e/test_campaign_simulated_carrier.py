"""A small campaign end to end: the dialer, the simulated carrier, the live engine, every lead's outcome.

The test process runs the dialer tick (Celery eager: each dial goes over HTTP
with the official Twilio client to the carrier inside the real daphne server
every e2e test shares, `voice_server`, whose Twilio API is its own carrier).
The carrier sends signed status and AMD callbacks to that server and plays
each callee with its persona over the real answer webhook and Media Streams
socket, where the live engine runs the demo agent with the packaged models.
"""

from __future__ import annotations

import io
import time as monotonic_clock
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from agents.models import AgentVersion
from calls.models import Call, CallEvent
from campaigns.dialer import dialer_tick
from campaigns.models import Campaign, Lead
from sandbox.demo import DEMO_AGENT_NAME
from tests.e2e.conftest import E2E_ACCOUNT_SID

pytestmark = [pytest.mark.e2e]

PERSONAS = {
    "+12125550171": "booker",
    "+12125550172": "not_interested",
    "+12125550173": "voicemail",
    "+12125550174": "busy",
}


def daytime_zone() -> str:
    for zone in ("America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Tokyo", "Asia/Kolkata"):
        if 9 <= datetime.now(ZoneInfo(zone)).hour < 20:
            return zone
    raise AssertionError("some zone in the list is always in daytime")


def test_small_campaign_against_the_simulated_carrier(voice_server, transactional_db, settings):
    settings.PUBLIC_BASE_URL = voice_server.base_url
    settings.TWILIO_API_BASE_URL = voice_server.base_url + "/carrier"
    settings.TWILIO_ACCOUNT_SID = E2E_ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = voice_server.auth_token
    settings.DIALER_DISPOSITION_GRACE_SECONDS = 3
    call_command("seed_demo", stdout=io.StringIO())  # the demo agent (Ava's flow) and its calendar
    published = AgentVersion.objects.filter(agent__name=DEMO_AGENT_NAME, published_at__isnull=False)
    version = published.order_by("pk").first()
    assert version is not None
    campaign = Campaign.objects.create(
        name="E2E recall",
        agent_version=version,
        status=Campaign.Status.RUNNING,
        window_start=time(8),
        window_end=time(21),
        days=[],
        max_concurrent=4,
        calls_per_minute=10,
    )
    zone = daytime_zone()
    for phone, persona in PERSONAS.items():
        Lead.objects.create(
            phone=phone,
            first_name="Sam",
            timezone=zone,
            consent=True,
            campaign=campaign,
            custom_fields={"persona": persona},
        )

    deadline = monotonic_clock.monotonic() + 240
    while monotonic_clock.monotonic() < deadline:
        dialer_tick()
        if not Lead.objects.filter(campaign=campaign, status__in=["new", "dialing"]).exists():
            break
        monotonic_clock.sleep(1)
    leads = {lead.phone: lead for lead in Lead.objects.filter(campaign=campaign)}
    calls = {c.lead.phone: c for c in Call.objects.filter(campaign=campaign).select_related("lead")}
    summary = {
        p: (leads[p].status, leads[p].last_outcome, calls[p].status, calls[p].answered_by, calls[p].disposition)
        for p in calls
    }
    assert len(calls) == 4, summary

    # Every attempt was dialed once, through the carrier, with its callbacks stored once.
    for call in calls.values():
        assert call.twilio_call_sid and call.outcome_applied, summary
        assert call.agent_version_id == version.pk
        statuses = list(
            CallEvent.objects.filter(call=call, kind="status").values_list("payload__CallStatus", flat=True)
        )
        assert len(statuses) == len(set(statuses)), statuses

    booker, declined, machine, busy = (leads[p] for p in PERSONAS)
    assert (booker.status, booker.last_outcome) == (Lead.Status.COMPLETED, "booked"), summary
    assert (declined.status, declined.last_outcome) == (Lead.Status.COMPLETED, "not_interested"), summary
    # The demo agent leaves a message: Twilio reports the machine at the end of its greeting.
    assert calls["+12125550173"].answered_by == "machine_end_beep", summary
    assert (machine.status, machine.last_outcome) == (Lead.Status.RETRY, "voicemail"), summary
    assert (busy.status, busy.last_outcome) == (Lead.Status.RETRY, "busy"), summary
    assert calls["+12125550174"].answered_at is None
    for lead in (machine, busy):
        assert lead.next_attempt_at is not None and lead.attempts == 1
