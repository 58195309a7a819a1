"""The simulated carrier over real HTTP: Twilio's REST protocol in, signed callbacks out.

A live server runs the whole product; the dialer's official Twilio client
talks to the carrier at /carrier/, and the carrier calls back /twilio/status/.
Carrier-level personas (busy, no_answer, failed) need no speech models.
"""

from __future__ import annotations

import threading
from datetime import datetime, time
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.db import connection
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from calls.models import Call, CallEvent
from campaigns.dialer import dial_attempt, dialer_tick
from campaigns.models import Lead
from sandbox import carrier
from telephony.rest import twilio_create_call
from tests.campaigns.dialer_support import POSTGRESQL_ONLY
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


@pytest.fixture
def wired(settings, live_server):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.TWILIO_API_BASE_URL = live_server.url + "/carrier"
    settings.TWILIO_AUTH_TOKEN = "carrier-test-token"
    settings.SIMULATED_CARRIER = True
    settings.DIALER_GLOBAL_MAX_CONCURRENT = 50
    return live_server


def campaign_with(personas):
    # A window covering the whole guarded day, every day: the test may run at any hour,
    # so leads live in a zone where it is currently daytime.
    zone = next(
        z
        for z in ("America/New_York", "Asia/Tokyo", "Europe/London", "America/Los_Angeles", "Asia/Kolkata")
        if 9 <= datetime.now(ZoneInfo(z)).hour < 20
    )
    campaign = CampaignFactory(
        status="running", window_start=time(8), window_end=time(21), max_concurrent=10, calls_per_minute=60
    )
    leads = [LeadFactory(campaign=campaign, timezone=zone, custom_fields={"persona": p}) for p in personas]
    return campaign, leads


def wait_all(calls):
    for call in calls:
        call.refresh_from_db()
        assert call.twilio_call_sid, call.failure_reason
        carrier.wait_for(call.twilio_call_sid, timeout=30)


def test_carrier_level_outcomes_come_back_as_signed_callbacks(wired):
    _campaign, (busy, silent, broken) = campaign_with(["busy", "no_answer", "failed"])
    call_ids = dialer_tick().call_ids  # eager tasks: each dial goes over HTTP to the carrier
    calls = list(Call.objects.filter(pk__in=call_ids))
    assert len(calls) == 3
    wait_all(calls)
    outcomes = {c.lead_id: (c.status, c.outcome) for c in Call.objects.filter(pk__in=call_ids)}
    assert outcomes[busy.pk] == ("busy", "busy")
    assert outcomes[silent.pk] == ("no-answer", "no-answer")
    assert outcomes[broken.pk] == ("failed", "failed")
    for lead in (busy, silent, broken):
        lead.refresh_from_db()
    assert busy.status == Lead.Status.RETRY and silent.status == Lead.Status.RETRY
    # Every callback was signed and accepted: initiated (+ ringing) + final, once each.
    events = CallEvent.objects.filter(call_id__in=call_ids)
    assert events.filter(call__lead=busy).count() == 3
    assert events.filter(call__lead=broken).count() == 2
    assert Call.objects.get(lead=broken).failure_reason == "carrier failed the call (SIP 503)"


@POSTGRESQL_ONLY
def test_duplicated_dial_tasks_ring_once(wired):
    _campaign, [lead] = campaign_with(["busy"])
    [call_id] = dialer_tick(dispatch=False).call_ids
    barrier = threading.Barrier(4)
    results: list[str] = []

    def worker():
        try:
            barrier.wait()
            results.append(dial_attempt(call_id=call_id))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["already-started"] * 3 + ["dialed"]
    rung = [c for c in carrier.CALLS.values() if c.to == lead.phone]
    assert len(rung) == 1
    call = Call.objects.get(pk=call_id)
    assert call.twilio_call_sid == rung[0].sid


def test_carrier_refuses_bad_credentials_and_bad_numbers(wired, settings):
    with pytest.raises(TwilioRestException) as bad_number:
        twilio_create_call(to="+1555", from_="+15005550006", url=wired.url + "/twilio/voice/")
    assert bad_number.value.status == 400
    client = Client(settings.TWILIO_ACCOUNT_SID, "not-the-token")
    client.api.base_url = settings.TWILIO_API_BASE_URL
    with pytest.raises(TwilioRestException) as refused:
        client.api.v2010.accounts(settings.TWILIO_ACCOUNT_SID).calls.create(
            to="+12125550100", from_="+15005550006", url=wired.url + "/twilio/voice/"
        )
    assert refused.value.status == 401


