"""Reads for campaigns, their leads and lead imports."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.core.cache import cache
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from calendars.models import Appointment
from calls.dashboard import success_sets
from calls.models import Call
from campaigns.models import Campaign, Lead, LeadImport

# Leads the dialer may still call (the partial index lead_dialable_idx covers these).
DIALABLE = (Lead.Status.NEW, Lead.Status.RETRY, Lead.Status.CALLBACK)


def _count_per_campaign(rows: QuerySet[Any]) -> Coalesce:
    return Coalesce(Subquery(rows.order_by().values("campaign").annotate(n=Count("pk")).values("n")), 0)


def campaigns_overview() -> QuerySet[Campaign]:
    # Live calls counted in a subquery (the status index): a join would multiply the campaign's rows.
    # How many leads a campaign has is part of its progress (campaigns_progress, cached per poll).
    return (
        Campaign.objects.select_related("agent_version__agent", "experiment")
        .annotate(
            live_calls=_count_per_campaign(Call.objects.filter(campaign=OuterRef("pk"), status__in=Call.LIVE_STATUSES)),
        )
        .order_by("-created_at")
    )


def campaign_lead_counts(campaign: Campaign) -> dict[str, int]:
    rows = Lead.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id"))
    return {str(status): n for status, n in rows}


def campaign_outcome_counts(campaign: Campaign) -> dict[str, int]:
    rows = Call.objects.filter(campaign=campaign, outcome_applied=True).values_list("outcome").annotate(n=Count("id"))
    return {str(outcome): n for outcome, n in rows}


def campaign_attempts(campaign: Campaign) -> QuerySet[Call]:
    """Every attempt of the campaign, newest first."""
    return Call.objects.filter(campaign=campaign).order_by("-created_at")


def campaigns_recent(*, limit: int = 10) -> QuerySet[Campaign]:
    return Campaign.objects.order_by("-created_at")[:limit]


def campaign_recent_attempts(campaign: Campaign, *, limit: int = 25) -> QuerySet[Call]:
    return Call.objects.filter(campaign=campaign).select_related("lead").order_by("-created_at")[:limit]


def lead_persona(phone: str) -> str | None:
    """The simulator persona a lead asks for (custom_fields["persona"]), for the sandbox's carrier."""
    lead = Lead.objects.filter(phone=phone).only("custom_fields").first()
    persona = (lead.custom_fields or {}).get("persona") if lead else None
    return str(persona) if persona else None


def lead_imports_recent(*, limit: int = 10) -> QuerySet[LeadImport]:
    return LeadImport.objects.select_related("campaign").defer("content").order_by("-created_at")[:limit]


# --- campaign progress --------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignProgress:
    """Where a campaign stands: attempts dialed, connected and succeeded; leads still to call or to retry."""

    leads: int = 0
    dialed: int = 0
    connected: int = 0
    succeeded: int = 0
    remaining: int = 0
    waiting_retry: int = 0
    dialing: int = 0
    lead_statuses: tuple[tuple[str, int], ...] = ()  # leads by status (its label)
    outcomes: tuple[tuple[str, int], ...] = ()  # settled attempts by the dialer's outcome

    @property
    def done_leads(self) -> int:
        return max(0, self.leads - self.remaining - self.dialing)

    @property
    def percent(self) -> int:
        return 0 if not self.leads else min(100, round(100 * self.done_leads / self.leads))


# Progress is counted over every lead and call of a campaign (tens of thousands of rows, 100-200 ms on
# the 2-core machine with 100,000 of each); the pages that show it poll every 5 s, so each process
# counts a campaign at most once per PROGRESS_CACHE_S and every poller in between reads that.
PROGRESS_CACHE_S = 5.0
# The console socket pushes a campaign's progress at most once per this interval (calls.consumers), counted
# no older than this; the panel a push makes the page fetch reads that same count.
LIVE_PROGRESS_INTERVAL_S = 1.0


def campaign_names(campaign_ids: list[int] | None) -> dict[int, str]:
    """The given campaigns that still exist (None: every campaign, as the campaign list shows them), by id."""
    campaigns = Campaign.objects.all() if campaign_ids is None else Campaign.objects.filter(pk__in=campaign_ids)
    return dict(campaigns.order_by("pk").values_list("pk", "name"))


