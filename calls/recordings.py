"""Call recordings in the recordings storage (`STORAGES["recordings"]`): store, fetch, open, delete.

The live engine writes a call's WAV on the local disk of the server that
carries it (a call resumed on a new media stream appends to the same file),
then stores it here under the call's name. Every server reads recordings
through this storage, so with S3 any web server plays any call.

Names are `recordings/<call id>.wav`, relative to the storage's root
(MEDIA_ROOT on the local default), as calls recorded before the storage
existed were named; `Call.recording` holds the name the storage answered.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import Storage, storages

from voiceops.roles import SOCKET_ACT

# Who may hear a recording: whoever may listen in on a live call. Viewers may
# not: a recording holds what the caller said in the clear (card numbers,
# e-mail addresses) where the stored transcript can be redacted.
RECORDING_LISTEN = SOCKET_ACT


def recording_storage() -> Storage:
    return storages["recordings"]


def recording_name(call_id: uuid.UUID | str) -> str:
    return f"recordings/{call_id}.wav"


def recording_store(*, call_id: uuid.UUID | str, local_path: Path) -> str:
    """Save a finished (or so far) recording under the call's name, replacing an earlier one; the stored name."""
    name = recording_name(call_id)
    with local_path.open("rb") as handle:
        return recording_storage().save(name, File(handle, name=local_path.name))


def recording_fetch(*, call_id: uuid.UUID | str, local_path: Path) -> bool:
    """Copy the call's stored recording to `local_path` (False if it has none).

    A call's next media stream may land on another server; it appends to the
    part stored when the previous stream ended. The copy's modification time
    is the stored object's, which is when that part ended (the recorder
    places the new part after it).
    """
    storage, name = recording_storage(), recording_name(call_id)
    if not storage.exists(name):
        return False
    local_path.parent.mkdir(parents=True, exist_ok=True)
    with storage.open(name, "rb") as source, local_path.open("wb") as target:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            target.write(chunk)
    modified = storage.get_modified_time(name).timestamp()
    os.utime(local_path, (modified, modified))
    return True


def recording_open(name: str) -> tuple[IO[bytes], int]:
    """The stored recording open for reading, and its size in bytes; FileNotFoundError when it is gone."""
    storage = recording_storage()
    if not name or not storage.exists(name):
        raise FileNotFoundError(name)
    size = storage.size(name)
    handle = storage.open(name, "rb")
    if callable(getattr(getattr(handle, "obj", None), "get", None)):
        return _RangedObjectReader(handle), size  # type: ignore[return-value]  # file-like enough for the view
    return handle, size


class _RangedObjectReader:
    """Reads an S3 object (django-storages' S3File) from where it was seeked to, with one ranged GET.

    S3File itself downloads the whole object into memory on its first read
    (AWS_S3_MAX_MEMORY_SIZE is unlimited by default); a player's range request
    for the last second of a long call would fetch all of it, per request.
    """

    def __init__(self, s3_file: Any) -> None:
        self._file, self._position = s3_file, 0
        self._body: Any = None  # botocore's StreamingBody of the current GET

    def seek(self, position: int) -> int:
        self._close_body()
        self._position = position
        return position

    def read(self, size: int = -1) -> bytes:
        if self._body is None:
            self._body = self._file.obj.get(Range=f"bytes={self._position}-")["Body"]
        data: bytes = self._body.read(size if size >= 0 else None)
        self._position += len(data)
        return data

    def close(self) -> None:
        self._close_body()
        self._file.close()

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


def recording_delete(*, name: str) -> bool:
    """Remove a stored recording (retention); False when there was none."""
    storage = recording_storage()
    if not name or not storage.exists(name):
        return False
    storage.delete(name)
    return True
