"""The console's HTML views (htmx partials when asked)."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from agents.models import Agent
from calls.models import Call
from calls.selectors import calls_live, calls_recent
from campaigns.models import Campaign
from voiceops.roles import role_required


@role_required("calls.view_call")
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "live_calls": calls_live(),
        "recent_calls": calls_recent(limit=25),
        "agents": Agent.objects.order_by("name"),
        "campaigns": Campaign.objects.order_by("-created_at")[:10],
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