def test_carrier_is_off_with_a_real_twilio_account(wired, settings, client):
    settings.SIMULATED_CARRIER = False
    response = client.post(f"/carrier/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Calls.json", {})
    assert response.status_code == 404


# --- bounded memory --------------------------------------------------------------------------


def test_finished_calls_leave_the_registry_and_only_the_last_few_are_kept(wired, monkeypatch):
    """The registries grew by one call per dial, forever; now a call leaves once reported."""
    registry = carrier.CallRegistry(keep_finished=3)
    monkeypatch.setattr(carrier, "CALLS", registry)
    LeadFactory(phone="+12125550188", custom_fields={"persona": "busy"})
    sids = []
    for _ in range(8):
        sid = twilio_create_call(to="+12125550188", from_="+15005550006", url=wired.url + "/twilio/voice/")
        assert carrier.wait_for(sid, timeout=30).status == "busy"  # played out, final callback sent
        sids.append(sid)
    assert registry.live_count == 0
    assert len(registry) == 3
    assert [call.sid for call in registry.values()] == sids[-3:]
    with pytest.raises(KeyError):
        carrier.wait_for(sids[0])


def test_the_registry_refuses_calls_past_its_live_limit():
    registry = carrier.CallRegistry(max_live=2, keep_finished=1)
    calls = [carrier.CarrierCall(sid=f"CA{n}", to="+1", from_="+1", url="", persona="busy") for n in range(3)]
    assert [registry.add(call) for call in calls] == [True, True, False]
    registry.finish("CA0")
    assert registry.add(calls[2]) is True  # room again once one is reported
    registry.finish("CA1")
    registry.finish("CA2")
    assert (registry.live_count, [c.sid for c in registry.values()]) == (0, ["CA2"])


def test_a_dial_past_the_live_limit_is_refused_like_twilio_refuses_a_burst(wired, monkeypatch):
    monkeypatch.setattr(carrier, "CALLS", carrier.CallRegistry(max_live=0))
    with pytest.raises(TwilioRestException) as refused:
        twilio_create_call(to="+12125550100", from_="+15005550006", url=wired.url + "/twilio/voice/")
    assert refused.value.status == 429


def test_the_journal_is_bounded(rf):
    journal = carrier.Journal(size=2)
    for n in range(3):
        journal.record(rf.post(f"/carrier/x/{n}", {"Status": "completed"}))
    assert [(e["seq"], e["path"]) for e in journal.after()] == [(2, "/carrier/x/1"), (3, "/carrier/x/2")]
    assert [e["seq"] for e in journal.after(2)] == [3]


# --- updates of calls that did not dial through the carrier ------------------------------------


def test_updates_of_calls_placed_elsewhere_are_answered_and_journaled(wired, settings):
    from telephony.rest import twilio_hangup, twilio_update_twiml

    sid = "CA" + "7" * 32  # rang the answer webhook directly, as the synthetic caller does
    before = max((e["seq"] for e in carrier.JOURNAL.after()), default=0)
    twilio_update_twiml(sid, "<Response><Dial>+14155550123</Dial></Response>")
    twilio_hangup(sid)
    seen = list(carrier.JOURNAL.after(before))
    assert [e["form"] for e in seen] == [
        {"Twiml": "<Response><Dial>+14155550123</Dial></Response>"},
        {"Status": "completed"},
    ]
    assert all(e["path"].endswith(f"/Calls/{sid}.json") for e in seen)
    assert carrier.CALLS.get(sid) is None  # kept nowhere but the journal
    # The journal is readable over HTTP, with the account's credentials.
    url = f"{settings.TWILIO_API_BASE_URL}/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Sandbox/Requests.json"
    auth = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    response = httpx.get(url, params={"after": before}, auth=auth)
    assert [e["form"] for e in response.json()["requests"]] == [e["form"] for e in seen]
    assert httpx.get(url, auth=(settings.TWILIO_ACCOUNT_SID, "wrong")).status_code == 401
