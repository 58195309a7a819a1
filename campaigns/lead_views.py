"""Console pages for leads: search and filters, a lead's history, edit, do-not-call, CSV export.

Writes go through campaigns.services (lead_update, lead_custom_field_set,
lead_do_not_call_mark), each recorded in the audit log under the operator's
name; reads through campaigns.selectors.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit import verbs
from audit.services import audit_record
from calls.paging import paginator_for
from campaigns.forms import LeadCustomFieldForm, LeadEditForm, LeadFilterForm
from campaigns.models import Campaign, Lead
from campaigns.selectors import (
    LeadFilters,
    campaigns_for_choice,
    lead_bookings,
    lead_calls,
    lead_get,
    lead_timezones,
    leads_filtered,
    leads_for_export,
)
from campaigns.services import (
    CampaignTransitionError,
    lead_custom_field_set,
    lead_do_not_call_mark,
    lead_update,
    leads_assign_campaign,
)
from voiceops.roles import role_required

READ = "campaigns.view_lead"
WRITE = "campaigns.change_lead"
PAGE_SIZE = 50
EXPORT_COLUMNS = [
    "id",
    "phone",
    "first_name",
    "last_name",
    "timezone",
    "status",
    "campaign",
    "attempts",
    "last_outcome",
    "consent",
    "do_not_call",
    "custom_fields",
    "created_at",
]


def _campaign_choices() -> list[tuple[int, str]]:
    return [(c.pk, c.name) for c in campaigns_for_choice()]


def _filter_form(request: HttpRequest, campaigns: list[tuple[int, str]] | None = None) -> LeadFilterForm:
    return LeadFilterForm(
        request.GET or None,
        campaigns=_campaign_choices() if campaigns is None else campaigns,
        timezones=lead_timezones(),
    )


def _filters(form: LeadFilterForm) -> LeadFilters:
    data = form.cleaned_data if form.is_bound else {}
    return LeadFilters(
        q=data.get("q") or "",
        status=data.get("status") or "",
        campaign_id=data.get("campaign"),
        timezone=data.get("timezone") or "",
        field=data.get("field") or "",
        value=data.get("value") or "",
    )


@role_required(READ)
def lead_list(request: HttpRequest) -> HttpResponse:
    campaigns = _campaign_choices()
    form = _filter_form(request, campaigns)
    valid = not form.is_bound or form.is_valid()
    leads = leads_filtered(_filters(form)) if valid else Lead.objects.none()
    searching = bool(valid and form.is_bound and form.cleaned_data.get("q"))
    page = paginator_for(leads, PAGE_SIZE, searching=searching).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "campaigns": campaigns}
    template = "leads/_results.html" if getattr(request, "htmx", False) else "leads/list.html"
    return render(request, template, context, status=200 if valid else 400)


@role_required(READ)
def lead_export(request: HttpRequest) -> HttpResponse:
    """The filtered leads as CSV, streamed (100,000 leads never sit in memory at once)."""
    form = _filter_form(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(
            "Bad filter: " + "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()),
            status=400,
            content_type="text/plain",
        )

    class _Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(EXPORT_COLUMNS)
        for row in leads_for_export(_filters(form)):
            *head, custom, created = row
            yield writer.writerow([*head, json.dumps(custom or {}, sort_keys=True), created.isoformat()])

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    # role_required types its views as returning HttpResponse; a streamed one serves the same.
    return cast(HttpResponse, response)


def _lead_or_404(lead_id: int) -> Lead:
    lead = lead_get(lead_id=lead_id)
    if lead is None:
        raise Http404("No such lead.")
    return lead


def _detail_context(lead: Lead, **extra: Any) -> dict[str, Any]:
    return {
        "lead": lead,
        "calls": list(lead_calls(lead)),
        "bookings": list(lead_bookings(lead)),
        "custom_fields": sorted((lead.custom_fields or {}).items()),
        "edit_form": extra.pop("edit_form", None) or LeadEditForm(instance=lead),
        "field_form": extra.pop("field_form", None) or LeadCustomFieldForm(),
        **extra,
    }


@role_required(READ)
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _lead_or_404(lead_id)
    return render(request, "leads/detail.html", _detail_context(lead))


@role_required(READ, write=WRITE)
@require_POST
def lead_edit(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Either the lead's own fields (`first_name` ...) or one custom field (`key`, `value`), by the form posted."""
    lead = _lead_or_404(lead_id)
    if "key" in request.POST:
        field_form = LeadCustomFieldForm(request.POST)
        if field_form.is_valid():
            key, value = field_form.cleaned_data["key"], field_form.cleaned_data["value"]
            lead_custom_field_set(lead_id=lead.pk, field=key, value=value)
            audit_record(actor=request.user, verb=verbs.LEAD_EDITED, target=lead, summary=f"{key} = {value}"[:200])
            messages.success(request, f"Custom field {key} saved.")
            return redirect("console:lead-detail", lead_id=lead.pk)
        return render(request, "leads/detail.html", _detail_context(lead, field_form=field_form), status=400)
    edit_form = LeadEditForm(request.POST, instance=Lead.objects.get(pk=lead.pk))
    if edit_form.is_valid():
        # Against the stored values, not the posted text: "(415) 555-0101" for +14155550101 is no change.
        changes = {name: value for name, value in edit_form.cleaned_data.items() if value != getattr(lead, name)}
        try:
            updated = lead_update(lead_id=lead.pk, **changes)
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                edit_form.add_error(field if field in edit_form.fields else None, problems)
        else:
            changed = sorted(changes)
            data: dict[str, Any] = {"fields": changed}
            if "phone" in changes:  # the lead's identity: the log says which number it had and has now
                data["phone"] = {"from": lead.phone, "to": updated.phone}
            audit_record(
                actor=request.user,
                verb=verbs.LEAD_EDITED,
                target=lead,
                summary=", ".join(changed) or "no change",
                data=data,
            )
            messages.success(request, "Lead saved.")
            return redirect("console:lead-detail", lead_id=lead.pk)
    return render(request, "leads/detail.html", _detail_context(lead, edit_form=edit_form), status=400)


