"""A call's recording over HTTP, with byte ranges so the console's audio player can seek.

Only users who may listen to calls hear them (calls.recordings.RECORDING_LISTEN:
operators and admins); anonymous users are sent to the login page. The body
is read from the recordings storage (`open()`, `seek()`, then chunks) and
streamed by an asynchronous iterator: under ASGI Django would otherwise read
a synchronous iterator whole into memory before sending a byte.

Ranges follow RFC 9110: one `bytes=` range (`a-b`, `a-`, `-n`) answers 206
with Content-Range; a malformed or unsatisfiable byte range answers 416 with
`Content-Range: bytes */size`; another unit, several ranges or an If-Range
(no validator here to compare it with) get the whole file with 200.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import IO

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from calls.models import Call
from calls.recordings import RECORDING_LISTEN, recording_open

CHUNK = 64 * 1024
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class UnsatisfiableRange(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte range (first, last) a Range header asks of `size` bytes; None to send it all.

    Raises UnsatisfiableRange for a bytes range that is malformed or lies wholly past the end.
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None  # not a byte range: ignored, as RFC 9110 allows
    if "," in spec:
        return None  # several ranges: the whole file (browsers ask for one)
    match = _RANGE.match(spec)
    if match is None or match.group(1) == match.group(2) == "":
        raise UnsatisfiableRange(header)
    first_text, last_text = match.groups()
    if first_text == "":  # the last n bytes
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise UnsatisfiableRange(header)
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = size - 1 if last_text == "" else min(int(last_text), size - 1)
    if first >= size or (last_text != "" and int(last_text) < first):
        raise UnsatisfiableRange(header)
    return first, last


async def _chunks(handle: IO[bytes], first: int, length: int) -> AsyncIterator[bytes]:
    """`length` bytes from `first`, read off the event loop (storage reads block); the file closes at the end."""
    read = sync_to_async(handle.read, thread_sensitive=False)
    try:
        if first:
            await sync_to_async(handle.seek, thread_sensitive=False)(first)
        remaining = length
        while remaining > 0:
            chunk = await read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        await sync_to_async(handle.close, thread_sensitive=False)()


# Django's own pair (not voiceops.roles.role_required, typed for HttpResponse
# alone): log in first, then 403 without the permission; GET and HEAD only.
@login_required
@permission_required(RECORDING_LISTEN, raise_exception=True)
@require_safe
def call_recording(request: HttpRequest, call_id: uuid.UUID) -> HttpResponseBase:
    call = get_object_or_404(Call.objects.only("pk", "recording"), pk=call_id)
    return recording_response(request, call)


def recording_response(request: HttpRequest, call: Call) -> HttpResponseBase:
    """The call's recording, whole or the byte range asked; 404 without one. Callers check who may hear it."""
    try:
        handle, size = recording_open(call.recording)
    except FileNotFoundError:
        raise Http404("This call has no recording.") from None
    header = request.headers.get("Range", "")
    try:
        wanted = parse_range(header, size) if header and "If-Range" not in request.headers else None
    except UnsatisfiableRange:
        handle.close()
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        refused["Accept-Ranges"] = "bytes"
        return refused
    first, last = wanted if wanted is not None else (0, size - 1)
    length = last - first + 1 if size else 0
    if request.method == "HEAD":
        handle.close()
        response: HttpResponse | StreamingHttpResponse = HttpResponse(status=206 if wanted else 200)
    else:
        response = StreamingHttpResponse(_chunks(handle, first, length), status=206 if wanted else 200)
    response["Content-Type"] = "audio/wav"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"  # personal data: never kept by a shared cache
    if wanted is not None:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Disposition"] = f'inline; filename="call-{call.pk}.wav"'
    return response
