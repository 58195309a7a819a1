"""The console's HTML views for calls: the dashboard, call history and the call page (htmx partials when asked)."""

from __future__ import annotations

import uuid

from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from audit import verbs
from audit.services import audit_record
from calls.commands import CONNECTING, NO_SESSION, call_hang_up_without_session, call_should_have_session
from calls.dashboard import day_figures, llm_endpoints_down, recent_failed_calls
from calls.history import CallHistoryForm, calls_history
from calls.models import Call
from calls.paging import paginator_for
from calls.selectors import call_with_turns, calls_live_with_last_words, calls_recent
from campaigns.selectors import (
    campaigns_for_choice,
    campaigns_paused_with_reason,
    campaigns_progress,
    campaigns_running,
)
from live.supervision import command_deliver
from voiceops.roles import SOCKET_ACT, role_required
from voiceops.validators import normalize_e164

SAY_MAX_CHARS = 400

HISTORY_PAGE_SIZE = 25


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _dashboard_context() -> dict[str, object]:
    running = list(campaigns_running())
    progress = campaigns_progress([campaign.pk for campaign in running])
    return {
        "figures": day_figures(),
        "running": [(campaign, progress[campaign.pk]) for campaign in running],
    }


@role_required("calls.view_call")
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard: today's figures, running campaigns and alerts (polled), the live list and recent calls."""
    context = {"recent_calls": calls_recent(limit=15), "live_calls": calls_live_with_last_words()}
    if _is_htmx(request):
        # The rows' own poll (the console socket updates rows it knows; this picks up new calls).
        return render(request, "console/_calls_table.html", context)
    return render(request, "console/home.html", {**context, **_dashboard_context()})


@role_required("calls.view_call")
def dashboard_figures(request: HttpRequest) -> HttpResponse:
    return render(request, "console/_dashboard.html", _dashboard_context())


@role_required("calls.view_call")
def dashboard_alerts(request: HttpRequest) -> HttpResponse:
    """Alerts: campaigns the dialer paused and why, LLM endpoints down, recent failed calls."""
    context = {
        "paused": list(campaigns_paused_with_reason()[:10]),
        "llm_down": llm_endpoints_down(),
        "failed": recent_failed_calls(),
    }
    return render(request, "console/_alerts.html", context)


@role_required("calls.view_call")
def call_history(request: HttpRequest) -> HttpResponse:
    form = CallHistoryForm(request.GET or None, campaigns=[(c.pk, c.name) for c in campaigns_for_choice()])
    status = 200
    if form.is_bound and not form.is_valid():
        calls = Call.objects.none()
        status = 400
    else:
        calls = calls_history(form.cleaned_data if form.is_bound else {})
    searching = bool(form.is_bound and form.is_valid() and form.cleaned_data.get("q"))
    page = paginator_for(calls, HISTORY_PAGE_SIZE, searching=searching).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    template = "console/_history_results.html" if _is_htmx(request) else "console/history.html"
    return render(request, template, context, status=status)


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
    channel layer to it (live.supervision) and the session acknowledges it.
    Its effect (the call ending, the transfer note, the injected sentence)
    reaches the page over the socket. A command no session acknowledged is
    answered with why (calls.commands); a hang-up then goes to the carrier.
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
    if not async_to_sync(command_deliver)(call.pk, message):
        # No session took it (calls.commands): said on the page, never dropped silently.
        if not call_should_have_session(call_id=call.pk):
            return _command_result(request, call, CONNECTING, status=409)
        if command != "hangup":
            what = "Nothing was said" if command == "say" else "The call was not transferred"
            return _command_result(request, call, f"{what}: {NO_SESSION}.", status=409)
        result = call_hang_up_without_session(call_id=call.pk, actor=request.user.get_username())
        if not result.ended:
            return _command_result(request, call, result.note, status=502)
        note = result.note
    audit_record(actor=request.user, verb=verb, target=call, summary=summary, data=dict(message))
    return _command_result(request, call, note)


def _command_result(request: HttpRequest, call: Call, note: str, *, status: int = 200) -> HttpResponse:
    if getattr(request, "htmx", False):
        return render(request, "console/_command_result.html", {"note": note, "error": status >= 400}, status=status)
    context = {"call": call_with_turns(call_id=call.pk), "may_act": True, "note": note, "error": status >= 400}
    return render(request, "console/call_detail.html", context, status=status)
