"""Reads for experiments: lists for the console, and each experiment's results, counted in the database.

The unit is the lead. A lead is *exposed* once a person answered one of its
calls in the experiment (Twilio's answering-machine detection said "human",
or the lead called an inbound number and was answered). It is a *success*
when one of those calls ended with a disposition in its version's
`success_dispositions`. Counting leads, not calls, keeps a lead that was
called three times from weighing three times as much as one reached at once.

A fixed handful of grouped queries whatever the experiment's size: variants,
assignments (each carries whether its lead was exposed and succeeded, kept by
experiments.services.assignment_outcomes_update), and the per-variant call
and latency rollups analytics keeps; no query walks the experiment's calls
or turns. The statistics on top are in experiments.statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from agents.brains.config import load_config
from agents.models import Agent, AgentVersion, PhoneNumber
from analytics.histograms import histogram_percentile
from analytics.selectors import variant_figures
from calls.models import Call
from campaigns.models import Campaign
from experiments.models import Assignment, Experiment, Variant
from experiments.statistics import ArmCounts, ArmResult, experiment_statistics, significantly_higher

# Guardrails: a variant breaches one when it is worse than control by these
# rules. Latency: its p95 more than 20% above control's, once both have
# enough replies for a p95 to mean something. Rates (callers hanging up
# early, opt-outs): higher than control's with the pooled z-test's p < 0.05.
LATENCY_BREACH_RATIO = 1.2
LATENCY_MIN_TURNS = 20
EARLY_HANGUP_SECONDS = 10


def _count_per_experiment(model: type[Variant] | type[Assignment]) -> Coalesce:
    rows = model.objects.filter(experiment=OuterRef("pk")).order_by().values("experiment")
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)


def experiments_overview() -> QuerySet[Experiment]:
    # Counted in subqueries: joining variants and assignments together would
    # multiply the rows (every assignment once per variant) before counting.
    return Experiment.objects.select_related("agent", "winner").annotate(
        variant_count=_count_per_experiment(Variant), assigned=_count_per_experiment(Assignment)
    )


def experiment_detail(*, experiment_id: int) -> Experiment:
    return Experiment.objects.select_related("agent", "winner", "created_by", "started_by", "stopped_by").get(
        pk=experiment_id
    )


def experiment_by_key(*, key: str) -> Experiment | None:
    return Experiment.objects.filter(key=key).first()


def running_experiment_for_number(*, e164: str) -> Experiment | None:
    """The running experiment an inbound number takes part in (experiment_start allows at most one)."""
    return Experiment.objects.filter(status=Experiment.Status.RUNNING, phone_numbers__e164=e164).first()


# --- choices for the setup forms (the other apps' rows an experiment may use) ------------------------


def agents_with_published_versions() -> QuerySet[Agent]:
    return Agent.objects.filter(versions__published_at__isnull=False).distinct().order_by("name")


def published_versions() -> QuerySet[AgentVersion]:
    """Versions a variant may run (experiment_create checks they belong to the experiment's agent)."""
    return AgentVersion.objects.filter(published_at__isnull=False).select_related("agent").order_by("agent", "-number")


def draft_campaigns() -> QuerySet[Campaign]:
    """Campaigns that can still be given an experiment: drafts (nothing dialed) that run no experiment yet."""
    return Campaign.objects.filter(status=Campaign.Status.DRAFT, experiment__isnull=True).select_related(
        "agent_version__agent"
    )


def phone_numbers() -> QuerySet[PhoneNumber]:
    return PhoneNumber.objects.select_related("agent").order_by("e164")


def experiment_campaigns(experiment: Experiment) -> QuerySet[Campaign]:
    return Campaign.objects.filter(experiment=experiment).order_by("name")


def experiment_variants(experiment: Experiment) -> list[Variant]:
    return list(experiment.variants.select_related("agent_version").order_by("pk"))


def experiment_control(variants: Sequence[Variant]) -> Variant | None:
    """The baseline: the variant marked as control, or else the first one created."""
    marked = [variant for variant in variants if variant.is_control]
    if marked:
        return marked[0]
    return min(variants, key=lambda v: v.pk) if variants else None


def success_dispositions(version: AgentVersion) -> list[str]:
    """The version's success list (the configuration's default when it names none)."""
    try:
        return list(load_config(version.config).success_dispositions)
    except ValidationError:
        # Published versions were validated; an unreadable one counts no success rather than failing the page.
        raw = version.config.get("success_dispositions") if isinstance(version.config, dict) else None
        return [item for item in raw if isinstance(item, str)] if isinstance(raw, list) else []


def person_answered() -> Q:
    """Calls a person answered: outbound ones AMD called human, inbound ones the engine picked up."""
    return Q(answered_by="human") | Q(direction=Call.Direction.INBOUND, answered_at__isnull=False)


@dataclass
class Guardrails:
    answered_calls: int = 0
    voice_to_voice_p95_ms: float | None = None
    voice_to_voice_replies: int = 0
    early_hangups: int = 0
    early_hangup_rate: float | None = None
    mean_duration_s: float | None = None
    opt_outs: int = 0
    opt_out_rate: float | None = None
    breaches: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VariantResult(ArmResult):
    """An arm's statistics (experiments.statistics) with its guardrails, and what the pages need of it."""

    guardrails: Guardrails
    # For the pages, not the API's JSON.
    variant_id: int = 0
    weight: int = 0
    agent_version: AgentVersion | None = None


@dataclass
class ExperimentResults:
    srm_p_value: float | None
    srm_warning: bool
    variants: list[VariantResult]
    srm_assigned: int = 0  # leads the SRM check looked at (assigned since the weights last changed)

    def as_json(self) -> dict[str, Any]:
        """Exactly the API's shape: srm_p_value, srm_warning and one object per variant."""
        page_only = {"variant_id", "weight", "agent_version"}
        return {
            "srm_p_value": self.srm_p_value,
            "srm_warning": self.srm_warning,
            "variants": [
                {key: value for key, value in asdict(variant).items() if key not in page_only}
                for variant in self.variants
            ],
        }

    @property
    def has_breaches(self) -> bool:
        return any(variant.guardrails.breaches for variant in self.variants)


def experiment_results(*, experiment: Experiment) -> ExperimentResults:
    """Every variant's counts, statistics and guardrails, control first."""
    variants = experiment_variants(experiment)
    control = experiment_control(variants)
    if control is None:
        return ExperimentResults(srm_p_value=None, srm_warning=False, variants=[])
    variants.sort(key=lambda v: (v.pk != control.pk, v.pk))
    ids = [variant.pk for variant in variants]

    since = experiment.weights_changed_at
    assignments = {
        row["variant_id"]: row
        for row in Assignment.objects.filter(experiment=experiment)
        .values("variant_id")
        .annotate(
            assigned=Count("id"),
            recent=Count("id", filter=Q(assigned_at__gte=since)) if since else Count("id"),
            exposed=Count("id", filter=Q(exposed=True)),
            successes=Count("id", filter=Q(succeeded=True)),
        )
        .order_by()
    }
    # Apart, from the (few) do-not-call leads: joining every assignment to its lead cost more than the rest.
    opt_outs_by_variant = dict(
        Assignment.objects.filter(experiment=experiment, lead__do_not_call=True)
        .values("variant_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("variant_id", "n")
    )
    # Calls' guardrail figures come from the analytics rollups (kept per variant, refreshed every minute).
    calls = variant_figures(ids)

    arms = [
        ArmCounts(
            name=variant.name,
            is_control=variant.pk == control.pk,
            weight=variant.weight,
            assigned=assignments.get(variant.pk, {}).get("assigned", 0),
            exposed=assignments.get(variant.pk, {}).get("exposed", 0),
            successes=assignments.get(variant.pk, {}).get("successes", 0),
        )
        for variant in variants
    ]
    srm_counts = [assignments.get(variant.pk, {}).get("recent", 0) for variant in variants]
    figures = experiment_statistics(arms, srm_assigned=srm_counts)

    guardrails = []
    for variant, arm in zip(variants, arms, strict=True):
        rollup = calls[variant.pk]
        answered = rollup.answered_calls
        early = rollup.early_hangups
        opt_outs = opt_outs_by_variant.get(variant.pk, 0)
        p95 = histogram_percentile(rollup.voice_to_voice, 95)
        replies = sum(rollup.voice_to_voice.values())
        guardrails.append(
            Guardrails(
                answered_calls=answered,
                voice_to_voice_p95_ms=p95,
                voice_to_voice_replies=replies,
                early_hangups=early,
                early_hangup_rate=early / answered if answered else None,
                mean_duration_s=rollup.mean_duration_s,
                opt_outs=opt_outs,
                opt_out_rate=opt_outs / arm.assigned if arm.assigned else None,
            )
        )
    base = guardrails[0]
    for variant_guardrails, arm in zip(guardrails[1:], arms[1:], strict=True):
        variant_guardrails.breaches = _breaches(control=base, control_arm=arms[0], variant=variant_guardrails, arm=arm)

    results = [
        VariantResult(
            **asdict(figure),
            guardrails=rails,
            variant_id=variant.pk,
            weight=variant.weight,
            agent_version=variant.agent_version,
        )
        for variant, figure, rails in zip(variants, figures.arms, guardrails, strict=True)
    ]
    return ExperimentResults(
        srm_p_value=figures.srm_p_value,
        srm_warning=figures.srm_warning,
        variants=results,
        srm_assigned=sum(srm_counts),
    )


def _breaches(*, control: Guardrails, control_arm: ArmCounts, variant: Guardrails, arm: ArmCounts) -> list[str]:
    found = []
    if (
        variant.voice_to_voice_p95_ms is not None
        and control.voice_to_voice_p95_ms is not None
        and min(variant.voice_to_voice_replies, control.voice_to_voice_replies) >= LATENCY_MIN_TURNS
        and variant.voice_to_voice_p95_ms > LATENCY_BREACH_RATIO * control.voice_to_voice_p95_ms
    ):
        found.append(
            f"Voice-to-voice p95 {variant.voice_to_voice_p95_ms:.0f} ms is more than "
            f"{LATENCY_BREACH_RATIO - 1:.0%} above control's {control.voice_to_voice_p95_ms:.0f} ms."
        )
    if significantly_higher(
        control.early_hangups, control.answered_calls, variant.early_hangups, variant.answered_calls
    ):
        found.append(
            f"Callers hang up within {EARLY_HANGUP_SECONDS} s more often than with control "
            f"({variant.early_hangup_rate:.1%} against {control.early_hangup_rate:.1%})."
        )
    if significantly_higher(control.opt_outs, control_arm.assigned, variant.opt_outs, arm.assigned):
        found.append(
            f"More leads opt out (do not call) than with control ({variant.opt_out_rate:.1%} of assigned against "
            f"{control.opt_out_rate:.1%})."
        )
    return found
