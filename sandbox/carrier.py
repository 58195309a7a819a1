"""The built-in simulated carrier: Twilio's Calls REST API and its callbacks, on this machine.

With no Twilio account (SIMULATED_CARRIER, the embedded default) the dialer's
`telephony.rest` client talks to these views, mounted at /carrier/, through
TWILIO_API_BASE_URL. For each call the carrier does what Twilio would: it
answers the REST request with a call resource, then sends signed status
callbacks (initiated, ringing, in-progress, completed with CallDuration and
SequenceNumber), the asynchronous AMD result, and, for an answered call, plays
the callee: a simulator persona chosen per lead (lead.custom_fields["persona"])
over the real answer webhook and Media Streams socket (sandbox.simulator).

Carrier-level personas need no media: "busy", "no_answer" and "failed".

The scenarios run on one background thread with its own asyncio loop, so the
carrier works the same under daphne, a test client or a management command.

Its memory is bounded: a call leaves the live registry once its final status
callback has been sent, and only the last KEEP_FINISHED finished calls are
kept (for `wait_for` and GETs); at MAX_LIVE calls in flight it refuses new
ones, as Twilio refuses a burst over the account's limit. Every REST request
it answers goes into a bounded journal, which tests read at
`GET .../Sandbox/Requests.json` (not a Twilio resource: the sandbox's own
window on what the product asked its carrier).

Updates to a call it did not place (the synthetic caller rings the answer
webhook directly, without dialing through the carrier) are answered as Twilio
answers them for any call on the account, and journaled; nothing plays them.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from campaigns.selectors import lead_persona
from telephony.signature import signature_compute
from voiceops.validators import normalize_e164

log = structlog.get_logger(__name__)

CARRIER_PERSONAS = frozenset({"busy", "no_answer", "failed"})
DEFAULT_PERSONA = "booker"


@dataclass
class CarrierCall:
    sid: str
    to: str
    from_: str
    url: str
    persona: str
    status_callback: str = ""
    events: frozenset[str] = frozenset()
    amd_callback: str = ""
    machine_detection: bool = False
    detect_message_end: bool = False  # MachineDetection=DetectMessageEnd: a machine is reported after its beep
    beeped_at: float | None = None  # a voicemail callee: when its beep finished (time.time())
    status: str = "queued"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    answered_monotonic: float | None = None
    sequence: int = 0
    hangup: asyncio.Event | None = None
    future: Future[Any] | None = None  # the scenario playing on the carrier's loop
    ended_by: str = ""  # for an answered call: who hung up in the simulation
    error: str = ""

    def resource(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "account_sid": settings.TWILIO_ACCOUNT_SID,
            "to": self.to,
            "from": self.from_,
            "status": self.status,
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": format_datetime(self.created),
            "date_updated": format_datetime(datetime.now(UTC)),
            "uri": f"/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Calls/{self.sid}.json",
        }


class _Loop:
    """One daemon thread running an asyncio loop for every simulated call."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> Future[Any]:
        with self._lock:
            if self._loop is None or not self._loop.is_running():
                self._loop = asyncio.new_event_loop()
                ready = threading.Event()
                loop = self._loop

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=run, name="simulated-carrier", daemon=True).start()
                ready.wait(5)
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call_soon(self, fn: Any) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(fn)


MAX_LIVE = 500  # calls in flight at once; Twilio, too, refuses a burst past the account's limit
KEEP_FINISHED = 100  # finished calls kept for wait_for() and GETs
JOURNAL_SIZE = 1000  # REST requests kept for inspection


class CallRegistry:
    """The carrier's calls: every live one, and the last `keep_finished` that ended. Thread-safe.

    (Requests add calls on the server's threads; the carrier's loop finishes them.)
    """

    def __init__(self, *, max_live: int = MAX_LIVE, keep_finished: int = KEEP_FINISHED) -> None:
        self.max_live = max_live
        self.keep_finished = keep_finished
        self._live: dict[str, CarrierCall] = {}
        self._finished: OrderedDict[str, CarrierCall] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, call: CarrierCall) -> bool:
        """Register a new call; False when max_live calls are already in flight."""
        with self._lock:
            if len(self._live) >= self.max_live:
                return False
            self._live[call.sid] = call
            return True

    def finish(self, sid: str) -> None:
        """The call was reported (its final callback sent): keep it among the recent ones only."""
        with self._lock:
            call = self._live.pop(sid, None)
            if call is None:
                return
            self._finished[sid] = call
            while len(self._finished) > self.keep_finished:
                self._finished.popitem(last=False)

    def get(self, sid: str) -> CarrierCall | None:
        with self._lock:
            return self._live.get(sid) or self._finished.get(sid)

    def values(self) -> list[CarrierCall]:
        """Live calls, then the finished ones kept, oldest first."""
        with self._lock:
            return [*self._live.values(), *self._finished.values()]

    @property
    def live_count(self) -> int:
        with self._lock:
            return len(self._live)

    def __len__(self) -> int:
        with self._lock:
            return len(self._live) + len(self._finished)


