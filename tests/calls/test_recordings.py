"""Recordings through the recordings storage: stored when a stream ends, served with byte ranges, to operators only.

The storage here is the local default (FileSystemStorage under MEDIA_ROOT),
reached only through Django's storage API, as an S3 store would be.
"""

from __future__ import annotations

import time
import wave

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient
from rest_framework.authtoken.models import Token

from calls.models import Call
from calls.recording_views import UnsatisfiableRange, parse_range
from calls.recordings import recording_delete, recording_name, recording_storage
from live.recording import RATE, StereoRecorder, save_recording
from tests.factories import CallFactory
from voiceops.settings import _recordings_storage


@pytest.fixture
def storage_dirs(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "storage"
    settings.RECORDINGS_WORK_DIR = tmp_path / "work"
    return settings.MEDIA_ROOT, settings.RECORDINGS_WORK_DIR


def a_recorder(seconds: float, level: float) -> StereoRecorder:
    recorder = StereoRecorder()
    start = time.monotonic() - seconds
    recorder.add_caller(np.full(int(seconds * RATE), level, dtype=np.float32), start)
    return recorder


def stored_frames(name: str) -> np.ndarray:
    with recording_storage().open(name, "rb") as handle, wave.open(handle) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).reshape(-1, 2)


def test_a_finished_call_is_stored_in_the_storage_and_leaves_no_local_copy(storage_dirs):
    media_root, work = storage_dirs
    name = save_recording(a_recorder(1.0, 0.25), "call-1", call_over=True)
    assert name == recording_name("call-1") == "recordings/call-1.wav"
    assert (media_root / name).is_file()
    assert len(stored_frames(name)) == RATE
    assert not (work / "call-1.wav").exists()


def test_a_stream_that_moves_to_another_server_appends_to_the_stored_part(storage_dirs):
    _, work = storage_dirs
    first = save_recording(a_recorder(0.5, 0.25), "call-2", call_over=False)
    assert (work / "call-2.wav").exists()  # the call goes on: this server keeps its copy
    (work / "call-2.wav").unlink()  # ... but the next stream lands on a server that never saw the call
    second = save_recording(a_recorder(0.5, -0.25), "call-2", resumed=True, call_over=True)
    assert second == first
    caller = stored_frames(second)[:, 0]
    assert len(caller) >= RATE  # both parts, the second after the first
    assert np.all(caller[: RATE // 2] > 0) and np.all(caller[-RATE // 2 :] < 0)
    assert not (work / "call-2.wav").exists()


def test_a_failed_store_keeps_the_local_copy_and_stores_no_name(storage_dirs, settings):
    media_root, work = storage_dirs
    media_root.parent.mkdir(parents=True, exist_ok=True)
    media_root.write_bytes(b"a file where the storage's folder should be")
    assert save_recording(a_recorder(0.2, 0.1), "call-3", call_over=True) == ""
    assert (work / "call-3.wav").exists()


def test_recording_delete_removes_the_stored_file(storage_dirs):
    name = save_recording(a_recorder(0.2, 0.1), "call-4")
    assert recording_delete(name=name) is True
    assert not recording_storage().exists(name)
    assert recording_delete(name=name) is False


# ---- settings -------------------------------------------------------------------


def test_the_default_storage_is_the_local_disk_and_overwrites():
    config = _recordings_storage({})
    assert config == {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"allow_overwrite": True}}


def test_s3_storage_is_configured_from_the_environment():
    config = _recordings_storage(
        {
            "RECORDINGS_STORAGE": "s3",
            "RECORDINGS_S3_BUCKET": "calls",
            "RECORDINGS_S3_ENDPOINT_URL": "http://minio:9000/",
            "RECORDINGS_S3_PREFIX": "/voiceops/",
            "RECORDINGS_S3_REGION": "eu-west-1",
            "RECORDINGS_S3_ADDRESSING_STYLE": "path",
            "RECORDINGS_S3_ACCESS_KEY_ID": "key",
            "RECORDINGS_S3_SECRET_ACCESS_KEY": "secret",
        }
    )
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    assert config["OPTIONS"] == {
        "bucket_name": "calls",
        "location": "voiceops",
        "file_overwrite": True,
        "default_acl": None,
        "querystring_auth": True,
        "addressing_style": "path",
        "endpoint_url": "http://minio:9000",
        "region_name": "eu-west-1",
        "access_key": "key",
        "secret_key": "secret",
    }


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"RECORDINGS_STORAGE": "ftp"}, "RECORDINGS_STORAGE"),
        ({"RECORDINGS_STORAGE": "s3"}, "RECORDINGS_S3_BUCKET"),
        ({"RECORDINGS_STORAGE": "s3", "RECORDINGS_S3_BUCKET": "b", "RECORDINGS_S3_ACCESS_KEY_ID": "k"}, "SECRET"),
        ({"RECORDINGS_STORAGE": "s3", "RECORDINGS_S3_BUCKET": "b", "RECORDINGS_S3_ENDPOINT_URL": "minio"}, "ENDPOINT"),
    ],
)
def test_a_bad_storage_setting_stops_start_up_naming_the_variable(environ, named):
    with pytest.raises(ImproperlyConfigured, match=named):
        _recordings_storage(environ)