@role_required(READ, write=WRITE)
@require_POST
def lead_do_not_call(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _lead_or_404(lead_id)
    if lead.do_not_call:
        messages.info(request, "This lead is already do-not-call.")
    elif lead_do_not_call_mark(lead_id=lead.pk):
        audit_record(actor=request.user, verb=verbs.DO_NOT_CALL, target=lead, summary=lead.phone)
        messages.success(request, "Marked do-not-call: the dialer will never call this number again.")
    return redirect("console:lead-detail", lead_id=lead.pk)


@role_required(READ, write="campaigns.change_campaign")
@require_POST
def leads_assign(request: HttpRequest) -> HttpResponse:
    """Put every lead the list's filters select (the query string) into the chosen campaign."""
    form = _filter_form(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse("Bad filter.", status=400, content_type="text/plain")
    campaign_id = request.POST.get("campaign", "")
    campaign = Campaign.objects.filter(pk=int(campaign_id)).first() if campaign_id.isdigit() else None
    if campaign is None:
        messages.error(request, "Choose a campaign to add the leads to.")
        return redirect(f"{reverse('console:leads')}?{request.GET.urlencode()}")
    try:
        moved = leads_assign_campaign(leads=leads_filtered(_filters(form)), campaign_id=campaign.pk)
    except CampaignTransitionError as exc:
        messages.error(request, str(exc))
        return redirect(f"{reverse('console:leads')}?{request.GET.urlencode()}")
    audit_record(
        actor=request.user,
        verb=verbs.LEADS_ADDED,
        target=campaign,
        summary=f"{moved} lead{'s' if moved != 1 else ''} from the leads list",
        data={"filters": request.GET.dict(), "count": moved},
    )
    messages.success(request, f"{moved} lead{'s' if moved != 1 else ''} added to {campaign.name}.")
    return redirect("console:campaign-detail", campaign_id=campaign.pk)
