"""POST /twilio/voice/: Twilio's answer webhook for inbound and outbound calls.

Inbound: the called number (`To`) finds the agent and a Call is created; when
the number runs an experiment, the caller's lead and variant choose the version.
Outbound: the dialer created the Call first and put its id in the answer URL
(`?call=<uuid>`). Either way the answer connects the call to the media socket
with a signed per-call token.
"""

from __future__ import annotations

import threading
import uuid

import structlog
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from agents.models import PhoneNumber
from calls.models import Call
from calls.services import call_set_status
from experiments.services import inbound_route
from telephony.signature import FormFields, signature_valid
from telephony.twiml import answer_twiml_for, say_and_hang_up_twiml
from voiceops.health import is_draining

log = structlog.get_logger(__name__)


def _say_and_hang_up(message: str) -> HttpResponse:
    return HttpResponse(say_and_hang_up_twiml(message), content_type="text/xml")


@transaction.atomic
def _inbound_call(request: HttpRequest) -> Call | None:
    call_sid = request.POST.get("CallSid", "")
    existing = Call.objects.filter(twilio_call_sid=call_sid).first() if call_sid else None
    if existing is not None:  # Twilio retried the webhook
        return existing
    number = PhoneNumber.objects.select_related("agent").filter(e164=request.POST.get("To", "")).first()
    version = number.agent.live_version if number else None
    if number is None or version is None:
        return None
    # A number running an experiment answers with the caller's variant (experiments decide who gets which).
    route = inbound_route(number_e164=number.e164, caller=request.POST.get("From", ""))
    return Call.objects.create(
        direction=Call.Direction.INBOUND,
        agent_version=route.agent_version if route else version,
        lead=route.lead if route else None,
        variant=route.variant if route else None,
        twilio_call_sid=call_sid or None,
        from_number=request.POST.get("From", "")[:32],
        to_number=request.POST.get("To", "")[:32],
    )


@transaction.atomic
def _outbound_call(call_id: uuid.UUID, call_sid: str) -> Call | None:
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        return None
    if call_sid and not call.twilio_call_sid:
        call.twilio_call_sid = call_sid
        call.save(update_fields=["twilio_call_sid"])
    return call


_warm_started = threading.Event()


def warm_engines_soon() -> None:
    """Load the default models in the background, once per process."""
    if not _warm_started.is_set():
        _warm_started.set()
        threading.Thread(target=_warm_engines, name="engine-warm-up", daemon=True).start()


def _warm_engines() -> None:
    # Loading Whisper and Piper takes seconds: start as soon as a call rings,
    # not when the caller has already said something.
    from live.speech.stt import get_stt
    from live.speech.tts import get_tts

    try:
        get_stt()
        get_tts()
    except Exception:
        log.exception("engine_warm_up_failed")


DRAINING_MESSAGE = "Sorry, we are restarting right now. Please call again in a minute. Goodbye."


def _refuse_while_draining(request: HttpRequest) -> HttpResponse:
    """A graceful restart (voiceops.shutdown) takes no new call: a polite message, and an outbound attempt failed.

    The outbound attempt is failed rather than left to its status callbacks,
    which would report the short message as an answered call: failed, the
    dialer's retry rules call the lead again later.
    """
    log.info("twilio_voice_refused_draining", call=request.GET.get("call", ""))
    call_param = request.GET.get("call")
    if call_param:
        try:
            call_id = uuid.UUID(call_param)
        except ValueError:
            call_id = None
        if call_id is not None and Call.objects.filter(pk=call_id).exists():
            call_set_status(call_id=call_id, status=Call.Status.FAILED, reason="server restarting: call not connected")
    return _say_and_hang_up(DRAINING_MESSAGE)


@csrf_exempt
@require_POST
def voice_webhook(request: HttpRequest) -> HttpResponse:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature_valid(full_path=request.get_full_path(), form=FormFields.of(request.POST), signature=signature):
        log.warning("twilio_voice_bad_signature", path=request.get_full_path())
        return HttpResponseForbidden("invalid Twilio signature")
    if is_draining():
        return _refuse_while_draining(request)
    warm_engines_soon()
    call_param = request.GET.get("call")
    if call_param:
        try:
            call_id = uuid.UUID(call_param)
        except ValueError:
            return HttpResponse("call must be a call id", status=400)
        call = _outbound_call(call_id, request.POST.get("CallSid", ""))
        if call is None:
            log.warning("twilio_voice_unknown_call", call_id=call_param)
            return _say_and_hang_up("Sorry, this call cannot be connected.")
    else:
        call = _inbound_call(request)
        if call is None:
            log.warning("twilio_voice_no_agent", to=request.POST.get("To", ""))
            return _say_and_hang_up("Sorry, this number is not in service.")
    if call.is_final:
        return _say_and_hang_up("Goodbye.")
    log.info("twilio_voice_answered", call_id=str(call.pk), direction=call.direction)
    return HttpResponse(answer_twiml_for(call.pk), content_type="text/xml")