class Journal:
    """The last `size` REST requests the carrier answered: sequence number, method, path and form."""

    def __init__(self, size: int = JOURNAL_SIZE) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, request: HttpRequest) -> None:
        form = {name: request.POST.get(name, "") for name in request.POST} if request.method == "POST" else {}
        with self._lock:
            self._entries.append(
                {"seq": next(self._numbers), "method": request.method, "path": request.path, "form": form}
            )

    def after(self, seq: int = 0) -> Iterator[dict[str, Any]]:
        with self._lock:
            entries = list(self._entries)
        return (entry for entry in entries if entry["seq"] > seq)


_LOOP = _Loop()
CALLS = CallRegistry()
JOURNAL = Journal()


def _error(status: int, code: int, message: str) -> JsonResponse:
    # Twilio's error body; the official client raises TwilioRestException from it.
    return JsonResponse({"code": code, "message": message, "status": status, "more_info": ""}, status=status)


def _authorised(request: HttpRequest, account_sid: str) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return False
    expected = settings.TWILIO_AUTH_TOKEN or "unset"
    return user == account_sid == settings.TWILIO_ACCOUNT_SID and password == expected


def _guard(request: HttpRequest, account_sid: str) -> JsonResponse | None:
    if not settings.SIMULATED_CARRIER:
        raise Http404("the simulated carrier is off (SIMULATED_CARRIER)")
    if not _authorised(request, account_sid):
        return _error(401, 20003, "Authenticate")
    return None


def persona_for(to_number: str) -> str:
    return lead_persona(to_number) or DEFAULT_PERSONA


@csrf_exempt
def calls_create(request: HttpRequest, account_sid: str) -> HttpResponse:
    refused = _guard(request, account_sid)
    if refused is not None:
        return refused
    if request.method != "POST":
        return _error(405, 20004, "Method not allowed")
    JOURNAL.record(request)
    form = request.POST
    for required in ("To", "From", "Url"):
        if not form.get(required):
            return _error(400, 21205 if required == "Url" else 21201, f"Missing required parameter {required}")
    try:
        to = normalize_e164(form["To"])
    except ValidationError as exc:
        return _error(400, 21211, f"Invalid 'To' Phone Number: {exc.messages[0]}")
    call = CarrierCall(
        sid="CA" + uuid.uuid4().hex,
        to=to,
        from_=form["From"],
        url=form["Url"],
        persona=persona_for(to),
        status_callback=form.get("StatusCallback", ""),
        events=frozenset(form.getlist("StatusCallbackEvent")),
        amd_callback=form.get("AsyncAmdStatusCallback", "") if form.get("AsyncAmd") == "true" else "",
        machine_detection=form.get("MachineDetection", "") in ("Enable", "DetectMessageEnd"),
        detect_message_end=form.get("MachineDetection", "") == "DetectMessageEnd",
    )
    if not CALLS.add(call):
        return _error(429, 20429, f"Too Many Requests: {CALLS.max_live} calls in flight")
    call.future = _LOOP.submit(_run(call))
    log.info("carrier_call_created", call_sid=call.sid, persona=call.persona, to=to)
    return JsonResponse(call.resource(), status=201)


@csrf_exempt
def call_instance(request: HttpRequest, account_sid: str, call_sid: str) -> HttpResponse:
    refused = _guard(request, account_sid)
    if refused is not None:
        return refused
    if request.method == "POST":
        JOURNAL.record(request)
    call = CALLS.get(call_sid)
    wanted = request.POST.get("Status", "") if request.method == "POST" else ""
    if wanted not in ("", "completed", "canceled"):
        return _error(400, 21220, f"Invalid call status {wanted!r}")
    if call is None:
        if request.method != "POST":
            return _error(404, 20404, f"The requested resource /Calls/{call_sid}.json was not found")
        # A call that reached the product without dialing through us: answered
        # as Twilio answers an update of any call on the account, kept nowhere.
        call = CarrierCall(sid=call_sid, to="", from_="", url="", persona="", status=wanted or "in-progress")
        return JsonResponse(call.resource(), status=200)
    if wanted and call.hangup is not None:
        _LOOP.call_soon(call.hangup.set)
    return JsonResponse(call.resource(), status=200)


@csrf_exempt
def journal(request: HttpRequest, account_sid: str) -> HttpResponse:
    """The REST requests answered since `?after=<seq>` (the sandbox's own resource, for tests)."""
    refused = _guard(request, account_sid)
    if refused is not None:
        return refused
    after = request.GET.get("after", "0")
    if not after.isdigit():
        return _error(400, 20001, "after must be a sequence number")
    return JsonResponse({"requests": list(JOURNAL.after(int(after)))})


def _signed_headers(url: str, params: dict[str, str]) -> dict[str, str]:
    return {
        "X-Twilio-Signature": signature_compute(url, params),
        "User-Agent": "TwilioProxy/1.1 (voiceops simulated carrier)",
    }


