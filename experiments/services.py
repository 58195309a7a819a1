"""Writes for experiments: setup, start, stop and promotion, and sticky weighted assignment of leads.

Every path (console, admin, API, the dialer) goes through these functions, so
the rules live here once: variants are published versions of the
experiment's own agent (`variant_version_problem`, also behind
Variant.clean), the status only moves draft -> running -> stopped under a row
lock, and a lead keeps the first variant it was dealt.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.text import slugify
from phonenumbers import timezone as phone_timezone

from agents.models import Agent, AgentVersion, PhoneNumber
from agents.services import agent_version_rollback
from calls.models import Call
from campaigns.models import Campaign, Lead
from experiments.models import Assignment, Experiment, Variant, variant_version_problem
from experiments.selectors import (
    experiment_control,
    person_answered,
    running_experiment_for_number,
    success_dispositions,
)


class ExperimentHasNoVariants(Exception):
    """A campaign runs an experiment that has no variant to assign."""


class ExperimentTransitionError(Exception):
    """A lifecycle step that does not apply to the experiment as it stands."""


# --- assignment -----------------------------------------------------------------------------------

_FNV_OFFSET_BASIS = 0x811C9DC5
_FNV_PRIME = 0x01000193
BUCKETS = 10_000


def fnv1a_32(data: bytes) -> int:
    """The 32-bit FNV-1a hash: xor each byte in, then multiply by the FNV prime, modulo 2**32."""
    value = _FNV_OFFSET_BASIS
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


def bucket_of(*, key: str, lead_id: int) -> int:
    """The lead's bucket in 0 .. BUCKETS-1 for the experiment keyed `key`.

    Modelled on GrowthBook's "v2" hash: FNV-1a over key and id, then FNV-1a
    again over the decimal text of that hash, modulo 10,000. The second round
    spreads ids that differ in their last digit (consecutive lead ids), which a
    single FNV round leaves correlated in the low bits. Unlike GrowthBook, a
    ":" separates key and id, so "exp-1" with lead 23 and "exp-12" with lead 3
    never share a hash (and so never a bucket) by accident.
    """
    inner = fnv1a_32(f"{key}:{lead_id}".encode())
    return fnv1a_32(str(inner).encode()) % BUCKETS


def variant_pick(*, variants: Sequence[Variant], key: str, lead_id: int) -> Variant:
    """Deterministic weighted choice: the same lead always lands on the same variant.

    The variants, in creation order, cut the buckets into consecutive ranges
    in proportion to their weights; the lead takes the range its bucket falls
    in. A stable hash (not Python's salted hash()) so that a lost assignment
    row, or another process, computes the same answer. Integer comparisons
    (bucket * total < cumulative weight * BUCKETS) keep the range edges exact.
    """
    ordered = sorted(variants, key=lambda v: v.pk)
    total = sum(v.weight for v in ordered)
    point = bucket_of(key=key, lead_id=lead_id) * total
    cumulative = 0
    for variant in ordered:
        cumulative += variant.weight
        if point < cumulative * BUCKETS:
            return variant
    raise AssertionError("unreachable: bucket < BUCKETS")


def experiment_assignable(experiment: Experiment) -> bool:
    """Whether the dialer and inbound routing may assign leads to `experiment` and call them with a variant.

    Only a running experiment deals leads. A draft has not started (its
    campaigns wait for it); a stopped one is over: its campaigns were switched
    to the winner, or, stopped without one, wait for an operator's decision.
    """
    return experiment.status == Experiment.Status.RUNNING


# No savepoint: the dialer calls this inside its tick transaction, and one INSERT needs none.
@transaction.atomic(savepoint=False)
def assignments_get_or_create(*, experiment: Experiment, lead_ids: Iterable[int]) -> dict[int, Assignment]:
    """Each lead's variant in `experiment`, assigned on first use and never changed: at most four queries.

    The leads already assigned are read in one query, the variants in one, and
    the new assignments go in with one INSERT that skips conflicts. Another
    process may assign some of the same leads at the same time; whichever row
    committed first stands, so the new rows are read back rather than trusted
    from memory. Inserting in lead order keeps two such batches from
    deadlocking on each other's unique-index entries. The caller checks
    `experiment_assignable` first: this function does not look at the status.
    """
    wanted = sorted(set(lead_ids))
    if not wanted:
        return {}
    assigned = Assignment.objects.select_related("variant__agent_version").filter(experiment=experiment)
    found = {assignment.lead_id: assignment for assignment in assigned.filter(lead_id__in=wanted)}
    missing = [lead_id for lead_id in wanted if lead_id not in found]
    if not missing:
        return found
    variants = list(Variant.objects.filter(experiment=experiment))
    if not variants:
        raise ExperimentHasNoVariants(f"experiment {experiment.name!r} has no variants")
    Assignment.objects.bulk_create(
        [
            Assignment(
                experiment=experiment,
                variant=variant_pick(variants=variants, key=experiment.key, lead_id=lead_id),
                lead_id=lead_id,
            )
            for lead_id in missing
        ],
        ignore_conflicts=True,
    )
    found.update((assignment.lead_id, assignment) for assignment in assigned.filter(lead_id__in=missing))
    return found


# --- exposure and success, per lead ----------------------------------------------------------------

_UPDATE_CHUNK = 5_000


@transaction.atomic
def assignment_outcomes_update(*, since: datetime.datetime | None = None) -> int:
    """Mark each assignment exposed and succeeded from its lead's calls in its variant; returns rows looked at.

    With `since`, only leads with a call created or ended since then are
    looked at again (the analytics refresh passes its own watermark); a lead's
    figures are always recomputed from all its calls in the variant, so a
    disposition that changed later is followed both ways. The results then
    count exposed and successful leads from the assignments alone, instead of
    a distinct count over every call of the experiment.
    """
    calls = Call.objects.filter(variant__isnull=False, lead__isnull=False)
    if since is not None:
        recent = calls.filter(Q(created_at__gte=since) | Q(ended_at__gte=since)).values("lead_id")
        calls = calls.filter(lead_id__in=recent)
    rows = list(
        calls.values("variant_id", "lead_id", "disposition")
        .annotate(connected=Count("pk", filter=person_answered()))
        .order_by()
    )
    variants = Variant.objects.select_related("agent_version").filter(pk__in={row["variant_id"] for row in rows})
    successes = {variant.pk: set(success_dispositions(variant.agent_version)) for variant in variants}
    outcome: dict[tuple[int, int], tuple[bool, bool]] = {}
    for row in rows:
        key = (row["variant_id"], row["lead_id"])
        exposed, succeeded = outcome.get(key, (False, False))
        if row["connected"]:
            exposed = True
            succeeded = succeeded or row["disposition"] in successes.get(row["variant_id"], ())
        outcome[key] = (exposed, succeeded)
    by_class: dict[tuple[int, bool, bool], list[int]] = {}
    for (variant_id, lead_id), (exposed, succeeded) in outcome.items():
        by_class.setdefault((variant_id, exposed, succeeded), []).append(lead_id)
    for (variant_id, exposed, succeeded), lead_ids in by_class.items():
        for start in range(0, len(lead_ids), _UPDATE_CHUNK):
            Assignment.objects.filter(
                variant_id=variant_id, lead_id__in=lead_ids[start : start + _UPDATE_CHUNK]
            ).exclude(exposed=exposed, succeeded=succeeded).update(exposed=exposed, succeeded=succeeded)
    return len(outcome)


# --- inbound routing ------------------------------------------------------------------------------

# Custom field set on a lead created for an unknown inbound caller, so the
# analytics' "source" breakdown tells them from imported leads.
INBOUND_LEAD_SOURCE = "inbound"


@dataclass(frozen=True)
class InboundRoute:
    """What an inbound call to a number running an experiment answers with, and for whom."""

    lead: Lead
    variant: Variant
    agent_version: AgentVersion


def _caller_e164(raw: str) -> str | None:
    """The caller's number in E.164, or None when Twilio gave none usable ("anonymous", a client id)."""
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _caller_timezone(e164: str) -> str:
    # A lead needs a timezone (the dialer's calling window). One the number
    # names for sure, else the server's: this lead was not imported for dialing.
    zones = [z for z in phone_timezone.time_zones_for_number(phonenumbers.parse(e164)) if z != "Etc/Unknown"]
    return zones[0] if len(zones) == 1 else str(settings.TIME_ZONE)


def _lead_for_caller(e164: str) -> Lead:
    lead = Lead.objects.filter(phone=e164).first()
    if lead is not None:
        return lead
    try:
        # A savepoint: two calls from the same new number may race; the loser reads the winner's row.
        with transaction.atomic():
            return Lead.objects.create(
                phone=e164, timezone=_caller_timezone(e164), custom_fields={"source": INBOUND_LEAD_SOURCE}
            )
    except IntegrityError:
        return Lead.objects.get(phone=e164)


@transaction.atomic
def inbound_route(*, number_e164: str, caller: str) -> InboundRoute | None:
    """The variant an inbound caller gets when the number runs an experiment; None when it runs none.

    The caller is the lead with that phone number, or a new lead (source
    "inbound"); the lead's assignment is the same sticky, weighted one the
    dialer uses, so a lead called by a campaign and calling back hears the
    same version. A caller with no usable number (withheld) takes no part:
    None, and the number answers with its agent's live version as usual.
    """
    experiment = running_experiment_for_number(e164=number_e164)
    if experiment is None or not experiment_assignable(experiment):
        return None
    e164 = _caller_e164(caller)
    if e164 is None:
        return None
    lead = _lead_for_caller(e164)
    assignment = assignments_get_or_create(experiment=experiment, lead_ids=[lead.pk])[lead.pk]
    variant = assignment.variant
    return InboundRoute(lead=lead, variant=variant, agent_version=variant.agent_version)


# --- setup ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantSpec:
    """One variant of a new experiment, as the console, admin or API describe it."""

    name: str
    agent_version: AgentVersion
    weight: int = 1
    is_control: bool = False


def _unique_key(name: str) -> str:
    base = (slugify(name) or "experiment")[:50]
    key, n = base, 1
    while Experiment.objects.filter(key=key).exists():
        n += 1
        key = f"{base}-{n}"
    return key


@transaction.atomic
def experiment_create(
    *,
    name: str,
    agent: Agent,
    variants: Sequence[VariantSpec],
    hypothesis: str = "",
    campaigns: Iterable[Campaign] = (),
    phone_numbers: Iterable[PhoneNumber] = (),
    created_by: Any = None,
) -> Experiment:
    """A draft experiment with its variants, the draft campaigns that will run it, and its inbound numbers.

    With no variant marked as control, the first one is. Every problem is
    reported at once as a ValidationError keyed by field ("variants",
    "campaigns", "phone_numbers", or the experiment's own fields).
    """
    experiment = Experiment(name=name, agent=agent, hypothesis=hypothesis, created_by=created_by)
    experiment.key = _unique_key(name)
    errors: dict[str, list[str]] = {}
    try:
        experiment.full_clean(exclude=["key"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    problems = [
        f"{spec.name or 'unnamed'}: {problem}"
        for spec in variants
        if (problem := variant_version_problem(experiment=experiment, agent_version=spec.agent_version))
    ]
    names = [spec.name.strip() for spec in variants]
    if len(variants) < 2:
        problems.append("An experiment needs at least two variants.")
    if any(not n for n in names) or len(set(names)) != len(names):
        problems.append("Each variant needs a name of its own.")
    if any(spec.weight < 1 for spec in variants):
        problems.append("Weights are whole numbers of at least 1.")
    if sum(spec.is_control for spec in variants) > 1:
        problems.append("Only one variant can be the control.")
    if problems:
        errors["variants"] = problems
    campaigns = list(campaigns)
    campaign_problems = [problem for campaign in campaigns if (problem := _campaign_problem(campaign, agent))]
    if campaign_problems:
        errors["campaigns"] = campaign_problems
    phone_numbers = list(phone_numbers)
    number_problems = [problem for number in phone_numbers if (problem := _number_problem(number, agent))]
    if number_problems:
        errors["phone_numbers"] = number_problems
    if errors:
        raise ValidationError(errors)

    experiment.save()
    has_control = any(spec.is_control for spec in variants)
    for index, spec in enumerate(variants):
        variant = Variant(
            experiment=experiment,
            name=spec.name.strip(),
            agent_version=spec.agent_version,
            weight=spec.weight,
            is_control=spec.is_control or (not has_control and index == 0),
        )
        variant.full_clean()
        variant.save()
    if campaigns:
        # No campaigns service switches what a campaign runs; this is the one
        # write. Only drafts (nothing dialed yet, _campaign_problem) and under
        # their row locks, so a campaign started meanwhile is not switched.
        locked = Campaign.objects.select_for_update().filter(pk__in=[c.pk for c in campaigns])
        switched = locked.filter(status=Campaign.Status.DRAFT).update(
            experiment=experiment, agent_version=None, updated_at=timezone.now()
        )
        if switched != len(campaigns):
            raise ValidationError({"campaigns": ["A chosen campaign is no longer a draft; choose again."]})
    if phone_numbers:
        experiment.phone_numbers.set(phone_numbers)
    return experiment


def _campaign_problem(campaign: Campaign, agent: Agent) -> str:
    if campaign.status != Campaign.Status.DRAFT:
        return f"{campaign}: only a draft campaign (nothing dialed yet) can run a new experiment."
    if campaign.experiment_id is not None:
        return f"{campaign}: already runs an experiment."
    version = campaign.agent_version
    if version is not None and version.agent_id != agent.pk:
        return f"{campaign}: runs another agent."
    return ""


def _number_problem(number: PhoneNumber, agent: Agent) -> str:
    if number.agent_id != agent.pk:
        return f"{number} is answered by another agent."
    return ""


@transaction.atomic
def variant_weight_set(*, variant: Variant, weight: int) -> Variant:
    """Change a variant's weight: leads assigned from now on follow it; assigned leads keep their variant."""
    Experiment.objects.select_for_update().get(pk=variant.experiment_id)
    locked = Variant.objects.select_related("experiment", "agent_version").get(pk=variant.pk)
    locked.weight = weight
    locked.full_clean()
    locked.save(update_fields=["weight"])
    return locked


# --- lifecycle ------------------------------------------------------------------------------------


@transaction.atomic
def experiment_start(*, experiment: Experiment, user: Any = None) -> Experiment:
    """Draft -> running: from now on the dialer and inbound routing deal its leads.

    Checked again here, whatever path set the experiment up: at least two
    variants, each a published version of the experiment's agent, one control
    (the first variant, when none is marked), and inbound numbers answered by
    its agent and in no other running experiment.
    """
    locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if locked.status != Experiment.Status.DRAFT:
        raise ExperimentTransitionError(f"cannot start an experiment that is {locked.status}")
    variants = list(locked.variants.select_related("agent_version").order_by("pk"))
    problems = [
        f"{variant.name}: {problem}"
        for variant in variants
        if (problem := variant_version_problem(experiment=locked, agent_version=variant.agent_version))
    ]
    if len(variants) < 2:
        problems.append("An experiment needs at least two variants.")
    for number in locked.phone_numbers.all():
        if problem := _number_problem(number, locked.agent):
            problems.append(problem)
        elif number.experiments.filter(status=Experiment.Status.RUNNING).exclude(pk=locked.pk).exists():
            problems.append(f"{number} already takes part in another running experiment.")
    if problems:
        raise ValidationError(problems)
    control = experiment_control(variants)
    if control is not None and not control.is_control:
        Variant.objects.filter(pk=control.pk).update(is_control=True)
    now = timezone.now()
    locked.status = Experiment.Status.RUNNING
    locked.started_at = now
    locked.started_by = user
    locked.weights_changed_at = now
    locked.save(update_fields=["status", "started_at", "started_by", "weights_changed_at"])
    experiment.refresh_from_db()
    return experiment


@transaction.atomic
def experiment_stop(*, experiment: Experiment, winner: Variant | None = None, user: Any = None) -> Experiment:
    """Running -> stopped, promoting `winner` when given; who and when are recorded.

    Promotion switches the experiment's campaigns that can still dial (draft,
    running, paused) to the winner's version; finished campaigns keep their
    link to the experiment as the record of what they ran. When the
    experiment ran on inbound numbers and the winner is not already the
    agent's live version, its configuration is published as the new live
    version (the agents' own service), since a number answers with that.
    """
    locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if locked.status != Experiment.Status.RUNNING:
        raise ExperimentTransitionError(f"cannot stop an experiment that is {locked.status}")
    if winner is not None and winner.experiment_id != locked.pk:
        raise ValidationError({"winner": f"{winner} is not a variant of {locked}."})
    now = timezone.now()
    locked.status = Experiment.Status.STOPPED
    locked.stopped_at = now
    locked.stopped_by = user
    locked.winner = winner
    locked.save(update_fields=["status", "stopped_at", "stopped_by", "winner"])
    if winner is not None:
        version = AgentVersion.objects.get(pk=winner.agent_version_id)
        # No campaigns service switches a campaign's version: one UPDATE here,
        # under the experiment's lock (the check constraint wants the version
        # and the experiment swapped together).
        Campaign.objects.filter(
            experiment=locked,
            status__in=[Campaign.Status.DRAFT, Campaign.Status.RUNNING, Campaign.Status.PAUSED],
        ).update(experiment=None, agent_version=version, updated_at=now)
        live = locked.agent.live_version
        if locked.phone_numbers.exists() and (live is None or live.pk != version.pk):
            agent_version_rollback(version=version, notes=f"Winner of experiment {locked.name}: {winner.name}")
    experiment.refresh_from_db()
    return experiment
