"""An experiment's results counted in the database from its assignments, calls and turns, and served
at GET /api/experiments/{id}/results/ in exactly the issue's shape."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from analytics.services import rollups_refresh
from calls.models import Call, CallTurn
from campaigns.models import Lead
from experiments.models import Assignment, Experiment
from experiments.selectors import experiment_results
from experiments.services import experiment_start
from experiments.statistics import ArmCounts, experiment_statistics
from tests.factories import AgentVersionFactory, CallFactory, ExperimentFactory, LeadFactory, VariantFactory

pytestmark = pytest.mark.django_db

VARIANT_KEYS = {
    "name",
    "is_control",
    "assigned",
    "exposed",
    "successes",
    "rate",
    "ci_low",
    "ci_high",
    "lift",
    "p_value",
    "chance_to_beat_control",
    "seq_ci_low",
    "seq_ci_high",
    "guardrails",
}


@pytest.fixture
def experiment():
    experiment = ExperimentFactory(name="Greeting test")
    agent = experiment.agent
    # Control's version counts only "booked"; B's also counts "callback" as a success.
    VariantFactory(experiment=experiment, name="A", is_control=True, agent_version=AgentVersionFactory(agent=agent))
    VariantFactory(
        experiment=experiment,
        name="B",
        agent_version=AgentVersionFactory(
            agent=agent, config={"brain": "flow", "greeting": "Hi!", "success_dispositions": ["booked", "callback"]}
        ),
    )
    experiment_start(experiment=experiment)
    return experiment


def results_now(experiment):
    """The results once the rollups have caught up with the calls (beat does it every minute)."""
    rollups_refresh()
    return experiment_results(experiment=experiment)


def lead_in(variant, **lead_fields):
    lead = LeadFactory(**lead_fields)
    Assignment.objects.create(experiment=variant.experiment, variant=variant, lead=lead)
    return lead


def call(variant, lead, **fields):
    defaults = {"direction": Call.Direction.OUTBOUND, "status": Call.Status.COMPLETED}
    return CallFactory(variant=variant, lead=lead, agent_version=variant.agent_version, **{**defaults, **fields})


def populate(experiment):
    a, b = experiment.variants.get(name="A"), experiment.variants.get(name="B")
    # A: a voicemail then a booking (exposed, success); a refusal; a lead never reached; an opt-out.
    first = lead_in(a)
    call(a, first, answered_by="machine_start", disposition="voicemail", attempt_number=1)
    call(a, first, answered_by="human", disposition="booked", duration_seconds=95, attempt_number=2)
    call(a, lead_in(a), answered_by="human", disposition="not_interested", duration_seconds=40)
    call(a, lead_in(a), status=Call.Status.NO_ANSWER)
    opted_out = lead_in(a, do_not_call=True, status=Lead.Status.DO_NOT_CALL)
    call(a, opted_out, answered_by="human", disposition="do_not_call", duration_seconds=20)
    # B: a callback (a success by B's own list), a lead booked twice (one success), an inbound
    # caller answered and booked, an inbound call never answered, a caller who hung up in 6 s,
    # and a "booked" that a machine answered (not a person: not exposed).
    call(b, lead_in(b), answered_by="human", disposition="callback", duration_seconds=60)
    twice = lead_in(b)
    call(b, twice, answered_by="human", disposition="booked", duration_seconds=120, attempt_number=1)
    call(b, twice, answered_by="human", disposition="booked", duration_seconds=100, attempt_number=2)
    call(b, lead_in(b), direction=Call.Direction.INBOUND, answered_at=timezone.now(), disposition="booked")
    call(b, lead_in(b), direction=Call.Direction.INBOUND, answered_at=None, status=Call.Status.CANCELED)
    call(b, lead_in(b), answered_by="human", disposition="", duration_seconds=6)
    call(b, lead_in(b), answered_by="machine_end_beep", disposition="booked", duration_seconds=30)
    # Calls that are not this experiment's leads' do not count: another experiment, and no lead.
    other = VariantFactory()
    call(other, lead_in(other), answered_by="human", disposition="booked")
    CallFactory(variant=b, lead=None, agent_version=b.agent_version, answered_by="human", disposition="booked")
    return a, b


def test_exposed_and_successes_count_leads_answered_by_a_person(experiment):
    populate(experiment)
    results = results_now(experiment)
    control, b = results.variants
    assert (control.name, control.is_control, b.name, b.is_control) == ("A", True, "B", False)
    assert (control.assigned, control.exposed, control.successes) == (4, 3, 1)
    assert (b.assigned, b.exposed, b.successes) == (6, 4, 3)
    # The figures are the statistics module's for exactly these counts.
    expected = experiment_statistics(
        [
            ArmCounts("A", True, control.weight, 4, 3, 1),
            ArmCounts("B", False, b.weight, 6, 4, 3),
        ],
        srm_assigned=[4, 6],
    )
    for got, want in zip(results.variants, expected.arms, strict=True):
        assert (got.rate, got.ci_low, got.ci_high, got.lift, got.p_value) == (
            want.rate,
            want.ci_low,
            want.ci_high,
            want.lift,
            want.p_value,
        )
        assert (got.chance_to_beat_control, got.seq_ci_low, got.seq_ci_high) == (
            want.chance_to_beat_control,
            want.seq_ci_low,
            want.seq_ci_high,
        )
    assert results.srm_p_value == expected.srm_p_value


def test_guardrails_per_variant(experiment):
    a, b = populate(experiment)
    replies = {a: [410, 520, 630, 700, 1500], b: [380, 400, 450, 900]}
    for variant, values in replies.items():
        target = Call.objects.filter(variant=variant, answered_by="human", lead__isnull=False).first()
        for index, ms in enumerate(values):
            CallTurn.objects.create(
                call=target,
                index=index,
                speaker="agent",
                text="…",
                timings={"stt_done": ms - 200, "first_frame_sent": ms},
            )
        # The greeting answers no caller speech (no stt_done): not a voice-to-voice reply.
        CallTurn.objects.create(call=target, index=99, speaker="agent", timings={"first_frame_sent": 9000})
        CallTurn.objects.create(call=target, index=98, speaker="caller", timings={"stt_done": 1, "first_frame_sent": 2})
    results = results_now(experiment)
    control, other = (variant.guardrails for variant in results.variants)
    # From the 5% latency buckets: within half a bucket of the exact percentile.
    assert control.voice_to_voice_p95_ms == pytest.approx(
        np.percentile(replies[a], 95, method="inverted_cdf"), rel=0.025
    )
    assert other.voice_to_voice_p95_ms == pytest.approx(np.percentile(replies[b], 95, method="inverted_cdf"), rel=0.025)
    assert (control.voice_to_voice_replies, other.voice_to_voice_replies) == (5, 4)
    assert (control.answered_calls, other.answered_calls) == (3, 5)
    assert (control.early_hangups, other.early_hangups) == (0, 1)
    assert other.early_hangup_rate == pytest.approx(1 / 5)
    assert control.mean_duration_s == pytest.approx((95 + 40 + 20) / 3)
    assert (control.opt_outs, control.opt_out_rate) == (1, pytest.approx(1 / 4))
    assert control.breaches == [] and other.breaches == []  # too few replies and calls to call anything a breach


def test_a_variant_that_makes_callers_hang_up_breaches_its_guardrail(experiment):
    a, b = experiment.variants.get(name="A"), experiment.variants.get(name="B")
    for index in range(40):
        call(a, lead_in(a), answered_by="human", disposition="not_interested", duration_seconds=45)
        hung_up = index < 15
        call(
            b,
            lead_in(b),
            answered_by="human",
            disposition="" if hung_up else "booked",
            duration_seconds=4 if hung_up else 80,
        )
    breaches = results_now(experiment).variants[1].guardrails.breaches
    assert len(breaches) == 1 and "hang up within 10 s" in breaches[0]


def test_the_ratio_check_counts_only_leads_assigned_under_the_current_weights(experiment):
    a, b = experiment.variants.get(name="A"), experiment.variants.get(name="B")
    before = [lead_in(a if index < 90 else b) for index in range(100)]  # a lopsided start...
    Assignment.objects.filter(lead__in=before).update(assigned_at=timezone.now() - dt.timedelta(days=2))
    Experiment.objects.filter(pk=experiment.pk).update(weights_changed_at=timezone.now() - dt.timedelta(days=1))
    experiment.refresh_from_db()
    for index in range(100):
        lead_in(a if index % 2 else b)  # ...then 1:1, as the weights say
    results = results_now(experiment)
    assert [v.assigned for v in results.variants] == [140, 60]
    assert results.srm_assigned == 100 and results.srm_p_value == pytest.approx(1.0) and not results.srm_warning
    Experiment.objects.filter(pk=experiment.pk).update(weights_changed_at=timezone.now() - dt.timedelta(days=3))
    experiment.refresh_from_db()
    assert results_now(experiment).srm_warning  # 140 to 60 at 1:1 is a mismatch


def test_results_cost_a_fixed_number_of_queries(experiment, django_assert_max_num_queries):
    populate(experiment)
    rollups_refresh()
    with django_assert_max_num_queries(5):  # variants, assignments, opt-outs, the calls' and the latency rollups
        experiment_results(experiment=experiment)


def test_an_experiment_without_leads_has_empty_figures(experiment):
    results = results_now(experiment)
    assert [(v.assigned, v.exposed, v.rate, v.p_value, v.seq_ci_low) for v in results.variants] == [
        (0, 0, None, None, None)
    ] * 2
    assert results.srm_p_value is None and results.srm_warning is False


def test_the_results_endpoint_returns_exactly_the_issues_json(experiment, api_client):
    populate(experiment)
    response = api_client.get(f"/api/experiments/{experiment.pk}/results/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"srm_p_value", "srm_warning", "variants"}
    assert [set(variant) for variant in body["variants"]] == [VARIANT_KEYS, VARIANT_KEYS]
    control, b = body["variants"]
    assert (control["name"], control["exposed"], control["successes"]) == ("A", 3, 1)
    assert control["rate"] == pytest.approx(1 / 3) and control["lift"] is None and control["p_value"] is None
    assert b["lift"] == pytest.approx((3 / 4 - 1 / 3) / (1 / 3))
    assert b["seq_ci_low"] < b["rate"] - control["rate"] < b["seq_ci_high"]
    assert set(b["guardrails"]) >= {
        "voice_to_voice_p95_ms",
        "early_hangup_rate",
        "mean_duration_s",
        "opt_outs",
        "breaches",
    }


def test_the_results_endpoint_needs_a_token(experiment, client):
    assert client.get(f"/api/experiments/{experiment.pk}/results/").status_code in (401, 403)


def test_the_results_endpoint_404s_for_an_unknown_experiment(api_client):
    assert api_client.get("/api/experiments/999999/results/").status_code == 404