async def _post(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> None:
    try:
        response = await client.post(url, data=params, headers=_signed_headers(url, params))
        if response.status_code >= 400:
            log.warning("carrier_callback_refused", url=url, status=response.status_code)
    except httpx.HTTPError as exc:
        log.warning("carrier_callback_failed", url=url, error=str(exc))


async def _status(client: httpx.AsyncClient, call: CarrierCall, status: str, event: str, **extra: str) -> None:
    call.status = status
    if not call.status_callback or (event and event not in call.events):
        return
    params = {
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call.sid,
        "CallStatus": status,
        "Direction": "outbound-api",
        "From": call.from_,
        "To": call.to,
        "SequenceNumber": str(call.sequence),
        "Timestamp": format_datetime(datetime.now(UTC)),
        "CallbackSource": "call-progress-events",
        **extra,
    }
    call.sequence += 1
    await _post(client, call.status_callback, params)


async def _amd(client: httpx.AsyncClient, call: CarrierCall, answered_by: str) -> None:
    if not call.amd_callback:
        return
    params = {
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
        "CallSid": call.sid,
        "AnsweredBy": answered_by,
        "MachineDetectionDuration": "1200",
    }
    await _post(client, call.amd_callback, params)


async def _run(call: CarrierCall) -> None:
    """Play one call from dial to hang-up, as Twilio would report it; then it leaves the live registry."""
    try:
        await _play(call)
    finally:
        CALLS.finish(call.sid)


async def _play(call: CarrierCall) -> None:
    call.hangup = asyncio.Event()
    async with httpx.AsyncClient(timeout=30) as client:
        await _status(client, call, "initiated", "initiated")
        if call.persona == "failed":
            await _status(client, call, "failed", "completed", CallDuration="0", SipResponseCode="503")
            return
        await _status(client, call, "ringing", "ringing")
        if call.persona in ("busy", "no_answer"):
            final = "busy" if call.persona == "busy" else "no-answer"
            await _status(client, call, final, "completed", CallDuration="0")
            return
        if call.hangup.is_set():
            await _status(client, call, "canceled", "completed", CallDuration="0")
            return
        call.answered_monotonic = time.monotonic()
        await _status(client, call, "in-progress", "answered")
        on_beep = None
        if call.machine_detection:
            if call.persona == "voicemail" and call.detect_message_end:
                # Twilio waits for the end of the greeting (the beep) to say "machine".
                async def on_beep() -> None:
                    await _amd(client, call, "machine_end_beep")

            else:
                await _amd(client, call, "machine_start" if call.persona == "voicemail" else "human")
        try:
            result = await _simulate(call, on_beep)
            call.ended_by = str(getattr(result, "ended_by", ""))
            call.beeped_at = getattr(result, "beeped_at", None)
        except Exception as exc:  # the callee's side broke: report what Twilio would, a completed call
            call.error = f"{type(exc).__name__}: {exc}"
            log.warning("carrier_simulation_failed", call_sid=call.sid, error=call.error)
        duration = int(time.monotonic() - call.answered_monotonic)
        await _status(client, call, "completed", "completed", CallDuration=str(duration))


async def _simulate(call: CarrierCall, on_beep: Callable[[], Coroutine[Any, Any, None]] | None = None) -> Any:
    try:
        from sandbox.simulator import simulate_call  # the engine's simulator
    except ImportError as exc:
        raise RuntimeError("sandbox.simulator is not available: cannot play the callee") from exc
    from sandbox.personas import persona_named

    return await simulate_call(
        base_url=settings.PUBLIC_BASE_URL,
        persona=persona_named(call.persona),
        to_number=call.to,
        from_number=call.from_,
        call_sid=call.sid,
        direction="outbound-api",
        answer_url=call.url,
        auth_token=settings.TWILIO_AUTH_TOKEN or None,
        transcribe=False,  # the carrier needs the call played, not the words read back
        on_beep=on_beep,
    )


def submit(coro: Coroutine[Any, Any, Any]) -> Future[Any]:
    """Run a coroutine on the carrier's background loop (the console's simulated callers run there too)."""
    return _LOOP.submit(coro)


def wait_for(call_sid: str, timeout: float = 60) -> CarrierCall:
    """Block until a simulated call has played out (tests, the demo command); KeyError once it is forgotten."""
    call = CALLS.get(call_sid)
    if call is None or call.future is None:
        raise KeyError(call_sid)
    call.future.result(timeout=timeout)
    return call


urlpatterns = [
    path("2010-04-01/Accounts/<str:account_sid>/Calls.json", calls_create, name="carrier-calls"),
    path("2010-04-01/Accounts/<str:account_sid>/Calls/<str:call_sid>.json", call_instance, name="carrier-call"),
    path("2010-04-01/Accounts/<str:account_sid>/Sandbox/Requests.json", journal, name="carrier-journal"),
]
