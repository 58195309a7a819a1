"""The outbound dialer: claim eligible leads, place each attempt once, settle outcomes.

The tick (a Celery beat task, or `manage.py run_dialer` on the embedded
defaults) runs under one transaction-scoped advisory lock, so two ticks at
once are serialised and the global and per-campaign caps are counted against
committed rows only. Leads are claimed with `SELECT ... FOR UPDATE SKIP
LOCKED`, so a lead another transaction holds (a do-not-call write, an
outcome being applied) is simply left for the next tick.

Every attempt gets its Call row (status queued) in the same transaction that
claims the lead; `dial_attempt` then marks the row dial-started and commits
before it talks to the carrier, so a retried or duplicated task can never ring
the same attempt twice (at most once; a lost dial is reported as failed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import structlog
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_time

from agents.brains.config import ConfigError, load_config
from audit import verbs
from audit.services import audit_record
from calls.models import Call
from calls.services import call_set_status
from campaigns.models import Campaign, Lead
from campaigns.retry import RETRYABLE_OUTCOMES, retry_rule_for
from campaigns.windows import Window, open_zones
from experiments.services import assignments_get_or_create, experiment_assignable
from telephony.bulk_sql import rows_update
from telephony.rest import CarrierTimeout, twilio_create_call
from voiceops import metrics
from voiceops.realtime import broadcast_campaigns_changed
from webhooks.events import campaign_event_data, lead_event_data
from webhooks.services import webhook_event_emit

log = structlog.get_logger(__name__)

DIALABLE_LEAD_STATUSES = (Lead.Status.NEW, Lead.Status.RETRY, Lead.Status.CALLBACK)
# Dispositions the live engine writes that end the lead's campaign for good.
FINAL_DISPOSITIONS_DNC = frozenset({"do_not_call", "dnc"})
CALLBACK_DISPOSITIONS = frozenset({"callback", "call_later"})
MACHINE_ANSWERS = ("machine", "fax")
_TICK_LOCK_KEY = 0x766F6963_6469616C & 0x7FFFFFFFFFFFFFFF  # "voicdial"
PACING_SPAN = timedelta(seconds=60)  # calls_per_minute counts calls created in this rolling span


def _as_time(value: time | str) -> time:
    if isinstance(value, time):
        return value
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(f"not a time: {value!r}")
    return parsed


def campaign_window(campaign: Campaign) -> Window:
    return Window.build(
        start=_as_time(campaign.window_start),
        end=_as_time(campaign.window_end),
        days=list(campaign.days or []),
        start_date=campaign.start_date,
        end_date=campaign.end_date,
    )


@dataclass
class TickResult:
    call_ids: list[uuid.UUID]
    settled: int = 0
    skipped_locked: bool = False


def _tick_lock() -> None:
    """Serialise ticks across processes (PostgreSQL); SQLite serialises writers already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TICK_LOCK_KEY])


def _live_outbound() -> Any:
    return Call.objects.filter(direction=Call.Direction.OUTBOUND, status__in=Call.LIVE_STATUSES)


def active_calls_count(*, campaign_id: int | None = None) -> int:
    qs = _live_outbound()
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    return int(qs.count())


def _count_by_campaign(qs: Any) -> dict[int, int]:
    # order_by() drops Call's default ordering, which would otherwise join the GROUP BY.
    return dict(qs.values("campaign_id").annotate(n=Count("pk")).order_by().values_list("campaign_id", "n"))


def live_calls_by_campaign(campaign_ids: Iterable[int]) -> dict[int, int]:
    """Live outbound calls per campaign, in one grouped count (campaigns with none are absent)."""
    return _count_by_campaign(_live_outbound().filter(campaign_id__in=list(campaign_ids)))


def calls_placed_by_campaign(campaign_ids: Iterable[int], *, since: datetime) -> dict[int, int]:
    """Calls created after `since` per campaign, in one grouped count (call_campaign_created_idx)."""
    return _count_by_campaign(Call.objects.filter(campaign_id__in=list(campaign_ids), created_at__gt=since))


