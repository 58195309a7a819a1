"""Console views for post-call analysis: the call page's panel (polled while pending) and re-running it."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from analysis.dispatch import analysis_schedule
from analysis.services import analysis_mark_pending
from audit import verbs
from audit.services import audit_record
from calls.selectors import call_for_analysis
from voiceops.roles import role_required


def _call(call_id: uuid.UUID):  # type: ignore[no-untyped-def]
    try:
        return call_for_analysis(call_id=call_id)
    except Exception as exc:  # Call.DoesNotExist, without importing the calls app's models
        if type(exc).__name__ == "DoesNotExist":
            raise Http404("No such call.") from None
        raise


@role_required("calls.view_call")
def analysis_panel(request: HttpRequest, call_id: uuid.UUID) -> HttpResponse:
    """The analysis partial alone (htmx polls it while an analysis is pending)."""
    return render(request, "console/_analysis.html", {"call": _call(call_id)})


@require_POST
@role_required("calls.view_call", write="calls.change_call")
def analysis_rerun(request: HttpRequest, call_id: uuid.UUID) -> HttpResponse:
    """Queue the call's analysis again (operators and admins); audited on the call."""
    call = _call(call_id)
    if not call.is_final or call.answered_at is None:
        return HttpResponse("Only an answered call that has ended can be analysed.", status=409)
    analysis_mark_pending(call_id=call.pk)
    audit_record(actor=request.user, verb=verbs.ANALYSIS_RERUN, target=call)
    analysis_schedule(call_id=call.pk, force=True)
    if getattr(request, "htmx", False):
        return render(request, "console/_analysis.html", {"call": call})
    return redirect("console:call-detail", call_id=call.pk)
