"""The admin's analytics summary page: listed in the admin index, it shows the headline figures of the last
30 days and links the console's analytics pages. No rows are edited here (rollups are rebuilt, never typed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from analytics import days as reporting_days
from analytics.models import AnalyticsSummary
from analytics.selectors import Filters, cost_by_version, latency, rates_by, rollups_refreshed_at, summary
from analytics.services import rollups_refresh_if_stale
from analytics.views import VIEW_PERMISSION


@admin.register(AnalyticsSummary)
class AnalyticsSummaryAdmin(admin.ModelAdmin):
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.has_perm(VIEW_PERMISSION)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        rollups_refresh_if_stale()
        today = reporting_days.today()
        filters = Filters(start=today - dt.timedelta(days=29), end=today)
        figures = latency(filters)
        context = {
            **self.admin_site.each_context(request),
            "title": "Analytics summary: the last 30 days",
            "opts": self.model._meta,
            "filters": filters,
            "analytics_zone": settings.ANALYTICS_TIMEZONE,
            "summary": summary(filters),
            "rates": rates_by(filters, dimension="version"),
            "stages": figures.stages,
            "interruptions": figures.interruptions_overall,
            "costs": cost_by_version(filters),
            "refreshed_at": rollups_refreshed_at(),
        }
        return TemplateResponse(request, "admin/analytics/summary.html", context)