def claimable_leads(campaign: Campaign, *, now: datetime, zones: list[str]) -> Any:
    """The claim query (a queryset; the caller slices and locks it)."""
    qs = Lead.objects.filter(
        campaign=campaign,
        status__in=DIALABLE_LEAD_STATUSES,
        do_not_call=False,
        timezone__in=zones,
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    if campaign.require_consent:
        qs = qs.filter(consent=True)
    # The same order as lead_dialable_idx, so the scan stops after one batch.
    return qs.order_by(F("next_attempt_at").asc(nulls_first=True), "id")


def _agent_versions_for(campaign: Campaign, lead_ids: list[int]) -> dict[int, tuple[int, int | None]]:
    """(agent version, variant) per lead: the campaign's version, or each lead's sticky variant."""
    if campaign.experiment_id is None:
        assert campaign.agent_version_id is not None  # the check constraint guarantees it
        return {lead_id: (campaign.agent_version_id, None) for lead_id in lead_ids}
    assert campaign.experiment is not None
    assignments = assignments_get_or_create(experiment=campaign.experiment, lead_ids=lead_ids)
    return {
        lead_id: (assignment.variant.agent_version_id, assignment.variant_id)
        for lead_id, assignment in assignments.items()
    }


def campaign_room(campaign: Campaign, *, live_calls: int, placed_last_minute: int) -> int:
    """How many new attempts the campaign's own cap and pacing allow, given its current counts."""
    concurrent_room = campaign.max_concurrent - live_calls
    pacing_room = campaign.calls_per_minute - placed_last_minute
    return max(0, min(concurrent_room, pacing_room))


def dialer_tick(*, now: datetime | None = None, dispatch: bool = True) -> TickResult:
    """One pass of the dialer; returns the calls it created.

    Their dial tasks are enqueued on commit unless `dispatch` is off (tests of
    the claim alone; the stale-dial sweep would enqueue them later).

    The per-campaign counts are taken once, under the tick lock: only a tick
    creates campaign calls, so no count can grow behind this one's back, and
    each campaign is visited once, so its own new calls never need recounting.
    """
    now = now or timezone.now()
    settled = settle_pending_outcomes(now=now)
    requeue_lost_dials(now=now)
    created: list[uuid.UUID] = []
    with transaction.atomic():
        _tick_lock()
        global_room = settings.DIALER_GLOBAL_MAX_CONCURRENT - active_calls_count()
        batch = settings.DIALER_BATCH_SIZE
        campaigns = list(
            Campaign.objects.filter(status=Campaign.Status.RUNNING)
            .select_related("experiment")
            .annotate(
                # One index probe per campaign (lead_dialer_idx), inside this query.
                has_leads=Exists(
                    Lead.objects.filter(
                        campaign=OuterRef("pk"), status__in=(*DIALABLE_LEAD_STATUSES, Lead.Status.DIALING)
                    )
                )
            )
            .order_by("id")
        )
        campaign_ids = [campaign.pk for campaign in campaigns]
        live = live_calls_by_campaign(campaign_ids)
        placed = calls_placed_by_campaign(campaign_ids, since=now - PACING_SPAN)
        zones_by_window: dict[Window, list[str]] = {}  # campaigns often share their calling hours
        for campaign in campaigns:
            if global_room <= 0:
                break
            if campaign.experiment is not None and not experiment_assignable(campaign.experiment):
                continue  # a draft experiment has not started; one stopped without a winner waits for an operator
            window = campaign_window(campaign)
            live_calls = live.get(campaign.pk, 0)
            if campaign_finished(campaign, window=window, now=now, has_leads=campaign.has_leads, live_calls=live_calls):
                continue
            room = min(
                campaign_room(campaign, live_calls=live_calls, placed_last_minute=placed.get(campaign.pk, 0)),
                global_room,
                batch,
            )
            if room <= 0:
                continue
            if window not in zones_by_window:
                zones_by_window[window] = open_zones(window, now)
            zones = zones_by_window[window]
            if not zones:
                continue
            leads = list(
                claimable_leads(campaign, now=now, zones=zones).select_for_update(skip_locked=True, of=("self",))[:room]
            )
            created.extend(_attempts_create(campaign=campaign, leads=leads, now=now))
            global_room -= len(leads)
            if leads:
                log.info("dialer_claimed", campaign_id=campaign.pk, claimed=len(leads), room=room)
        ids = list(created)
        transaction.on_commit(lambda: metrics.DIALER_CLAIMS.inc(len(ids)))
        if dispatch:
            transaction.on_commit(lambda: _enqueue_dials(ids))
    return TickResult(call_ids=created, settled=settled)


def _enqueue_dials(call_ids: list[uuid.UUID]) -> None:
    from campaigns.tasks import place_call

    for call_id in call_ids:
        place_call.delay(str(call_id))


def _attempts_create(*, campaign: Campaign, leads: list[Lead], now: datetime) -> list[uuid.UUID]:
    """Mark the claimed leads dialing and create one queued Call per lead.

    Two statements per batch, plus at most four for an experiment's assignments.
    """
    if not leads:
        return []
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
        status=Lead.Status.DIALING, attempts=F("attempts") + 1, updated_at=now
    )
    versions = _agent_versions_for(campaign, [lead.pk for lead in leads])
    calls = []
    for lead in leads:
        version_id, variant_id = versions[lead.pk]
        calls.append(
            Call(
                direction=Call.Direction.OUTBOUND,
                status=Call.Status.QUEUED,
                agent_version_id=version_id,
                variant_id=variant_id,
                lead=lead,
                campaign=campaign,
                attempt_number=lead.attempts + 1,
                from_number=campaign.caller_id,
                to_number=lead.phone,
                variables=lead.template_variables(),
            )
        )
    Call.objects.bulk_create(calls)
    transaction.on_commit(lambda: broadcast_campaigns_changed([campaign.pk]))  # dialed, remaining
    return [call.pk for call in calls]


