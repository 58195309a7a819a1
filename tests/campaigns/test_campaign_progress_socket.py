"""Campaign progress over the console socket: pushed when a campaign's counts change, throttled per socket.

The real ASGI application and channel layer; the campaign pages open the
socket with ?campaigns=all (the list) or ?campaigns=<id> (one campaign).
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from calls.models import Call
from calls.services import call_set_status
from campaigns.models import Lead
from campaigns.services import leads_assign_campaign
from tests.calls.test_console_socket import SAME_ORIGIN, session_cookie
from tests.factories import CallFactory, CampaignFactory, LeadFactory
from voiceops.asgi import application
from voiceops.realtime import CONSOLE_GROUP, broadcast_campaigns_changed

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


async def connect(query: str) -> WebsocketCommunicator:
    cookie = await sync_to_async(session_cookie)()
    communicator = WebsocketCommunicator(application, f"/ws/console/live/{query}", headers=[SAME_ORIGIN, cookie])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def progress_messages(communicator: WebsocketCommunicator, campaign_id: int, count: int) -> list[str]:
    """The next `count` progress pushes for the campaign (call rows on the same socket are skipped)."""
    found: list[str] = []
    while len(found) < count:
        html = await communicator.receive_from(timeout=10)
        if f'id="campaign-progress-{campaign_id}"' in html:
            found.append(html)
    return found


def campaign_with_leads(n: int, name: str = "Spring"):
    campaign = CampaignFactory(name=name, status="running")
    leads = [LeadFactory(campaign=campaign) for _ in range(n)]
    return campaign, leads


@pytest.fixture(autouse=True)
def fresh_counts(monkeypatch):
    # Each test counts from the database: a count cached by an earlier test must not answer.
    from django.core.cache import cache

    cache.clear()


async def test_the_list_gets_a_campaigns_progress_when_one_of_its_calls_changes():
    campaign, leads = await sync_to_async(campaign_with_leads)(3)
    communicator = await connect("?campaigns=all")
    # On connecting, the page catches up through the socket itself.
    [initial] = await progress_messages(communicator, campaign.pk, 1)
    assert "of 3 leads done · 0 dialed · 0 connected" in initial  # the list's variant

    call = await sync_to_async(CallFactory)(campaign=campaign, lead=leads[0], agent_version=campaign.agent_version)
    await sync_to_async(call_set_status)(call_id=call.pk, status=Call.Status.RINGING)

    [html] = await progress_messages(communicator, campaign.pk, 1)
    assert 'hx-swap-oob="true"' in html and 'aria-label="Spring progress"' in html
    assert "of 3 leads done · 1 dialed · 0 connected" in html
    await communicator.disconnect()


async def test_a_socket_without_campaign_pages_gets_no_progress():
    campaign, leads = await sync_to_async(campaign_with_leads)(1)
    call = await sync_to_async(CallFactory)(campaign=campaign, lead=leads[0], agent_version=campaign.agent_version)
    communicator = await connect("")
    await sync_to_async(call_set_status)(call_id=call.pk, status=Call.Status.RINGING)
    row = await communicator.receive_from(timeout=10)
    assert f'id="call-{call.pk}"' in row
    assert await communicator.receive_nothing(timeout=1.5)
    await communicator.disconnect()


async def test_a_campaign_page_follows_only_its_campaign():
    spring, _ = await sync_to_async(campaign_with_leads)(2)
    other, _ = await sync_to_async(campaign_with_leads)(1, "Autumn")
    communicator = await connect(f"?campaigns={spring.pk}")
    await progress_messages(communicator, spring.pk, 1)  # the catch-up on connecting: its campaign only

    await get_channel_layer().group_send(CONSOLE_GROUP, {"type": "campaigns.changed", "campaign_ids": [other.pk]})
    assert await communicator.receive_nothing(timeout=1.5)

    await get_channel_layer().group_send(CONSOLE_GROUP, {"type": "campaigns.changed", "campaign_ids": [spring.pk]})
    [html] = await progress_messages(communicator, spring.pk, 1)
    assert 'id="progress-remaining">2<' in html  # the campaign page's variant
    await communicator.disconnect()


async def test_changes_within_the_interval_go_out_together(monkeypatch):
    monkeypatch.setattr("calls.consumers.LIVE_PROGRESS_INTERVAL_S", 2.0)
    campaign, _ = await sync_to_async(campaign_with_leads)(1)
    communicator = await connect("?campaigns=all")

    for _ in range(5):  # five changes in a burst, the leads growing
        await sync_to_async(LeadFactory)(campaign=campaign)
        await sync_to_async(broadcast_campaigns_changed)([campaign.pk])

    # The catch-up on connecting, then the five changes together once the interval has passed.
    _initial, second = await progress_messages(communicator, campaign.pk, 2)
    assert "of 6 leads done" in second  # the last push carries the last state
    assert await communicator.receive_nothing(timeout=3.0)  # one push for five changes, not five
    await communicator.disconnect()


async def test_leads_added_to_a_campaign_push_its_progress():
    campaign, _ = await sync_to_async(campaign_with_leads)(1)
    await sync_to_async(lambda: [LeadFactory() for _ in range(2)])()
    communicator = await connect(f"?campaigns={campaign.pk}")
    [initial] = await progress_messages(communicator, campaign.pk, 1)
    assert 'id="progress-remaining">1<' in initial

    moved = await sync_to_async(leads_assign_campaign)(
        leads=Lead.objects.exclude(campaign=campaign), campaign_id=campaign.pk
    )

    assert moved == 2
    [html] = await progress_messages(communicator, campaign.pk, 1)
    assert 'id="progress-remaining">3<' in html
    await communicator.disconnect()
