"""The console's HTML views (htmx partials when asked)."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from agents.selectors import agents_by_name
from calls.models import Call
from calls.selectors import calls_live, calls_recent
from campaigns.selectors import campaigns_recent
from voiceops.roles import role_required


@role_required("calls.view_call")
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "live_calls": calls_live(),
        "recent_calls": calls_recent(limit=25),
        "agents": agents_by_name(),
        "campaigns": campaigns_recent(limit=10),
    }
    if getattr(request, "htmx", False):
        return render(request, "console/_calls_table.html", context)
    return render(request, "console/home.html", context)


@role_required("calls.view_call")
def call_detail(request: HttpRequest, call_id: uuid.UUID) -> HttpResponse:
    call = get_object_or_404(
        Call.objects.select_related("agent_version__agent", "lead", "campaign").prefetch_related("turns"), pk=call_id
    )
    return render(request, "console/call_detail.html", {"call": call})
