"""The console's HTML views for calls: the dashboard, call history and the call page (htmx partials when asked)."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from calls.dashboard import day_figures, llm_endpoints_down, recent_failed_calls
from calls.history import CallHistoryForm, calls_history
from calls.models import Call
from calls.paging import paginator_for
from calls.selectors import calls_recent
from campaigns.selectors import (
    campaigns_for_choice,
    campaigns_paused_with_reason,
    campaigns_progress,
    campaigns_running,
)
from voiceops.roles import role_required

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
    """The dashboard: today's figures and running campaigns (polled), alerts (polled), and the live call rows."""
    context = {"recent_calls": calls_recent(limit=15)}
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
def call_detail(request: HttpRequest, call_id: uuid.UUID) -> HttpResponse:
    call = get_object_or_404(
        Call.objects.select_related("agent_version__agent", "lead", "campaign").prefetch_related("turns"), pk=call_id
    )
    return render(request, "console/call_detail.html", {"call": call})
