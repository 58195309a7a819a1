"""Console broadcasts over the real Redis channel layer: handed to the server's loop, coalesced, never lost."""

from __future__ import annotations

import threading

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from voiceops.realtime import CONSOLE_GROUP, broadcast_call_changed, broadcast_calls_changed


@pytest.fixture
async def console_channel():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(CONSOLE_GROUP, channel)
    yield layer, channel
    await layer.group_discard(CONSOLE_GROUP, channel)


async def marker(layer, name: str) -> None:
    """A message sent after the ones under test: whatever arrives before it was sent before it."""
    await layer.group_send(CONSOLE_GROUP, {"type": "test.marker", "name": name})


async def received_until_marker(layer, channel) -> list[dict]:
    messages: list[dict] = []
    while True:
        message = await layer.receive(channel)
        if message["type"] == "test.marker":
            return messages
        messages.append(message)


async def test_from_a_worker_thread_the_loop_sends_it(console_channel):
    layer, channel = console_channel
    sent_by: list[str] = []

    def in_worker_thread() -> None:
        broadcast_call_changed("call-1")
        sent_by.append(threading.current_thread().name)

    await sync_to_async(in_worker_thread, thread_sensitive=False)()
    message = await layer.receive(channel)
    assert message == {"type": "calls.changed", "call_ids": ["call-1"]}
    assert sent_by and sent_by[0] != threading.current_thread().name


async def test_changes_piled_up_before_the_loop_runs_go_out_as_one_message(console_channel):
    layer, channel = console_channel
    # On the loop's own thread nothing is sent until we yield: every change
    # is pending together and leaves as one message naming each call once.
    for call_id in ["call-a", "call-b", "call-a", "call-a"]:
        broadcast_call_changed(call_id)
    broadcast_calls_changed(["call-c", "call-b"])
    first = await layer.receive(channel)
    await marker(layer, "end")
    rest = await received_until_marker(layer, channel)
    assert first == {"type": "calls.changed", "call_ids": ["call-a", "call-b", "call-c"]}
    assert rest == []


async def test_a_later_change_after_a_flush_is_sent_again(console_channel):
    layer, channel = console_channel
    broadcast_call_changed("call-x")
    assert (await layer.receive(channel))["call_ids"] == ["call-x"]
    broadcast_call_changed("call-x")
    assert (await layer.receive(channel))["call_ids"] == ["call-x"]


async def test_without_a_server_loop_it_is_sent_before_returning(console_channel):
    layer, channel = console_channel
    # A plain thread (a Celery worker, a management command): no loop to hand
    # it to, so it is on the layer by the time the call returns.
    worker = threading.Thread(target=broadcast_call_changed, args=("call-plain",))
    worker.start()
    await sync_to_async(worker.join, thread_sensitive=False)()
    await marker(layer, "after")
    assert await received_until_marker(layer, channel) == [{"type": "calls.changed", "call_ids": ["call-plain"]}]
