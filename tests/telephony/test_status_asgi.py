"""POST /twilio/status/ through the real ASGI application (the lean door in front of Django).

Same guarantees as the Django view: signatures, idempotency, forward-only
statuses, outcomes for the lead, and the console broadcast, here sent from the
server's event loop after the answer.
"""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator
from django.conf import settings as django_settings
from django.db import close_old_connections, connection
from twilio.request_validator import RequestValidator

from calls.models import Call, CallEvent
from campaigns.models import Lead
from telephony import status as twilio_status
from telephony import status_callbacks
from telephony.status_callbacks import status_callbacks_apply
from tests.campaigns.dialer_support import campaign_attempt, no_carrier, status_params
from voiceops.asgi import application
from voiceops.realtime import CONSOLE_GROUP

pytestmark = [
    pytest.mark.django_db(transaction=True, reset_sequences=True),
    pytest.mark.usefixtures("no_carrier", "signed"),
]
__all__ = ["no_carrier"]

TOKEN = "asgi-test-token"


@pytest.fixture
def signed(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN


@pytest.fixture
def attempt(db):
    return campaign_attempt("CA" + "3" * 32)


async def post(
    call: Call | None,
    params: dict[str, str],
    *,
    token: str | None = TOKEN,
    method: str = "POST",
    host: bytes | None = b"testserver",
):
    """POST a callback signed with `token` (None: unsigned) and sent with `host` (None: no Host header)."""
    path = "/twilio/status/" + (f"?call={call.pk}" if call is not None else "")
    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    if host is not None:
        headers.append((b"host", host))
    if token is not None:
        signature = RequestValidator(token).compute_signature(django_settings.PUBLIC_BASE_URL + path, params)
        headers.append((b"x-twilio-signature", signature.encode()))
    communicator = HttpCommunicator(application, method, path, body=urlencode(params).encode(), headers=headers)
    return await communicator.get_response(timeout=10)


async def test_signed_callbacks_are_applied_once_and_forged_ones_refused(attempt):
    ringing = status_params(attempt, "ringing", 1)
    forged = await post(attempt, ringing, token="not-the-token")
    assert forged["status"] == 403 and forged["body"] == b"invalid Twilio signature"
    assert await CallEvent.objects.acount() == 0

    first = await post(attempt, ringing)
    again = await post(attempt, ringing)
    assert (first["status"], first["body"]) == (200, b"applied")
    assert (again["status"], again["body"]) == (200, b"duplicate")
    late = await post(attempt, status_params(attempt, "initiated", 0))
    assert late["body"] == b"stale"
    await attempt.arefresh_from_db()
    assert attempt.status == Call.Status.RINGING
    assert await CallEvent.objects.filter(call=attempt).acount() == 2


async def test_unsigned_callbacks_are_refused_whenever_a_token_is_set(attempt):
    unsigned = await post(attempt, status_params(attempt, "ringing", 1), token=None)
    empty = await post(attempt, status_params(attempt, "ringing", 1), token="")
    assert (unsigned["status"], unsigned["body"]) == (403, b"invalid Twilio signature")
    assert empty["status"] == 403
    assert await CallEvent.objects.acount() == 0
    await attempt.arefresh_from_db()
    assert attempt.status == Call.Status.QUEUED


async def test_the_fast_route_honours_allowed_hosts(attempt, settings):
    settings.ALLOWED_HOSTS = ["voice.example.com", ".calls.example.net"]
    refused = [
        await post(attempt, status_params(attempt, "initiated", 0), host=b"attacker.example.org"),
        await post(attempt, status_params(attempt, "initiated", 0), host=None),
        await post(attempt, status_params(attempt, "initiated", 0), host=b"voice.example.com.evil"),
    ]
    assert [(r["status"], r["body"]) for r in refused] == [(400, b"invalid Host header")] * 3
    assert await CallEvent.objects.acount() == 0
    accepted = [
        await post(attempt, status_params(attempt, "initiated", 0), host=b"voice.example.com"),
        await post(attempt, status_params(attempt, "ringing", 1), host=b"eu.calls.example.net:8443"),
    ]
    assert [(r["status"], r["body"]) for r in accepted] == [(200, b"applied")] * 2
    # The setting is read per request, not once: a host allowed a moment ago is refused after it changes.
    settings.ALLOWED_HOSTS = ["other.example.com"]
    later = await post(attempt, status_params(attempt, "in-progress", 2), host=b"voice.example.com")
    assert later["status"] == 400
    await attempt.arefresh_from_db()
    assert attempt.status == Call.Status.RINGING


async def test_final_status_drives_the_lead_and_reaches_the_console(attempt):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(CONSOLE_GROUP, channel)
    try:
        response = await post(attempt, status_params(attempt, "busy", 2))
        assert response["body"] == b"applied"
        # The call's row, and its campaign's progress (the lead now waits to retry), in either order.
        messages = [await layer.receive(channel), await layer.receive(channel)]
        assert {"type": "calls.changed", "call_ids": [str(attempt.pk)]} in messages
        assert {"type": "campaigns.changed", "campaign_ids": [attempt.campaign_id]} in messages
    finally:
        await layer.group_discard(CONSOLE_GROUP, channel)
    await attempt.arefresh_from_db()
    assert attempt.status == Call.Status.BUSY and attempt.outcome == "busy" and attempt.outcome_applied
    lead = await Lead.objects.aget(pk=attempt.lead_id)
    assert lead.status == Lead.Status.RETRY and lead.last_outcome == "busy"


async def test_bad_requests_get_clear_errors_and_store_nothing(attempt, settings):
    wrong_method = await post(attempt, status_params(attempt, "ringing", 1), method="GET")
    assert wrong_method["status"] == 405 and (b"Allow", b"POST") in [
        (name.title(), value) for name, value in wrong_method["headers"]
    ]
    unknown = await post(attempt, status_params(attempt, "exploded", 1))
    assert unknown["status"] == 400 and b"exploded" in unknown["body"]
    no_sid = await post(attempt, {"CallStatus": "ringing"})
    assert no_sid["status"] == 400 and b"CallSid" in no_sid["body"]
    bad_sequence = await post(attempt, status_params(attempt, "ringing", 1) | {"SequenceNumber": "two"})
    assert bad_sequence["status"] == 400 and b"SequenceNumber" in bad_sequence["body"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64
    too_big = await post(attempt, status_params(attempt, "ringing", 1))
    assert too_big["status"] == 413
    assert await CallEvent.objects.acount() == 0
    await attempt.arefresh_from_db()
    assert attempt.status == Call.Status.QUEUED


async def test_without_a_token_callbacks_are_accepted_unsigned(attempt, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    communicator = HttpCommunicator(
        application,
        "POST",
        f"/twilio/status/?call={attempt.pk}",
        body=urlencode(status_params(attempt, "initiated", 0)).encode(),
        headers=[(b"host", b"testserver"), (b"content-type", b"application/x-www-form-urlencoded")],
    )
    response = await communicator.get_response(timeout=10)
    assert response["body"] == b"applied"
    call = await sync_to_async(Call.objects.get)(pk=attempt.pk)
    assert call.status == Call.Status.INITIATED


async def test_other_paths_still_go_through_django():
    login = HttpCommunicator(application, "GET", "/login/", headers=[(b"host", b"127.0.0.1")])
    response = await login.get_response(timeout=10)
    assert response["status"] == 200 and b"<form" in response["body"]


async def test_concurrent_duplicates_and_out_of_order_callbacks_end_in_one_state(attempt):
    # Every callback of the call twice, all in flight at once on the worker threads.
    callbacks = [
        status_params(attempt, status, sequence)
        for sequence, status in enumerate(["initiated", "ringing", "in-progress", "completed"])
    ]
    callbacks.append(
        {"AccountSid": django_settings.TWILIO_ACCOUNT_SID, "CallSid": attempt.twilio_call_sid, "AnsweredBy": "human"}
    )
    responses = await asyncio.gather(*(post(attempt, params) for params in reversed(callbacks * 2)))
    bodies = sorted(response["body"] for response in responses)
    assert all(response["status"] == 200 for response in responses)
    assert bodies.count(b"duplicate") == len(callbacks)
    await attempt.arefresh_from_db()
    assert attempt.status == Call.Status.COMPLETED and attempt.answered_by == "human"
    # Answered by a person: the lead's outcome waits for the engine's disposition.
    assert attempt.status_sequence == 3 and not attempt.outcome_applied
    assert await CallEvent.objects.filter(call=attempt).acount() == len(callbacks)


def second_attempt(attempt):
    return campaign_attempt("CA" + "5" * 32, attempt.campaign)


@pytest.fixture
def held_batches(monkeypatch):
    """Record each batch the database thread applies, holding the first until the test releases it."""
    sizes: list[int] = []
    release = threading.Event()

    def apply(callbacks):
        sizes.append(len(callbacks))
        if len(sizes) == 1:
            release.wait(timeout=10)
        return status_callbacks_apply(callbacks)

    monkeypatch.setattr(twilio_status, "status_callbacks_apply", apply)
    return sizes, release


async def queued(count: int) -> None:
    """Wait until `count` callbacks wait for the next batch."""
    batcher = twilio_status._batcher_for(asyncio.get_running_loop())
    for _ in range(500):
        if len(batcher.queued) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(batcher.queued)} callbacks queued, expected {count}")


async def until(condition, *, seconds: float = 10.0) -> None:
    """Poll a condition that another thread makes true (no event crosses from the database thread)."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_callbacks_arriving_during_a_batch_are_applied_together_with_their_own_answers(attempt, held_batches):
    sizes, release = held_batches
    other = await sync_to_async(second_attempt)(attempt)
    first = asyncio.create_task(post(attempt, status_params(attempt, "initiated", 0)))
    await until(lambda: bool(sizes))  # the first callback is on the database thread, held
    later = [
        asyncio.create_task(post(attempt, status_params(attempt, "ringing", 1))),
        asyncio.create_task(post(other, status_params(other, "ringing", 1))),
        asyncio.create_task(post(attempt, status_params(attempt, "initiated", 0))),
    ]
    await queued(3)
    release.set()
    answers = [await task for task in [first, *later]]
    assert [a["body"] for a in answers] == [b"applied", b"applied", b"applied", b"duplicate"]
    assert sizes == [1, 3]
    await attempt.arefresh_from_db()
    await other.arefresh_from_db()
    assert attempt.status == other.status == Call.Status.RINGING


async def test_a_callback_the_database_refuses_fails_alone_and_twilio_may_retry_it(attempt, held_batches, monkeypatch):
    sizes, release = held_batches
    other = await sync_to_async(second_attempt)(attempt)
    real_apply = status_callbacks._apply

    def refuse_other(callback, call, effects):
        if callback.sid == other.twilio_call_sid:
            raise RuntimeError("the database said no")
        return real_apply(callback, call, effects)

    monkeypatch.setattr(status_callbacks, "_apply", refuse_other)
    holder = asyncio.create_task(post(attempt, status_params(attempt, "initiated", 0)))
    await until(lambda: bool(sizes))
    mine = asyncio.create_task(post(attempt, status_params(attempt, "ringing", 1)))
    theirs = asyncio.create_task(post(other, status_params(other, "ringing", 1)))
    await queued(2)
    release.set()
    assert (await holder)["body"] == b"applied"
    assert (await mine)["body"] == b"applied"
    refused = await theirs
    assert refused["status"] == 503 and b"retry" in refused["body"]
    assert sizes[:2] == [1, 2]  # the batch of two failed, then each was applied alone
    assert not await CallEvent.objects.filter(call=other).aexists()
    await attempt.arefresh_from_db()
    assert attempt.status == Call.Status.RINGING


async def post_body(call: Call, body: bytes, *, signed_params: dict[str, str] | None = None):
    path = f"/twilio/status/?call={call.pk}"
    signature = RequestValidator(TOKEN).compute_signature(django_settings.PUBLIC_BASE_URL + path, signed_params or {})
    communicator = HttpCommunicator(
        application,
        "POST",
        path,
        body=body,
        headers=[
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"x-twilio-signature", signature.encode()),
        ],
    )
    return await communicator.get_response(timeout=10)


async def test_unreadable_or_impossible_callbacks_get_a_400_and_store_nothing(attempt, settings):
    huge = await post(attempt, status_params(attempt, "ringing", 2**31))
    assert huge["status"] == 400 and b"SequenceNumber" in huge["body"]
    negative = await post(attempt, status_params(attempt, "ringing", -1))
    assert negative["status"] == 400
    nul = await post(attempt, status_params(attempt, "ringing", 1, To="+1555\x00"))
    assert nul["status"] == 400 and b"NUL" in nul["body"]
    not_utf8 = await post_body(attempt, b"CallSid=CA%FF%FE&CallStatus=ringing")
    assert not_utf8["status"] == 400 and b"unreadable form" in not_utf8["body"]
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    too_many = await post(attempt, status_params(attempt, "ringing", 1))
    assert too_many["status"] == 400 and b"unreadable form" in too_many["body"]
    assert await CallEvent.objects.acount() == 0


async def test_a_signature_over_the_url_with_its_default_port_is_accepted(attempt, settings):
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    params = status_params(attempt, "ringing", 1)
    path = f"/twilio/status/?call={attempt.pk}"
    validator = RequestValidator(TOKEN)
    with_port = validator.compute_signature(f"https://voice.example.com:443{path}", params)
    forged = validator.compute_signature(f"https://elsewhere.example.com{path}", params)
    responses = []
    for signature in [forged, with_port]:
        communicator = HttpCommunicator(
            application,
            "POST",
            path,
            body=urlencode(params).encode(),
            headers=[
                (b"host", b"testserver"),
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"x-twilio-signature", signature.encode()),
            ],
        )
        responses.append(await communicator.get_response(timeout=10))
    assert [r["status"] for r in responses] == [403, 200]
    assert responses[1]["body"] == b"applied"


def test_the_database_thread_keeps_its_connection_only_while_callbacks_wait(attempt):
    """Under load a batch skips the pool's checkout and health check; idle, the connection goes back to the pool."""
    loop = asyncio.new_event_loop()

    def apply(status: str, sequence: int, *, waiting: bool) -> tuple[list[str | Exception], bool]:
        batch = [status_callbacks.StatusCallback(params=status_params(attempt, status, sequence), call_ref="")]
        results = twilio_status._apply_batch(loop, batch, more_waiting=lambda: waiting)
        return results, connection.connection is not None

    try:
        first = twilio_status._database_thread.submit(apply, "initiated", 0, waiting=True).result(timeout=30)
        second = twilio_status._database_thread.submit(apply, "ringing", 1, waiting=False).result(timeout=30)
    finally:
        loop.close()
    assert first == (["applied"], True)  # kept for the next batch
    assert second == (["applied"], False)  # handed back
    attempt.refresh_from_db()
    assert attempt.status == Call.Status.RINGING


def test_a_batch_the_database_refuses_fails_and_the_kept_connection_is_not_reused(attempt, monkeypatch):
    """The database's own guard refusing a pipelined UPDATE fails the batch (nothing stored); the next batch works."""
    loop = asyncio.new_event_loop()
    assert status_callbacks_apply([status_callbacks.StatusCallback(params=status_params(attempt, "ringing", 1))])

    def backwards(*, call, status, reason="", effects=None):
        call.status = Call.Status.QUEUED  # past the Python rule: only the database's trigger can refuse it now
        return ["status"]

    def apply(status: str, sequence: int) -> list[str | Exception]:
        batch = [status_callbacks.StatusCallback(params=status_params(attempt, status, sequence), call_ref="")]
        return twilio_status._apply_batch(loop, batch, more_waiting=lambda: True)

    try:
        with monkeypatch.context() as patched:
            patched.setattr(status_callbacks, "call_status_advance", backwards)
            refused = twilio_status._database_thread.submit(apply, "in-progress", 2).result(timeout=30)
        after = twilio_status._database_thread.submit(apply, "in-progress", 2).result(timeout=30)
    finally:
        twilio_status._database_thread.submit(close_old_connections).result(timeout=30)
        loop.close()
    assert len(refused) == 1 and isinstance(refused[0], Exception)
    assert after == ["applied"]
    attempt.refresh_from_db()
    assert attempt.status == Call.Status.IN_PROGRESS
    assert CallEvent.objects.filter(call=attempt).count() == 2  # ringing and in-progress, once each


async def test_a_batch_that_follows_another_waits_for_company(attempt, held_batches, monkeypatch):
    """Under load the next batch lingers (LINGER_S) so that callbacks share its fixed cost."""
    sizes, release = held_batches
    monkeypatch.setattr(twilio_status, "LINGER_S", 1.0)  # wide enough that a late arrival cannot miss it
    other = await sync_to_async(second_attempt)(attempt)
    first = asyncio.create_task(post(attempt, status_params(attempt, "initiated", 0)))
    await until(lambda: bool(sizes))  # held on the database thread
    queued_meanwhile = asyncio.create_task(post(attempt, status_params(attempt, "ringing", 1)))
    await queued(1)
    release.set()
    await first
    # The follower is lingering now: a callback arriving during the wait joins it.
    late = asyncio.create_task(post(other, status_params(other, "ringing", 1)))
    answers = [await queued_meanwhile, await late]
    assert [a["body"] for a in answers] == [b"applied", b"applied"]
    assert sizes == [1, 2]


async def test_a_callback_that_finds_the_database_thread_idle_starts_at_once(attempt, monkeypatch):
    monkeypatch.setattr(twilio_status, "LINGER_S", 60.0)  # a lingering batch would outlast the 10 s answer timeout
    response = await post(attempt, status_params(attempt, "ringing", 1))
    assert (response["status"], response["body"]) == (200, b"applied")


async def test_a_locked_sqlite_database_is_a_503_on_the_asgi_door_and_the_retry_is_stored(attempt):
    """The embedded default's file lock held by another writer: nothing stored, 503, and Twilio's retry applies."""
    import sqlite3

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's file lock (the embedded default)")
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("timeout")
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        options["timeout"] = 0.2  # the database thread's next connection does not wait 20 s for the lock
        await sync_to_async(twilio_status._database_thread.submit(close_old_connections).result)(timeout=30)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the database
        refused = await post(attempt, status_params(attempt, "ringing", 1))
    finally:
        other.execute("ROLLBACK")
        other.close()
        options["timeout"] = saved
        await sync_to_async(twilio_status._database_thread.submit(close_old_connections).result)(timeout=30)
    assert (refused["status"], refused["body"]) == (503, b"callback not stored, retry later")
    retried = await post(attempt, status_params(attempt, "ringing", 1))
    assert (retried["status"], retried["body"]) == (200, b"applied")  # not taken for a duplicate
    assert await CallEvent.objects.filter(call=attempt).acount() == 1
