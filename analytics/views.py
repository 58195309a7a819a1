"""Console pages for analytics: overview (calls per day, connect and success rates), latency, cost.

Thin views over analytics.selectors. The filter bar is a GET form: links and
the browser's back button keep the filters, htmx swaps only the report below
the bar (and pushes the URL), and every page works without JavaScript. Each
section links its CSV export with the same filters. Bad filters get a 400
with the form's messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from analytics import days as reporting_days
from analytics.charts import line_chart, stacked_bars
from analytics.forms import AnalyticsFilterForm
from analytics.histograms import VOICE_TO_VOICE_STAGE
from analytics.reports import REPORTS, report_csv
from analytics.selectors import (
    DEFAULT_RANGE_DAYS,
    PERCENTILES,
    Filters,
    calls_per_day,
    cost_by_version,
    latency,
    rates_by,
    rollups_refreshed_at,
    summary,
)
from analytics.services import rollups_refresh_if_stale
from voiceops.roles import role_required

# Analytics reads calls: whoever may view calls may view their figures (every console role).
VIEW_PERMISSION = "calls.view_call"
PAGES = {"overview": "Calls and rates", "latency": "Latency", "cost": "Cost"}


def _today() -> dt.date:
    return reporting_days.today()


def _form(request: HttpRequest) -> AnalyticsFilterForm:
    today = _today()
    # Unbound, the form shows the default range it stands for (the last 30 reporting days).
    initial = {"start": today - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1), "end": today}
    return AnalyticsFilterForm(request.GET or None, today=today, initial=initial)


def _filters_or_default(form: AnalyticsFilterForm) -> Filters | None:
    if form.is_bound:
        return form.filters() if form.is_valid() else None
    form.cleaned_data = {}
    today = _today()
    return Filters(start=today - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1), end=today)


def _page(request: HttpRequest, page: str) -> HttpResponse:
    form = _form(request)
    filters = _filters_or_default(form)
    status = 200
    context: dict[str, Any] = {"form": form, "page": page, "page_title": PAGES[page], "query": ""}
    if filters is None:
        status = 400
    else:
        rollups_refresh_if_stale()
        dimension = form.chosen_dimension if form.is_bound else "version"
        context.update(
            filters=filters,
            query=urlencode({**filters.as_params(), "dimension": dimension}),
            refreshed_at=rollups_refreshed_at(),
            include_test_calls=settings.ANALYTICS_INCLUDE_TEST_CALLS,
            analytics_zone=settings.ANALYTICS_TIMEZONE,
            **_sections(page, filters, dimension),
        )
    template = "analytics/_report.html" if getattr(request, "htmx", False) else "analytics/page.html"
    return render(request, template, context, status=status)


def _sections(page: str, filters: Filters, dimension: str) -> dict[str, Any]:
    if page == "overview":
        per_day = calls_per_day(filters)
        return {
            "summary": summary(filters),
            "calls_chart": stacked_bars(
                title="Calls per day by outcome",
                days=per_day.days,
                series=[(outcome, per_day.counts[outcome]) for outcome in per_day.outcomes],
            ),
            "dimension": dimension,
            "dimension_label": {"version": "Version", "campaign": "Campaign", "source": "Lead source"}[dimension],
            "rates": rates_by(filters, dimension=dimension),
        }
    if page == "latency":
        figures = latency(filters)
        by_stage = {stage.stage: stage for stage in figures.stages}
        v2v = by_stage[VOICE_TO_VOICE_STAGE]
        return {
            "latency": figures,
            "v2v_chart": line_chart(
                title=f"Voice to voice (first reply frame after the caller stops), ms, per {figures.period}",
                days=figures.days,
                series=[(f"p{p}", v2v.per_day[p]) for p in PERCENTILES],
                unit="ms",
            ),
            "stages_chart": line_chart(
                title=f"Each stage's p50 after the caller stops, ms, per {figures.period}",
                days=figures.days,
                series=[(stage.label.split(" (")[0], stage.per_day[50]) for stage in figures.stages if stage.turns],
                unit="ms",
            ),
            "interruptions_chart": line_chart(
                title=f"Interruptions per connected call, per {figures.period}",
                days=figures.days,
                series=[("interruptions per call", figures.interruptions_per_call)],
            ),
        }
    return {"costs": cost_by_version(filters)}


@role_required(VIEW_PERMISSION)
def overview(request: HttpRequest) -> HttpResponse:
    return _page(request, "overview")


@role_required(VIEW_PERMISSION)
def latency_page(request: HttpRequest) -> HttpResponse:
    return _page(request, "latency")


@role_required(VIEW_PERMISSION)
def cost_page(request: HttpRequest) -> HttpResponse:
    return _page(request, "cost")


def csv_response(*, report: str, form: AnalyticsFilterForm) -> HttpResponse:
    filters = form.filters()
    body = report_csv(report, filters, dimension=form.chosen_dimension)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"voiceops-{report}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@role_required(VIEW_PERMISSION)
def export_csv(request: HttpRequest, report: str) -> HttpResponse:
    if report not in REPORTS:
        raise Http404("No such report.")
    form = AnalyticsFilterForm(request.GET, today=_today())
    if not form.is_valid():
        lines = [f"{name}: {' '.join(messages)}" for name, messages in form.error_messages().items()]
        return HttpResponse("\n".join(lines), status=400, content_type="text/plain; charset=utf-8")
    rollups_refresh_if_stale()
    return csv_response(report=report, form=form)