def campaigns_progress(campaign_ids: list[int], *, max_age_s: float | None = None) -> dict[int, CampaignProgress]:
    """Each campaign's progress, at most PROGRESS_CACHE_S old (the counting below, cached per process).

    `max_age_s` asks for fresher figures (the console socket's live push,
    calls.consumers): a cached count older than that is counted again, and
    the new count serves every page and socket after it.
    """
    ttl = PROGRESS_CACHE_S
    if ttl <= 0:
        return campaigns_progress_counted(campaign_ids)
    oldest = time.time() - (ttl if max_age_s is None else min(max_age_s, ttl))
    keys = {pk: f"campaign-progress:{pk}" for pk in campaign_ids}
    found = cache.get_many(list(keys.values()))
    result = {}
    for pk, key in keys.items():
        entry = found.get(key)
        if isinstance(entry, tuple) and entry[0] >= oldest:
            result[pk] = entry[1]
    missing = [pk for pk in campaign_ids if pk not in result]
    if missing:
        counted_at = time.time()
        counted = campaigns_progress_counted(missing)
        cache.set_many({keys[pk]: (counted_at, progress) for pk, progress in counted.items()}, timeout=ttl)
        result.update(counted)
    return result


def campaigns_progress_counted(campaign_ids: list[int]) -> dict[int, CampaignProgress]:
    """Each campaign's progress: three grouped queries, however many campaigns, leads and calls.

    Succeeded counts connected calls whose disposition is a success for the
    version that call ran (an experiment's campaign runs several).
    """
    if not campaign_ids:
        return {}
    leads: dict[int, dict[str, int]] = {pk: {} for pk in campaign_ids}
    rows = (
        Lead.objects.filter(campaign_id__in=campaign_ids)
        .values_list("campaign_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for campaign_id, status, n in rows:
        leads[campaign_id][status] = n
    # One pass over the campaigns' calls: attempts and connected ones per (campaign, version, disposition).
    # Groups are few (versions x dispositions x outcomes), whatever the number of calls.
    grouped = (
        Call.objects.filter(campaign_id__in=campaign_ids)
        .values_list("campaign_id", "agent_version_id", "disposition", "outcome", "outcome_applied")
        .annotate(n=Count("id"), connected=Count("id", filter=Q(answered_at__isnull=False)))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = {pk: {"dialed": 0, "connected": 0} for pk in campaign_ids}
    outcomes: dict[int, dict[str, int]] = {pk: {} for pk in campaign_ids}
    by_campaign: dict[int, list[tuple[int, str, int]]] = {pk: [] for pk in campaign_ids}
    for campaign_id, version_id, disposition, outcome, applied, n, connected in grouped:
        counts[campaign_id]["dialed"] += n
        counts[campaign_id]["connected"] += connected
        if applied:
            outcomes[campaign_id][outcome] = outcomes[campaign_id].get(outcome, 0) + n
        if disposition and connected:
            by_campaign[campaign_id].append((version_id, disposition, connected))
    wins = successes_by_group(by_campaign)
    result = {}
    for pk in campaign_ids:
        statuses = leads[pk]
        row = counts[pk]
        result[pk] = CampaignProgress(
            leads=sum(statuses.values()),
            dialed=row["dialed"],
            connected=row["connected"],
            succeeded=wins.get(pk, 0),
            remaining=sum(statuses.get(status, 0) for status in DIALABLE),
            waiting_retry=statuses.get(Lead.Status.RETRY, 0),
            dialing=statuses.get(Lead.Status.DIALING, 0),
            lead_statuses=tuple(
                (Lead.Status(status).label if status in Lead.Status.values else status, n)
                for status, n in sorted(statuses.items())
            ),
            outcomes=tuple(sorted(outcomes[pk].items())),
        )
    return result


def successes_by_group(groups: dict[int, list[tuple[int, str, int]]]) -> dict[int, int]:
    """Successes per group from (version id, disposition, count) rows; the versions are read once for all."""
    flat = [row for rows in groups.values() for row in rows]
    if not flat:
        return {}
    wins = success_sets({version_id for version_id, _, _ in flat})
    return {
        key: sum(n for version_id, disposition, n in rows if disposition in wins.get(version_id, ()))
        for key, rows in groups.items()
    }


def campaigns_running() -> QuerySet[Campaign]:
    return (
        Campaign.objects.filter(status=Campaign.Status.RUNNING)
        .select_related("agent_version__agent", "experiment")
        .order_by("name")
    )


def campaigns_paused_with_reason() -> QuerySet[Campaign]:
    """Campaigns the dialer paused (its circuit breaker writes why), newest change first."""
    return Campaign.objects.filter(status=Campaign.Status.PAUSED).exclude(status_reason="").order_by("-updated_at")


def campaigns_for_choice() -> QuerySet[Campaign]:
    return Campaign.objects.order_by("name").only("id", "name")


# --- leads --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadFilters:
    q: str = ""
    status: str = ""
    campaign_id: int | None = None
    timezone: str = ""
    field: str = ""
    value: str = ""


def leads_filtered(filters: LeadFilters) -> QuerySet[Lead]:
    """Leads matching the console's search (name or phone) and filters, newest first."""
    # Newest first by id (the primary key index), not created_at: no sort of every matching lead.
    leads = Lead.objects.select_related("campaign").order_by("-id")
    text = filters.q.strip()
    if text:
        leads = leads.filter(_lead_search(text))
    if filters.status:
        leads = leads.filter(status=filters.status)
    if filters.campaign_id is not None:
        leads = leads.filter(campaign_id=filters.campaign_id)
    if filters.timezone:
        leads = leads.filter(timezone=filters.timezone)
    if filters.field:
        # A key lookup: the key is a parameter of the JSON operator, never spliced into SQL (the form
        # refuses "__", which would read as a path). Imported custom fields are text, compared as such.
        leads = leads.filter(**{f"custom_fields__{filters.field}": filters.value})
    return leads


def _lead_search(text: str) -> Q:
    """A name (any part of the first or last name, or "first last"), or a phone number.

    Text without letters is a number: a whole one (national or E.164) is looked up exactly on the
    phone's unique index; a part of one matches anywhere in the number.
    """
    if not any(ch.isalpha() for ch in text):
        digits = "".join(ch for ch in text if ch.isdigit())
        if len(digits) >= 10:
            try:
                parsed = phonenumbers.parse(text, "US")
            except phonenumbers.NumberParseException:
                parsed = None
            if parsed is not None and phonenumbers.is_valid_number(parsed):
                return Q(phone=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
        return Q(phone__contains=digits) if digits else Q(pk__in=[])
    match = Q(first_name__icontains=text) | Q(last_name__icontains=text)
    parts = text.split()
    if len(parts) >= 2:
        match |= Q(first_name__icontains=parts[0], last_name__icontains=" ".join(parts[1:]))
    return match


def lead_timezones() -> list[str]:
    """The timezones leads are in (an index-only scan of lead_timezone_idx)."""
    return list(Lead.objects.order_by("timezone").values_list("timezone", flat=True).distinct())


def lead_get(*, lead_id: int) -> Lead | None:
    return Lead.objects.select_related("campaign").filter(pk=lead_id).first()


def lead_calls(lead: Lead, *, limit: int = 50) -> QuerySet[Call]:
    """The lead's calls (every attempt), newest first."""
    return (
        Call.objects.filter(lead=lead)
        .select_related("agent_version__agent", "campaign")
        .order_by("-created_at")[:limit]
    )


def lead_bookings(lead: Lead) -> QuerySet[Appointment]:
    return Appointment.objects.filter(lead=lead).select_related("calendar").order_by("-start")


def leads_for_export(filters: LeadFilters) -> Any:
    """The filtered leads as value rows, streamed in chunks (an export of 100,000 leads holds no model objects)."""
    return (
        leads_filtered(filters)
        .values_list(
            "id",
            "phone",
            "first_name",
            "last_name",
            "timezone",
            "status",
            "campaign__name",
            "attempts",
            "last_outcome",
            "consent",
            "do_not_call",
            "custom_fields",
            "created_at",
        )
        .iterator(chunk_size=2000)
    )
