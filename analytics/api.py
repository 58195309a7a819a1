"""REST API for analytics: `GET /api/analytics/{report}/` (JSON) and `GET /api/analytics/{report}/csv/`.

Reports: calls, rates, latency, interruptions, cost; the query string is the
console's filter bar (start, end, agent, version, campaign, dimension).
Token or session authentication; any role that may view calls may read them.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.forms import AnalyticsFilterForm
from analytics.reports import REPORTS, report_json
from analytics.services import rollups_refresh_if_stale
from analytics.views import VIEW_PERMISSION, _today, csv_response


class MayViewCalls(permissions.BasePermission):
    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(VIEW_PERMISSION))


FILTER_PARAMETERS = [
    # Days are calendar days of ANALYTICS_TIMEZONE (analytics/days.py).
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (default: 29 days before end)"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, inclusive (default: today)"),
    OpenApiParameter("agent", OpenApiTypes.INT),
    OpenApiParameter("version", OpenApiTypes.INT),
    OpenApiParameter("campaign", OpenApiTypes.INT),
    OpenApiParameter("dimension", OpenApiTypes.STR, enum=["version", "campaign", "source"]),
]


def _checked(request: Request, report: str) -> AnalyticsFilterForm | Response:
    if report not in REPORTS:
        return Response(
            {"detail": f"Unknown report {report!r}; reports: {', '.join(REPORTS)}."}, status=status.HTTP_404_NOT_FOUND
        )
    form = AnalyticsFilterForm(request.query_params, today=_today())
    if not form.is_valid():
        return Response(form.error_messages(), status=status.HTTP_400_BAD_REQUEST)
    rollups_refresh_if_stale()
    return form


@extend_schema(parameters=FILTER_PARAMETERS, responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
@permission_classes([MayViewCalls])
def analytics_report(request: Request, report: str) -> Response:
    checked = _checked(request, report)
    if isinstance(checked, Response):
        return checked
    return Response(report_json(report, checked.filters(), dimension=checked.chosen_dimension))


@extend_schema(parameters=FILTER_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.STR})
@api_view(["GET"])
@permission_classes([MayViewCalls])
def analytics_report_csv(request: Request, report: str) -> Response | HttpResponse:
    checked = _checked(request, report)
    if isinstance(checked, Response):
        return checked
    return csv_response(report=report, form=checked)