# ---- byte ranges ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("items=0-10", None),
        ("bytes=0-1,5-6", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-2", "bytes=abc", "bytes=-", "bytes=-0", "bytes="])
def test_parse_range_refuses_what_cannot_be_satisfied(header):
    with pytest.raises(UnsatisfiableRange):
        parse_range(header, 1000)


# ---- served over HTTP (the ASGI handler, as daphne runs it) ----------------------


@pytest.fixture
def recorded_call(db, storage_dirs):
    call = CallFactory(status=Call.Status.COMPLETED)
    call.recording = save_recording(a_recorder(2.0, 0.3), call.pk)
    call.save(update_fields=["recording"])
    return call, (storage_dirs[0] / call.recording).read_bytes()


def url(call) -> str:
    return f"/calls/{call.pk}/recording/"


async def body(response) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


@pytest.mark.django_db(transaction=True, reset_sequences=True)
async def test_an_operator_seeks_with_a_range_request(recorded_call, operator_role, thread_connections):
    call, data = recorded_call
    client = AsyncClient()
    await client.aforce_login(operator_role)

    whole = await client.get(url(call))
    assert whole.status_code == 200
    assert whole["Content-Type"] == "audio/wav" and whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Length"] == str(len(data)) and await body(whole) == data

    part = await client.get(url(call), headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    assert part["Content-Length"] == "1000"
    assert await body(part) == data[1000:2000]

    tail = await client.get(url(call), headers={"Range": "bytes=-44"})
    assert tail.status_code == 206 and await body(tail) == data[-44:]

    past = await client.get(url(call), headers={"Range": f"bytes={len(data)}-"})
    assert past.status_code == 416
    assert past["Content-Range"] == f"bytes */{len(data)}"

    head = await client.head(url(call), headers={"Range": "bytes=0-9"})
    assert head.status_code == 206 and head["Content-Length"] == "10"


@pytest.mark.django_db(transaction=True, reset_sequences=True)
async def test_an_anonymous_user_is_sent_to_log_in_and_gets_no_audio(recorded_call, thread_connections):
    call, _ = recorded_call
    response = await AsyncClient().get(url(call), headers={"Range": "bytes=0-99"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not response.streaming and b"RIFF" not in response.content


def test_a_viewer_may_not_listen(recorded_call, viewer_client):
    call, _ = recorded_call
    assert viewer_client.get(url(call)).status_code == 403


def test_a_call_without_a_recording_or_with_a_lost_file_is_404(db, storage_dirs, operator_client):
    unrecorded = CallFactory()
    assert operator_client.get(url(unrecorded)).status_code == 404
    lost = CallFactory(recording="recordings/gone.wav")
    assert operator_client.get(url(lost)).status_code == 404
    assert operator_client.get("/calls/not-a-uuid/recording/").status_code == 404


def test_writes_are_refused(recorded_call, operator_client):
    call, _ = recorded_call
    assert operator_client.post(url(call)).status_code == 405


# ---- the player on the call page ---------------------------------------------------


def test_the_call_page_has_a_player_for_operators_and_a_note_for_viewers(recorded_call, client, operator_role, viewer):
    call, _ = recorded_call
    client.force_login(operator_role)
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert f'<audio class="recording-player" controls preload="metadata" src="{url(call)}"' in page
    client.force_login(viewer)
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert "<audio" not in page and "listening to recordings is for operators and admins" in page


def test_an_unrecorded_call_says_so(db, storage_dirs, operator_client):
    call = CallFactory(status=Call.Status.COMPLETED)
    page = operator_client.get(f"/calls/{call.pk}/").content.decode()
    assert "This call was not recorded." in page and "<audio" not in page


# ---- the same through the REST API, with a token ------------------------------------------


@pytest.mark.django_db(transaction=True, reset_sequences=True)
async def test_an_operators_token_fetches_a_range_through_the_api(
    recorded_call, operator_role, viewer, thread_connections
):
    call, data = recorded_call
    operator_token = await sync_to_async(Token.objects.create)(user=operator_role)
    viewer_token = await sync_to_async(Token.objects.create)(user=viewer)
    path = f"/api/calls/{call.pk}/recording/"

    client, auth = AsyncClient(), f"Token {operator_token.key}"
    part = await client.get(path, headers={"Authorization": auth, "Range": "bytes=44-143", "Accept": "audio/wav"})
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 44-143/{len(data)}"
    assert await body(part) == data[44:144]
    assert (await client.get(path, headers={"Authorization": auth, "Range": "bytes=9999999-"})).status_code == 416

    detail = await client.get(f"/api/calls/{call.pk}/", headers={"Authorization": auth})
    assert detail.json()["recording_url"] == f"http://testserver{path}"

    refused = await client.get(path, headers={"Authorization": f"Token {viewer_token.key}"})
    assert refused.status_code == 403
    assert (await AsyncClient().get(path)).status_code == 401
