"""The console's HTML views (htmx partials when asked)."""

from __future__ import annotations

import uuid

from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from agents.selectors import agents_by_name
from audit import verbs
from audit.services import audit_record
from calls.models import Call
from calls.selectors import call_with_turns, calls_live_with_last_words, calls_recent
from campaigns.selectors import campaigns_recent
from live.supervision import control_send
from voiceops.roles import SOCKET_ACT, role_required
from voiceops.validators import normalize_e164

SAY_MAX_CHARS = 400


@role_required("calls.view_call")
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "live_calls": calls_live_with_last_words(),
        "recent_calls": calls_recent(limit=25),
        "agents": agents_by_name(),
        "campaigns": campaigns_recent(limit=10),
    }
    if getattr(request, "htmx", False):
        return render(request, "console/_calls_table.html", context)
    return render(request, "console/home.html", context)


@role_required("calls.view_call")
def live_calls(request: HttpRequest) -> HttpResponse:
    """The live list alone (the home page polls it for calls that started since; rows update over the socket)."""
    return render(request, "console/_live_calls.html", {"live_calls": calls_live_with_last_words()})


@role_required("calls.view_call")
def call_detail(request: HttpRequest, call_id: uuid.UUID) -> HttpResponse:
    call = call_with_turns(call_id=call_id)
    if call is None:
        raise Http404("no such call")
    context = {"call": call, "may_act": request.user.has_perm(SOCKET_ACT)}
    if getattr(request, "htmx", False):
        return render(request, "console/_call_panel.html", context)
    return render(request, "console/call_detail.html", context)


@require_POST
@role_required("calls.view_call", write=SOCKET_ACT)
def call_command(request: HttpRequest, call_id: uuid.UUID, command: str) -> HttpResponse:
    """Hang up, transfer now, or say next: checked here, recorded with the call, carried out by its session.

    The session may run in another daphne process: the command crosses the
    channel layer to it (live.supervision). Its effect (the call ending, the
    transfer note, the injected sentence) reaches the page over the socket.
    """
    call = get_object_or_404(Call, pk=call_id)
    if command not in ("hangup", "transfer", "say"):
        raise Http404("no such command")
    if call.is_final:
        return _command_result(request, call, "The call is already over.", status=409)
    if call.status != Call.Status.IN_PROGRESS:
        # Commands go to the call's live session, which exists once the call is connected.
        return _command_result(request, call, "The call is not connected yet: try again in a moment.", status=409)
    message: dict[str, str] = {"type": "call.command", "command": command, "actor": request.user.get_username()}
    if command == "hangup":
        verb, summary, note = verbs.HUNG_UP, "operator hang-up", "Hanging up…"
    elif command == "transfer":
        try:
            number = normalize_e164(request.POST.get("number", ""))
        except ValidationError as exc:
            return _command_result(request, call, f"Transfer: {exc.messages[0]}", status=400)
        message["number"] = number
        verb, summary, note = verbs.TRANSFERRED, f"to {number}", f"Transferring to {number}…"
    else:
        text = " ".join(request.POST.get("text", "").split())
        if not text:
            return _command_result(request, call, "Say next: write the sentence first.", status=400)
        if len(text) > SAY_MAX_CHARS:
            return _command_result(request, call, f"Say next: at most {SAY_MAX_CHARS} characters.", status=400)
        message["text"] = text
        verb, summary, note = verbs.SAID_NEXT, text, "The agent will say it at the next pause."
    audit_record(actor=request.user, verb=verb, target=call, summary=summary, data=dict(message))
    async_to_sync(control_send)(call.pk, message)
    return _command_result(request, call, note)


def _command_result(request: HttpRequest, call: Call, note: str, *, status: int = 200) -> HttpResponse:
    if getattr(request, "htmx", False):
        return render(request, "console/_command_result.html", {"note": note, "error": status >= 400}, status=status)
    context = {"call": call_with_turns(call_id=call.pk), "may_act": True, "note": note, "error": status >= 400}
    return render(request, "console/call_detail.html", context, status=status)
