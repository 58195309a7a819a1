"""The same recordings on an S3-compatible store: django-storages' S3Storage against moto's S3 (in process).

moto answers boto3's real requests with S3's semantics (objects, HEAD,
overwrites, ranged reads), so this runs the storage code path a deployment
with RECORDINGS_STORAGE=s3 runs; no bucket on the network is needed.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from calls.models import Call
from calls.recordings import recording_delete, recording_open, recording_storage
from live.recording import save_recording
from tests.calls.test_recordings import a_recorder
from tests.factories import CallFactory
from voiceops.settings import _recordings_storage

moto = pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")
pytest.importorskip("storages")

BUCKET = "voiceops-recordings"


@pytest.fixture
def s3(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        config = _recordings_storage(
            {
                "RECORDINGS_STORAGE": "s3",
                "RECORDINGS_S3_BUCKET": BUCKET,
                "RECORDINGS_S3_PREFIX": "prod",
                "RECORDINGS_S3_REGION": "us-east-1",
                "RECORDINGS_S3_ACCESS_KEY_ID": "testing",
                "RECORDINGS_S3_SECRET_ACCESS_KEY": "testing",
            }
        )
        settings.STORAGES = {**settings.STORAGES, "recordings": config}
        settings.RECORDINGS_WORK_DIR = tmp_path / "work"
        yield client


def stored(client, name: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=f"prod/{name}")["Body"].read()


def test_a_recording_is_stored_in_the_bucket_and_a_resumed_stream_elsewhere_appends_to_it(s3, tmp_path):
    name = save_recording(a_recorder(0.5, 0.25), "call-s3", call_over=False)
    assert name == "recordings/call-s3.wav"
    first = stored(s3, name)
    (tmp_path / "work" / "call-s3.wav").unlink()  # the next stream is on another server
    assert save_recording(a_recorder(0.5, -0.25), "call-s3", resumed=True, call_over=True) == name
    second = stored(s3, name)
    assert len(second) > len(first) and second[44 : len(first)] == first[44:]  # same audio first, header aside
    assert recording_delete(name=name) and not recording_storage().exists(name)


@pytest.mark.django_db(transaction=True, reset_sequences=True)
async def test_a_recording_in_the_bucket_is_served_with_a_range(s3, operator_role, thread_connections):
    call = await sync_to_async(CallFactory)(status=Call.Status.COMPLETED)
    call.recording = await sync_to_async(save_recording)(a_recorder(1.0, 0.3), call.pk)
    await sync_to_async(call.save)(update_fields=["recording"])
    data = stored(s3, call.recording)
    client = AsyncClient()
    await client.aforce_login(operator_role)
    response = await client.get(f"/calls/{call.pk}/recording/", headers={"Range": "bytes=4000-"})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 4000-{len(data) - 1}/{len(data)}"
    assert b"".join([chunk async for chunk in response.streaming_content]) == data[4000:]


def test_a_range_is_read_with_a_ranged_get_not_the_whole_object(s3):
    name = save_recording(a_recorder(2.0, 0.3), "call-ranged")
    data = stored(s3, name)
    handle, size = recording_open(name)
    gets: list[str] = []
    s3_object = handle._file.obj  # the boto3 Object django-storages' S3File wraps
    real_get = s3_object.get
    s3_object.get = lambda **kwargs: gets.append(kwargs.get("Range", "whole")) or real_get(**kwargs)
    try:
        handle.seek(size - 100)
        assert handle.read(60) + handle.read(60) == data[-100:]
    finally:
        handle.close()
    assert size == len(data) and gets == [f"bytes={size - 100}-"]
