"""Console pages for campaigns and lead imports (htmx partials when asked)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from agents.selectors import versions_for_choice
from audit import verbs
from audit.services import audit_record
from campaigns.forms import CampaignForm, LeadImportForm
from campaigns.importer import ImportRejected, lead_import_create
from campaigns.models import Campaign, LeadImport
from campaigns.selectors import (
    LIVE_PROGRESS_INTERVAL_S,
    campaign_recent_attempts,
    campaigns_overview,
    campaigns_progress,
    lead_imports_recent,
)
from campaigns.services import (
    CAMPAIGN_SETTINGS,
    CampaignTransitionError,
    campaign_actions_allowed,
    campaign_control,
    campaign_create,
    campaign_update,
)
from experiments.selectors import experiments_overview
from voiceops.roles import role_required


@role_required("campaigns.view_campaign")
def campaigns(request: HttpRequest) -> HttpResponse:
    rows = list(campaigns_overview())
    progress = campaigns_progress([campaign.pk for campaign in rows])
    return render(request, "campaigns/list.html", {"rows": [(c, progress[c.pk]) for c in rows]})


@role_required("campaigns.view_campaign")
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(campaigns_overview(), pk=campaign_id)
    # The page fetches its panel again after a live push: the count it reads is no older than the pushed one.
    fresh = LIVE_PROGRESS_INTERVAL_S if getattr(request, "htmx", False) else None
    context = {
        "campaign": campaign,
        "progress": campaigns_progress([campaign.pk], max_age_s=fresh)[campaign.pk],
        "attempts": campaign_recent_attempts(campaign),
        "actions": campaign_actions_allowed(campaign) if request.user.has_perm("campaigns.change_campaign") else (),
    }
    if getattr(request, "htmx", False):
        return render(request, "campaigns/_panel.html", context)
    return render(request, "campaigns/detail.html", context)


def _campaign_form(request: HttpRequest, instance: Campaign | None = None) -> CampaignForm:
    initial = None if instance is not None else {"days": [1, 2, 3, 4, 5], "retry_rules": {}}
    return CampaignForm(
        request.POST or None,
        instance=instance,
        initial=initial,
        versions=versions_for_choice(published_only=True),
        experiments=experiments_overview(),
    )


def _save_campaign(form: CampaignForm, campaign_id: int | None) -> Campaign | None:
    """Hand the form's values to the service; the campaign rule's errors go back beside their fields."""
    values: dict[str, Any] = {name: form.cleaned_data[name] for name in CAMPAIGN_SETTINGS if name in form.cleaned_data}
    try:
        if campaign_id is None:
            return campaign_create(**values)
        return campaign_update(campaign_id=campaign_id, **values)
    except ValidationError as exc:
        for field, problems in exc.message_dict.items():
            form.add_error(None if field == NON_FIELD_ERRORS or field not in form.fields else field, problems)
        return None


@role_required("campaigns.view_campaign", write="campaigns.add_campaign")
def campaign_new(request: HttpRequest) -> HttpResponse:
    form = _campaign_form(request)
    if request.method == "POST" and form.is_valid():
        campaign = _save_campaign(form, None)
        if campaign is not None:
            audit_record(actor=request.user, verb=verbs.CAMPAIGN_CREATED, target=campaign, summary=campaign.name)
            messages.success(request, f"{campaign.name} was created as a draft: start it when ready.")
            return redirect("console:campaign-detail", campaign_id=campaign.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "campaigns/form.html", {"form": form, "campaign": None}, status=status)


@role_required("campaigns.view_campaign", write="campaigns.change_campaign")
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    instance = get_object_or_404(Campaign, pk=campaign_id)
    form = _campaign_form(request, instance)
    if request.method == "POST" and form.is_valid():
        campaign = _save_campaign(form, campaign_id)
        if campaign is not None:
            changed = sorted(form.changed_data)
            audit_record(
                actor=request.user,
                verb=verbs.CAMPAIGN_EDITED,
                target=campaign,
                summary=", ".join(changed),
                data={"fields": changed},
            )
            messages.success(request, f"{campaign.name} was saved.")
            return redirect("console:campaign-detail", campaign_id=campaign.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "campaigns/form.html", {"form": form, "campaign": instance}, status=status)


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
