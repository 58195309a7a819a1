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
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import uuid
from collections.abc import Coroutine
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
from twilio.request_validator import RequestValidator

from campaigns.models import Lead
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
    status: str = "queued"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    answered_monotonic: float | None = None
    sequence: int = 0
    hangup: asyncio.Event | None = None
    result: Any = None
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


_LOOP = _Loop()
CALLS: dict[str, CarrierCall] = {}
FUTURES: dict[str, Future[Any]] = {}


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
    lead = Lead.objects.filter(phone=to_number).only("custom_fields").first()
    persona = (lead.custom_fields or {}).get("persona") if lead else None
    return str(persona) if persona else DEFAULT_PERSONA


@csrf_exempt
def calls_create(request: HttpRequest, account_sid: str) -> HttpResponse:
    refused = _guard(request, account_sid)
    if refused is not None:
        return refused
    if request.method != "POST":
        return _error(405, 20004, "Method not allowed")
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
    )
    CALLS[call.sid] = call
    FUTURES[call.sid] = _LOOP.submit(_run(call))
    log.info("carrier_call_created", call_sid=call.sid, persona=call.persona, to=to)
    return JsonResponse(call.resource(), status=201)


@csrf_exempt
def call_instance(request: HttpRequest, account_sid: str, call_sid: str) -> HttpResponse:
    refused = _guard(request, account_sid)
    if refused is not None:
        return refused
    call = CALLS.get(call_sid)
    if call is None:
        return _error(404, 20404, f"The requested resource /Calls/{call_sid}.json was not found")
    if request.method == "POST":
        wanted = request.POST.get("Status", "")
        if wanted not in ("", "completed", "canceled"):
            return _error(400, 21220, f"Invalid call status {wanted!r}")
        if wanted and call.hangup is not None:
            _LOOP.call_soon(call.hangup.set)
    return JsonResponse(call.resource(), status=200)


def _signed_headers(url: str, params: dict[str, str]) -> dict[str, str]:
    token = settings.TWILIO_AUTH_TOKEN or "unset"
    signature = RequestValidator(token).compute_signature(url, params)
    return {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1 (voiceops simulated carrier)"}


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
    """Play one call from dial to hang-up, as Twilio would report it."""
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
        if call.machine_detection:
            answered_by = "machine_start" if call.persona == "voicemail" else "human"
            await _amd(client, call, answered_by)
        try:
            call.result = await _simulate(call)
        except Exception as exc:  # the callee's side broke: report what Twilio would, a completed call
            call.error = f"{type(exc).__name__}: {exc}"
            log.warning("carrier_simulation_failed", call_sid=call.sid, error=call.error)
        duration = int(time.monotonic() - call.answered_monotonic)
        await _status(client, call, "completed", "completed", CallDuration=str(duration))


async def _simulate(call: CarrierCall) -> Any:
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
    )


def wait_for(call_sid: str, timeout: float = 60) -> CarrierCall:
    """Block until a simulated call has played out (tests, the demo command)."""
    FUTURES[call_sid].result(timeout=timeout)
    return CALLS[call_sid]


urlpatterns = [
    path("2010-04-01/Accounts/<str:account_sid>/Calls.json", calls_create, name="carrier-calls"),
    path("2010-04-01/Accounts/<str:account_sid>/Calls/<str:call_sid>.json", call_instance, name="carrier-call"),
]
