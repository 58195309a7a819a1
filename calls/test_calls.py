"""Trying a version from the console: a browser test call ("Talk to it") and a simulated caller.

Both run through the same live pipeline as a phone call and are stored as
test calls (Call.test_kind): no campaign, no variant, so neither the dialer
nor the experiments count them. Only operators and admins may start them.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from agents.selectors import agent_version_by_id
from audit import verbs
from audit.services import audit_record
from calls.models import Call
from calls.services import call_create_test
from sandbox.live_caller import PERSONA_NAMES, simulated_caller_run
from voiceops.roles import SOCKET_ACT, role_required


@role_required(SOCKET_ACT)
def test_call_page(request: HttpRequest, version_id: int) -> HttpResponse:
    version = agent_version_by_id(version_id=version_id)
    if version is None:
        raise Http404("no such version")
    return render(request, "console/test_call.html", {"version": version, "personas": PERSONA_NAMES})


@require_POST
@role_required(SOCKET_ACT)
def simulated_caller_start(request: HttpRequest, version_id: int) -> HttpResponse:
    version = agent_version_by_id(version_id=version_id)
    if version is None:
        raise Http404("no such version")
    persona = request.POST.get("persona", "")
    if persona not in PERSONA_NAMES:
        context = {
            "version": version,
            "personas": PERSONA_NAMES,
            "error": f"Choose a persona ({', '.join(PERSONA_NAMES)}).",
        }
        return render(request, "console/test_call.html", context, status=400)
    call = call_create_test(agent_version_id=version.pk, kind=Call.TestKind.SIMULATED)
    audit_record(
        actor=request.user,
        verb=verbs.SIMULATED_CALLER,
        target=call,
        summary=f"{persona} on {version.agent.name} v{version.number}",
        data={"persona": persona, "version": version.pk},
    )
    simulated_caller_run(call_id=call.pk, persona=persona)
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(f"/calls/{call.pk}/")
    return redirect("console:call-detail", call_id=call.pk)
