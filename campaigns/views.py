"""Console pages for campaigns and lead imports (htmx partials when asked)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from audit import verbs
from audit.services import audit_record
from campaigns.forms import LeadImportForm
from campaigns.importer import ImportRejected, lead_import_create
from campaigns.models import Campaign, LeadImport
from campaigns.selectors import (
    campaign_lead_counts,
    campaign_outcome_counts,
    campaign_recent_attempts,
    campaigns_overview,
    lead_imports_recent,
)
from campaigns.services import CampaignTransitionError, campaign_actions_allowed, campaign_control
from voiceops.roles import role_required


@role_required("campaigns.view_campaign")
def campaigns(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/list.html", {"campaigns": campaigns_overview()})


@role_required("campaigns.view_campaign")
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(campaigns_overview(), pk=campaign_id)
    context = {
        "campaign": campaign,
        "lead_counts": campaign_lead_counts(campaign),
        "outcome_counts": campaign_outcome_counts(campaign),
        "attempts": campaign_recent_attempts(campaign),
        "actions": campaign_actions_allowed(campaign),
    }
    if getattr(request, "htmx", False):
        return render(request, "campaigns/_panel.html", context)
    return render(request, "campaigns/detail.html", context)


@role_required("campaigns.change_campaign")
@require_POST
def campaign_control_view(request: HttpRequest, campaign_id: int, action: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        campaign_control(campaign_id=campaign_id, action=action)
    except CampaignTransitionError as exc:
        messages.error(request, str(exc))
    else:
        audit_record(actor=request.user, verb=verbs.CONTROL_VERBS[action], target=campaign, summary=campaign.name)
    return redirect("console:campaign-detail", campaign_id=campaign_id)


@role_required("campaigns.view_leadimport", write="campaigns.add_leadimport")
def lead_import(request: HttpRequest) -> HttpResponse:
    form = LeadImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = lead_import_create(
                filename=upload.name,
                content=upload.read(),
                campaign=form.cleaned_data["campaign"],
                default_region=form.cleaned_data["default_region"],
            )
        except ImportRejected as exc:
            form.add_error("file", str(exc))
        else:
            audit_record(actor=request.user, verb=verbs.LEADS_IMPORTED, target=job, summary=job.filename)
            return redirect("console:lead-import-detail", import_id=job.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "campaigns/lead_import.html", {"form": form, "imports": lead_imports_recent()}, status=status
    )


@role_required("campaigns.view_leadimport")
def lead_import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    job = get_object_or_404(LeadImport.objects.select_related("campaign").defer("content"), pk=import_id)
    template = (
        "campaigns/_lead_import_progress.html"
        if getattr(request, "htmx", False)
        else "campaigns/lead_import_detail.html"
    )
    return render(request, template, {"job": job})
