"""Deliveries end to end: a real local HTTP receiver, the README's own verification snippet, backoff, replay, SSRF."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from calls.models import Call
from calls.services import call_set_status
from campaigns.services import lead_custom_field_set
from tests.conftest import MONDAY_MORNING
from tests.factories import CallFactory, LeadFactory
from tests.webhooks.conftest import HOOK_HOST
from tests.webhooks.readme_snippet import readme_verifier
from webhooks import dispatch
from webhooks.models import Delivery, Endpoint
from webhooks.services import (
    MAX_ATTEMPTS,
    delivery_replay,
    endpoint_create,
    endpoint_secret_rotate,
    webhook_event_emit,
)
from webhooks.tasks import deliver

pytestmark = pytest.mark.django_db

verify = readme_verifier()


@pytest.fixture(autouse=True)
def _private_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver listens on 127.0.0.1


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the block schedules on commit (the test's own transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def run_scheduled(scheduled: list[tuple[int, float]]) -> list[float]:
    """Run every queued attempt, travelling the clock forward by its countdown; returns the countdowns."""
    countdowns = []
    clock = timezone.now()
    while scheduled:
        delivery_id, countdown = scheduled.pop(0)
        countdowns.append(countdown)
        clock += timedelta(seconds=countdown)
        with time_machine.travel(clock, tick=False):
            deliver(delivery_id)
    return countdowns


def test_a_call_start_reaches_a_real_receiver_signed_as_the_readme_verifies(
    receiver, dns, scheduled, django_capture_on_commit_callbacks
):
    endpoint = endpoint_create(url=receiver.url(), events=["call.started", "call.ended"])
    call = CallFactory(status=Call.Status.QUEUED)
    with django_capture_on_commit_callbacks(execute=True):
        call_set_status(call_id=call.pk, status=Call.Status.RINGING)
    assert [countdown for _, countdown in scheduled] == [0]

    run_scheduled(scheduled)

    [request] = receiver.requests
    body = json.loads(request.body)
    assert (body["type"], body["data"]["id"], body["data"]["status"]) == ("call.started", str(call.pk), "ringing")
    assert request.headers["x-voiceops-event"] == "call.started"
    assert request.headers["content-type"] == "application/json"
    # DNS was asked once, at delivery, and the connection went to its answer with the name in Host.
    assert request.headers["host"] == f"{HOOK_HOST}:{receiver.port}"
    header = request.headers["x-voiceops-signature"]
    assert header.startswith("t=") and ",v1=" in header
    assert verify(endpoint.secret, header, request.body)
    assert not verify(endpoint.secret, header, request.body + b" ")  # the raw body is what is signed
    assert not verify("whsec_someone-else", header, request.body)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)


def test_the_snippet_refuses_a_delivery_older_than_five_minutes(receiver, dns, scheduled, committed):
    endpoint = endpoint_create(url=receiver.url(), events=["lead.updated"])
    with time_machine.travel(MONDAY_MORNING, tick=False):
        with committed():
            webhook_event_emit(event="lead.updated", data={"id": 1})
        run_scheduled(scheduled)
    request = receiver.requests[0]
    header = request.headers["x-voiceops-signature"]
    sent_at = MONDAY_MORNING.timestamp()
    assert verify(endpoint.secret, header, request.body, now=sent_at + 300)
    assert not verify(endpoint.secret, header, request.body, now=sent_at + 301)
    assert not verify(endpoint.secret, header, request.body, now=sent_at - 301)


def test_a_failing_receiver_is_retried_with_backoff_then_replayed(receiver, dns, scheduled, api_client, committed):
    receiver.statuses = [500]
    endpoint = endpoint_create(url=receiver.url(), events=["lead.updated"])
    lead = LeadFactory()
    with time_machine.travel(MONDAY_MORNING, tick=False):
        with committed():
            lead_custom_field_set(lead_id=lead.pk, field="plan", value="gold")
        countdowns = run_scheduled(scheduled)

    # 30 s after the first failure, doubling; eight attempts in all, then failed.
    assert countdowns == [0, 30, 60, 120, 240, 480, 960, 1920]
    assert len(receiver.requests) == MAX_ATTEMPTS == 8
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 8, 500)
    log = list(delivery.attempt_log.values_list("status_code", "retry_in_s"))
    assert log == [(500, 30), (500, 60), (500, 120), (500, 240), (500, 480), (500, 960), (500, 1920), (500, None)]
    # Each attempt was signed afresh, at its own (frozen-clock) time, over the same body.
    times = [int(r.headers["x-voiceops-signature"].split(",")[0][2:]) for r in receiver.requests]
    assert [b - a for a, b in itertools.pairwise(times)] == [30, 60, 120, 240, 480, 960, 1920]
    assert {r.body for r in receiver.requests} == {delivery.body.encode()}
    assert json.loads(delivery.body)["data"]["custom_fields"] == {**lead.custom_fields, "plan": "gold"}

    receiver.statuses = [204]
    with committed():
        answer = api_client.post(f"/api/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/replay/")
    assert answer.status_code == 202, answer.content
    run_scheduled(scheduled)
    replay = Delivery.objects.get(pk=answer.json()["id"])
    assert (replay.status, replay.attempts, replay.last_status_code, replay.replay_of_id) == (
        "succeeded",
        1,
        204,
        delivery.pk,
    )
    last = receiver.requests[-1]
    assert last.body == delivery.body.encode() and replay.event_id == delivery.event_id
    assert verify(endpoint.secret, last.headers["x-voiceops-signature"], last.body)


def test_a_name_that_rebinds_to_the_metadata_service_is_refused_at_delivery(
    receiver, dns, scheduled, settings, committed
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    dns[HOOK_HOST] = ["93.184.216.34"]  # public when the endpoint is saved
    endpoint_create(url=receiver.url(), events=["call.ended"])
    dns[HOOK_HOST] = ["169.254.169.254"]  # and the metadata service by the time of the delivery
    with committed():
        webhook_event_emit(event="call.ended", data={"id": "x"})
    assert run_scheduled(scheduled) == [0]  # no retry for a refused address

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, None)
    assert "169.254.169.254" in delivery.last_error and "link-local" in delivery.last_error
    assert receiver.requests == []


def test_loopback_is_refused_at_delivery_once_private_addresses_are_switched_off(
    receiver, scheduled, settings, committed
):
    # The real resolver: localhost is loopback wherever this runs.
    endpoint_create(url=receiver.url(host="localhost"), events=["call.ended"])
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with committed():
        webhook_event_emit(event="call.ended", data={})
    run_scheduled(scheduled)
    assert Delivery.objects.get().status == "failed" and receiver.requests == []


def test_during_a_rotations_grace_both_secrets_verify_and_after_it_only_the_new_one(
    receiver, dns, scheduled, committed
):
    endpoint = endpoint_create(url=receiver.url(), events=["lead.updated"])
    old = endpoint.secret
    with time_machine.travel(MONDAY_MORNING, tick=False):
        rotated = endpoint_secret_rotate(endpoint_id=endpoint.pk)
        with committed():
            webhook_event_emit(event="lead.updated", data={"id": 1})
        run_scheduled(scheduled)
    assert rotated.secret != old
    first = receiver.requests[-1]
    header = first.headers["x-voiceops-signature"]
    assert header.count("v1=") == 2
    now = MONDAY_MORNING.timestamp()
    assert verify(rotated.secret, header, first.body, now=now) and verify(old, header, first.body, now=now)

    later = MONDAY_MORNING + timedelta(hours=24, seconds=1)
    with time_machine.travel(later, tick=False):
        with committed():
            webhook_event_emit(event="lead.updated", data={"id": 1})
        run_scheduled(scheduled)
    second = receiver.requests[-1]
    header = second.headers["x-voiceops-signature"]
    assert header.count("v1=") == 1
    assert verify(rotated.secret, header, second.body, now=later.timestamp())
    assert not verify(old, header, second.body, now=later.timestamp())


def test_events_go_only_to_active_endpoints_that_want_them(receiver, dns, scheduled):
    wants = endpoint_create(url=receiver.url(), events=["call.ended"])
    endpoint_create(url=receiver.url(path="/other"), events=["lead.updated"])
    off = endpoint_create(url=receiver.url(path="/off"), events=["call.ended"])
    Endpoint.objects.filter(pk=off.pk).update(is_active=False)
    from webhooks.services import subscriptions_forget

    subscriptions_forget()
    ids = webhook_event_emit(event="call.ended", data={})
    assert list(Delivery.objects.filter(pk__in=ids).values_list("endpoint_id", flat=True)) == [wants.pk]
    assert webhook_event_emit(event="campaign.finished", data={}) == []
    with pytest.raises(ValueError):
        webhook_event_emit(event="call.exploded", data={})


def test_a_disabled_endpoint_fails_its_pending_deliveries_without_a_request(receiver, dns, scheduled, committed):
    endpoint = endpoint_create(url=receiver.url(), events=["call.ended"])
    with committed():
        webhook_event_emit(event="call.ended", data={})
    Endpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    run_scheduled(scheduled)
    assert Delivery.objects.get().status == "failed" and receiver.requests == []


def test_a_duplicate_task_after_success_sends_nothing_more(receiver, dns, scheduled, committed):
    endpoint_create(url=receiver.url(), events=["call.ended"])
    with committed():
        [delivery_id] = webhook_event_emit(event="call.ended", data={})
    run_scheduled(scheduled)
    deliver(delivery_id)
    assert len(receiver.requests) == 1 and scheduled == []


def test_with_a_broker_attempts_go_to_celery_with_their_countdown(settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent: list[tuple[list[int], float]] = []
    monkeypatch.setattr(deliver, "apply_async", lambda args, countdown: sent.append((args, countdown)))
    dispatch.delivery_schedule(delivery_id=7, countdown=60)
    assert sent == [([7], 60)]


def test_the_embedded_default_runs_attempts_on_a_thread_not_in_the_caller(receiver, dns, transactional_db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    endpoint = endpoint_create(url=receiver.url(), events=["call.ended"])
    caller = __import__("threading").current_thread()
    [delivery_id] = webhook_event_emit(event="call.ended", data={})
    # The emit returned before any request: the attempt is on a timer thread, which this test joins.
    timers = [t for t in __import__("threading").enumerate() if t.name == f"webhook-delivery-{delivery_id}"]
    assert timers and all(t is not caller for t in timers)
    for timer in timers:
        timer.join(timeout=30)
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.status == "succeeded"
    assert verify(endpoint.secret, receiver.requests[0].headers["x-voiceops-signature"], receiver.requests[0].body)


def test_replaying_keeps_the_original_untouched(receiver, dns, scheduled, committed):
    endpoint_create(url=receiver.url(), events=["call.ended"])
    with committed():
        [delivery_id] = webhook_event_emit(event="call.ended", data={"id": "c"})
    run_scheduled(scheduled)
    with committed():
        replay = delivery_replay(delivery_id=delivery_id)
    run_scheduled(scheduled)
    original = Delivery.objects.get(pk=delivery_id)
    assert (original.attempts, original.status) == (1, "succeeded")
    assert replay.replay_of_id == delivery_id and len(receiver.requests) == 2