def campaign_finished(campaign: Campaign, *, window: Window, now: datetime, has_leads: bool, live_calls: int) -> bool:
    """Mark a running campaign completed once nothing is left to dial or in flight.

    `has_leads` (any lead dialable or dialing) and `live_calls` come from the
    tick's set-based reads, taken under its lock.
    """
    past_end = campaign.end_date is not None and (now - timedelta(days=1)).date() > campaign.end_date
    if not past_end and has_leads:
        return False
    if live_calls:
        return False
    reason = "End date passed." if past_end else "Every lead reached a final state."
    if Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.RUNNING).update(
        status=Campaign.Status.COMPLETED, status_reason=reason, updated_at=now
    ):
        data = campaign_event_data(campaign, reason=reason)
        transaction.on_commit(lambda: webhook_event_emit(event="campaign.finished", data=data))
    log.info("campaign_completed", campaign_id=campaign.pk)
    return True


# --- placing one attempt -------------------------------------------------------------------


def answer_url(call_id: uuid.UUID | str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/twilio/voice/?call={call_id}"


def status_callback_url(call_id: uuid.UUID | str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/twilio/status/?call={call_id}"


def dial_attempt(*, call_id: uuid.UUID | str) -> str:
    """Place one queued attempt through the carrier. Returns what happened, for logs and tests."""
    bound = log.bind(call_id=str(call_id))
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).select_related("campaign").get(pk=call_id)
        if call.dial_started_at is not None or call.twilio_call_sid or call.status != Call.Status.QUEUED:
            bound.info("dial_skipped_already_started")
            return "already-started"
        call.dial_started_at = timezone.now()
        call.save(update_fields=["dial_started_at"])
    # Committed: from here on this attempt is never dialed again, whatever happens.
    try:
        sid, refusal = _dial_under_lead_lock(call, bound)
    except SoftTimeLimitExceeded:
        # The task's soft time limit struck (a carrier trickling its answer
        # past the read timeout, a long wait for the lead's row). The
        # transaction rolled back, which let go of the lead's row lock; the
        # attempt fails now instead of waiting for the stale-dial sweep. Its
        # outcome needs the lead's row, which may be what held us up: the next
        # tick settles it (settle_pending_outcomes), within the hard limit or not.
        call_set_status(call_id=call.pk, status=Call.Status.FAILED, reason="dial ran out of time (outcome unknown)")
        bound.warning("dial_timed_out")
        return "failed"
    if not sid:
        call_outcome_apply(call_id=call.pk)
        return "refused" if refusal else "failed"
    return "dialed"


def _machine_detection(call: Call) -> str:
    """Twilio's AMD mode for the call's agent version (issue 14).

    A version that leaves a message needs the end of the machine's greeting
    (DetectMessageEnd reports machine_end_beep then); one that hangs up is
    served sooner by Enable's machine_start.
    """
    version = call.agent_version
    try:
        leaves_message = load_config(version.config if version is not None else {}).voicemail.action
    except ConfigError:  # published versions are validated; an older one still gets a call
        return "Enable"
    return "DetectMessageEnd" if leaves_message == "leave_message" else "Enable"


def _dial_under_lead_lock(call: Call, bound: Any) -> tuple[str, str]:
    """Check the lead and campaign and ask the carrier for the call, under the lead's row lock: (sid, refusal)."""
    with transaction.atomic():
        # The lead row lock makes the do-not-call check and the dial one step:
        # a mark_do_not_call write waits for us, or we see it.
        lead = Lead.objects.select_for_update().get(pk=call.lead_id) if call.lead_id else None
        campaign = call.campaign
        refusal = ""
        if lead is None:
            refusal = "lead deleted"
        elif lead.do_not_call:
            refusal = "lead is do-not-call"
        elif campaign is not None and campaign.require_consent and not lead.consent:
            refusal = "lead has no consent"
        elif campaign is not None:
            campaign.refresh_from_db(fields=["status"])
            if campaign.status != Campaign.Status.RUNNING:
                refusal = f"campaign is {campaign.status}"
        if refusal:
            call_set_status(call_id=call.pk, status=Call.Status.CANCELED, reason=f"not dialed: {refusal}")
            bound.info("dial_refused", reason=refusal)
            return "", refusal
        try:
            sid = twilio_create_call(
                to=call.to_number,
                from_=call.from_number,
                url=answer_url(call.pk),
                method="POST",
                status_callback=status_callback_url(call.pk),
                status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                machine_detection=_machine_detection(call),
                async_amd="true",
                async_amd_status_callback=status_callback_url(call.pk),
                async_amd_status_callback_method="POST",
            )
        except SoftTimeLimitExceeded:
            raise  # dial_attempt's, after this transaction has let go of the lead
        except CarrierTimeout as exc:
            # The request may have reached the carrier: failed, never dialed again.
            reason = f"carrier did not answer in time (outcome unknown): {exc}"
            call_set_status(call_id=call.pk, status=Call.Status.FAILED, reason=reason[:300])
            bound.warning("dial_timed_out", error=str(exc)[:300])
            return "", ""
        except Exception as exc:  # the carrier said no, or could not be reached
            call_set_status(call_id=call.pk, status=Call.Status.FAILED, reason=f"carrier refused: {exc}"[:300])
            bound.warning("dial_failed", error=str(exc)[:300])
            return "", ""
        # A status callback may have stored the SID already; same value.
        Call.objects.filter(pk=call.pk, twilio_call_sid__isnull=True).update(twilio_call_sid=sid)
        bound.info("dialed", call_sid=sid)
        return sid, ""


def requeue_lost_dials(*, now: datetime) -> None:
    """Queued attempts whose dial task vanished (a lost message) are re-enqueued; dial-started
    attempts that never got a SID are failed rather than risked twice."""
    stale = now - timedelta(seconds=settings.DIALER_STALE_DIAL_SECONDS)
    lost = Call.objects.filter(
        direction=Call.Direction.OUTBOUND, status=Call.Status.QUEUED, created_at__lt=stale, campaign__isnull=False
    )
    never_started = list(lost.filter(dial_started_at__isnull=True).values_list("pk", flat=True)[:100])
    if never_started:
        _enqueue_dials(never_started)
    for call_id in lost.filter(dial_started_at__lt=stale, twilio_call_sid__isnull=True).values_list("pk", flat=True)[
        :100
    ]:
        call_set_status(call_id=call_id, status=Call.Status.FAILED, reason="dial outcome unknown (no call SID)")
        call_outcome_apply(call_id=call_id)


# --- outcomes --------------------------------------------------------------------------------


def classify_outcome(call: Call) -> str:
    """What the attempt means for the lead: a retryable outcome, a disposition, or 'answered'."""
    if call.status == Call.Status.CANCELED:
        return "canceled"
    if call.status in (Call.Status.BUSY, Call.Status.NO_ANSWER, Call.Status.FAILED):
        return str(call.status)
    if call.answered_by.startswith(MACHINE_ANSWERS):
        return "voicemail"
    return call.disposition or "answered"


def settle_pending_outcomes(*, now: datetime) -> int:
    """Apply outcomes held back waiting for the engine's disposition, once it came or the grace ran out."""
    grace = timedelta(seconds=settings.DIALER_DISPOSITION_GRACE_SECONDS)
    pending = Call.objects.filter(outcome_applied=False, campaign__isnull=False, ended_at__isnull=False).filter(
        Q(ended_at__lte=now - grace) | ~Q(disposition="")
    )
    count = 0
    for call_id in pending.values_list("pk", flat=True)[:500]:
        count += int(call_outcome_apply(call_id=call_id, now=now, force=True))
    return count


def _callback_time(call: Call, lead: Lead, window: Window, now: datetime) -> datetime | None:
    # The agents' schedule_callback tool writes it to the call's variables and
    # to the lead's custom fields; either will do.
    raw = (call.variables or {}).get("callback_at") or (lead.custom_fields or {}).get("callback_at")
    wanted = parse_datetime(raw) if isinstance(raw, str) else None
    if wanted is not None and timezone.is_naive(wanted):
        # A wall-clock time the lead said ("tomorrow at 3"): their local time.
        from zoneinfo import ZoneInfo

        wanted = wanted.replace(tzinfo=ZoneInfo(lead.timezone))
    if wanted is None:
        wanted = now + timedelta(days=1)
    return window.next_open(lead.timezone, max(wanted, now))


@transaction.atomic
def call_outcome_apply(*, call_id: uuid.UUID | str, now: datetime | None = None, force: bool = False) -> bool:
    """Drive the lead from a final attempt: retry later, call back, or a final state.

    Idempotent (Call.outcome_applied under the call's row lock). An answered
    call with no disposition yet is held back (unless `force`): the engine
    writes the disposition when its socket closes, which can be just after
    Twilio's completed callback.
    """
    call = Call.objects.select_for_update(of=("self",)).select_related("campaign").get(pk=call_id)
    return bool(calls_outcome_apply_locked(calls=[call], now=now, force=force))


def calls_outcome_apply_locked(*, calls: Sequence[Call], now: datetime | None = None, force: bool = False) -> int:
    """call_outcome_apply for calls the caller holds locked (the status webhook's batches); returns how many applied.

    Their campaigns are read, and their leads locked, in one query each.
    """
    # Cheap checks first: an answered call usually waits for its disposition,
    # and the webhook should not load the campaign just to find that out.
    due = [
        (call, outcome)
        for call in calls
        if not call.outcome_applied and call.is_final and call.campaign_id is not None
        for outcome in [classify_outcome(call)]
        if outcome != "answered" or force
    ]
    if not due:
        return 0
    now = now or timezone.now()
    campaigns = Campaign.objects.in_bulk({call.campaign_id for call, _ in due})
    windows = {pk: campaign_window(campaign) for pk, campaign in campaigns.items()}
    lead_ids = sorted({call.lead_id for call, _ in due if call.lead_id is not None})
    leads = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk")}
    applied: list[Call] = []
    changed_leads: list[Lead] = []
    for call, outcome in due:
        campaign = campaigns.get(call.campaign_id)
        if campaign is None:
            continue
        call.campaign = campaign
        lead = leads.get(call.lead_id) if call.lead_id is not None else None
        if lead is not None and (lead.status == Lead.Status.DIALING or lead.do_not_call):
            _lead_apply(lead=lead, call=call, outcome=outcome, window=windows[campaign.pk], now=now)
            changed_leads.append(lead)
        call.outcome = outcome[:32]
        call.outcome_applied = True
        applied.append(call)
        log.info("call_outcome_applied", call_id=str(call.pk), outcome=outcome, lead_id=call.lead_id)
    rows_update(Lead, changed_leads, _LEAD_OUTCOME_FIELDS)
    if changed_leads:  # each lead the outcome moved is announced (lead.updated) once the batch commits
        payloads = [lead_event_data(lead) for lead in changed_leads]
        transaction.on_commit(lambda: _leads_updated_emit(payloads))
    rows_update(Call, applied, ["outcome", "outcome_applied"])
    settled = sorted({campaign.pk for campaign in campaigns.values()})
    transaction.on_commit(lambda: broadcast_campaigns_changed(settled))  # remaining, waiting to retry, outcomes
    for campaign_id in dict.fromkeys(call.campaign_id for call in applied if call.outcome == "failed"):
        breaker_check(campaign_id=campaign_id)  # type: ignore[arg-type]  # campaign_id is set on every due call
    return len(applied)


def _leads_updated_emit(payloads: list[dict[str, Any]]) -> None:
    for data in payloads:
        webhook_event_emit(event="lead.updated", data=data)


# What _lead_apply changes on a lead (it stamps updated_at itself: the bulk write applies no auto_now).
_LEAD_OUTCOME_FIELDS = ("last_outcome", "status", "next_attempt_at", "do_not_call", "updated_at")


def _lead_apply(*, lead: Lead, call: Call, outcome: str, window: Window, now: datetime) -> None:
    """Move the lead in memory after an attempt (the caller writes _LEAD_OUTCOME_FIELDS)."""
    lead.last_outcome = outcome[:32]
    lead.updated_at = timezone.now()
    if lead.do_not_call or outcome in FINAL_DISPOSITIONS_DNC:
        lead.do_not_call = True
        lead.status = Lead.Status.DO_NOT_CALL
        lead.next_attempt_at = None
    elif outcome == "canceled":
        # Refused before dialing (campaign paused, consent withdrawn): the lead
        # goes back in line; the claim query still filters what made it refuse.
        lead.status = Lead.Status.RETRY
        lead.next_attempt_at = now
    elif outcome in CALLBACK_DISPOSITIONS:
        at = _callback_time(call, lead, window, now)
        lead.status = Lead.Status.CALLBACK if at is not None else Lead.Status.EXHAUSTED
        lead.next_attempt_at = at
    elif outcome in RETRYABLE_OUTCOMES:
        rule = retry_rule_for(call.campaign.retry_rules if call.campaign else None, outcome)
        if lead.attempts >= rule.max_attempts:
            lead.status = Lead.Status.EXHAUSTED
            lead.next_attempt_at = None
        else:
            at = window.next_open(lead.timezone, now + timedelta(minutes=rule.delay_minutes))
            lead.status = Lead.Status.RETRY if at is not None else Lead.Status.EXHAUSTED
            lead.next_attempt_at = at
    else:
        lead.status = Lead.Status.COMPLETED
        lead.next_attempt_at = None


def breaker_check(*, campaign_id: int) -> bool:
    """Pause the campaign when most of its recent attempts failed; True when it tripped."""
    size = settings.DIALER_BREAKER_WINDOW
    ratio = settings.DIALER_BREAKER_RATIO
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if campaign.status != Campaign.Status.RUNNING:
        return False
    recent = list(
        Call.objects.filter(campaign_id=campaign_id, outcome_applied=True, created_at__gte=campaign.updated_at)
        .exclude(outcome="canceled")
        .order_by("-ended_at")
        .values_list("outcome", "failure_reason")[:size]
    )
    if len(recent) < size:
        return False
    failed = [reason for outcome, reason in recent if outcome == "failed"]
    if len(failed) / len(recent) < ratio:
        return False
    last = next((reason for reason in failed if reason), "no reason given")
    campaign.status = Campaign.Status.PAUSED
    campaign.status_reason = (
        f"Circuit breaker: {len(failed)} of the last {len(recent)} attempts failed (last: {last})."
    )[:300]
    campaign.save(update_fields=["status", "status_reason", "updated_at"])
    audit_record(actor=None, verb=verbs.PAUSED, target=campaign, summary=campaign.status_reason)
    log.warning("campaign_breaker_tripped", campaign_id=campaign_id, failed=len(failed), window=len(recent))
    return True
