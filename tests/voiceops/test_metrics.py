"""/metrics: its token, and that real paths (status webhook, dialer task, Celery, model pools) move the numbers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.testing import HttpCommunicator
from prometheus_client import REGISTRY

from calls.models import Call
from tests.campaigns.dialer_support import campaign_attempt, no_carrier, status_params
from tests.telephony.test_status_asgi import TOKEN, post
from voiceops import metrics
from voiceops.asgi import application

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)
__all__ = ["no_carrier"]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def scrape(authorization: bytes | None) -> dict:
    headers = [(b"authorization", authorization)] if authorization is not None else []
    return await HttpCommunicator(application, "GET", "/metrics", headers=headers).get_response(timeout=10)


async def test_metrics_is_off_without_a_token_and_wants_the_bearer_token(settings):
    settings.METRICS_TOKEN = ""
    assert (await scrape(b"Bearer anything"))["status"] == 404

    settings.METRICS_TOKEN = "scrape-secret"
    assert (await scrape(None))["status"] == 401
    wrong = await scrape(b"Bearer scrape-secreT")
    assert wrong["status"] == 401 and (b"www-authenticate", b'Bearer realm="metrics"') in wrong["headers"]
    assert (await scrape(b"Token scrape-secret"))["status"] == 401

    ok = await scrape(b"Bearer scrape-secret")
    assert ok["status"] == 200
    assert not any(name == b"set-cookie" for name, _ in ok["headers"])
    text = ok["body"].decode()
    for name in (
        "voiceops_live_calls",
        "voiceops_turn_stage_seconds",
        "voiceops_model_queue_depth",
        "voiceops_status_webhook_seconds",
        "voiceops_dialer_dials_total",
        "voiceops_celery_task_seconds",
    ):
        assert name in text


@pytest.mark.usefixtures("no_carrier")
async def test_a_status_callback_moves_the_webhook_latency_and_batch_numbers(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    attempt = await campaign_attempt_async()
    answered = sample("voiceops_status_webhook_seconds_count")
    batches = sample("voiceops_status_webhook_batch_size_count")
    response = await post(attempt, status_params(attempt, "ringing", 1))
    assert response["status"] == 200
    assert sample("voiceops_status_webhook_seconds_count") == answered + 1
    assert sample("voiceops_status_webhook_batch_size_count") == batches + 1


async def campaign_attempt_async() -> Call:
    from asgiref.sync import sync_to_async

    return await sync_to_async(campaign_attempt)("CA" + "7" * 32)


def test_live_calls_are_counted_from_the_database():
    before = sample("voiceops_live_calls")
    call = campaign_attempt("CA" + "8" * 32)
    Call.objects.filter(pk=call.pk).update(status=Call.Status.IN_PROGRESS)
    assert sample("voiceops_live_calls") == before + 1


def test_a_dial_task_counts_its_result_and_celery_times_it(no_carrier):
    from campaigns.tasks import place_call

    call = campaign_attempt("CA" + "9" * 32)
    Call.objects.filter(pk=call.pk).update(twilio_call_sid="CA" + "9" * 32)  # already dialed: a redelivery
    dials = sample("voiceops_dialer_dials_total", result="already-started")
    timed = sample("voiceops_celery_task_seconds_count", task="calls.place_call", state="SUCCESS")
    place_call.delay(str(call.pk))  # eager in tests: the same signals as a worker
    assert sample("voiceops_dialer_dials_total", result="already-started") == dials + 1
    assert sample("voiceops_celery_task_seconds_count", task="calls.place_call", state="SUCCESS") == timed + 1


def test_model_pool_queue_depth_and_wait_are_measured():
    pool = ThreadPoolExecutor(max_workers=1)
    metrics.instrument_executor(pool, "test-pool")
    metrics.instrument_executor(pool, "test-pool")  # idempotent
    release = threading.Event()
    running = threading.Event()

    def busy() -> str:
        running.set()
        release.wait(10)
        return "busy"

    first = pool.submit(busy)
    running.wait(10)
    queued = [pool.submit(lambda n=n: n) for n in range(2)]
    assert sample("voiceops_model_queue_depth", pool="test-pool") == 2
    release.set()
    assert [f.result(10) for f in queued] == [0, 1] and first.result(10) == "busy"
    assert sample("voiceops_model_queue_depth", pool="test-pool") == 0
    assert sample("voiceops_model_queue_seconds_count", pool="test-pool") == 3
    pool.shutdown()


def test_turns_record_stage_latencies_and_barge_ins():
    stt = sample("voiceops_turn_stage_seconds_count", stage="stt_done")
    slow = sample("voiceops_turn_stage_seconds_bucket", stage="first_frame_sent", le="0.8")
    barge_ins = sample("voiceops_barge_ins_total")
    metrics.turn_recorded(speaker="caller", interrupted=False, timings={})
    metrics.turn_recorded(
        speaker="agent", interrupted=True, timings={"stt_done": 420, "first_frame_sent": 900, "bogus": 1}
    )
    assert sample("voiceops_turn_stage_seconds_count", stage="stt_done") == stt + 1
    assert sample("voiceops_turn_stage_seconds_bucket", stage="first_frame_sent", le="0.8") == slow
    assert sample("voiceops_barge_ins_total") == barge_ins + 1


def test_the_sample_grafana_dashboard_names_only_metrics_we_export():
    import json
    import re
    from pathlib import Path

    from prometheus_client import generate_latest

    dashboard = json.loads((Path(__file__).parents[2] / "deploy/grafana/voiceops.json").read_text())
    used = set(re.findall(r"voiceops_\w+", json.dumps(dashboard)))
    exported = generate_latest(REGISTRY).decode()
    declared = set(re.findall(r"^# TYPE (\w+) ", exported, re.MULTILINE))
    histogram_parts = {re.sub(r"_(bucket|count|sum)$", "", name) for name in used} & declared
    missing = {n for n in used if n not in declared and re.sub(r"_(bucket|count|sum)$", "", n) not in histogram_parts}
    assert used and not missing
