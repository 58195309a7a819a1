"""Console pages for experiments: list, set up, start, stop and promote, results with their chart.

Thin views: writes go through experiments.services, reads through
experiments.selectors. htmx requests get the partial that changed (the setup
rows for another agent, the results panel when it refreshes); every form also
works without JavaScript, and no page carries inline script or style.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from analytics.services import rollups_refresh_if_stale
from audit import verbs
from audit.services import audit_record
from experiments.charts import results_chart
from experiments.forms import ExperimentSetupForm, variant_rows, variant_specs
from experiments.models import Experiment
from experiments.selectors import (
    experiment_campaigns,
    experiment_detail,
    experiment_results,
    experiment_variants,
    experiments_overview,
)
from experiments.services import ExperimentTransitionError, experiment_create, experiment_start, experiment_stop
from voiceops.roles import role_required


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _error_messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [message for messages_ in exc.message_dict.values() for message in messages_]
    return list(exc.messages)


def _get_experiment(experiment_id: int) -> Experiment:
    try:
        return experiment_detail(experiment_id=experiment_id)
    except Experiment.DoesNotExist:
        raise Http404("No such experiment.") from None


@role_required("experiments.view_experiment")
def experiment_list(request: HttpRequest) -> HttpResponse:
    return render(request, "experiments/list.html", {"experiments": experiments_overview().order_by("-created_at")})


def _agent_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@role_required("experiments.view_experiment", write="experiments.add_experiment")
def experiment_new(request: HttpRequest) -> HttpResponse:
    """Set up a draft: the agent first (its published versions become the candidate variants), then the rest."""
    data = request.POST if request.method == "POST" else None
    agent_id = _agent_id((data or request.GET).get("agent"))
    form = ExperimentSetupForm(data, agent_id=agent_id, initial={"agent": agent_id})
    rows = variant_rows(agent_id=agent_id, data=data)
    errors: list[str] = []
    if data is not None and form.is_valid():
        specs, errors = variant_specs(rows)
        if not errors:
            try:
                experiment = experiment_create(
                    name=form.cleaned_data["name"],
                    agent=form.cleaned_data["agent"],
                    hypothesis=form.cleaned_data["hypothesis"],
                    variants=specs,
                    campaigns=form.cleaned_data["campaigns"],
                    phone_numbers=form.cleaned_data["phone_numbers"],
                    created_by=request.user,
                )
            except ValidationError as exc:
                errors = _error_messages(exc)
            else:
                messages.success(request, f"{experiment.name} is set up as a draft. Start it when you are ready.")
                return redirect("experiments:detail", experiment_id=experiment.pk)
    context = {"form": form, "rows": rows, "errors": errors, "agent_id": agent_id}
    status = 400 if data is not None else 200
    if _is_htmx(request) and data is None:
        return render(request, "experiments/_setup_rows.html", context)
    return render(request, "experiments/new.html", context, status=status)


def _results_context(experiment: Experiment) -> dict[str, Any]:
    rollups_refresh_if_stale()  # the results read the analytics rollups
    results = experiment_results(experiment=experiment)
    return {"experiment": experiment, "results": results, "panels": results_chart(results.variants)}


@role_required("experiments.view_experiment")
def experiment_page(request: HttpRequest, experiment_id: int) -> HttpResponse:
    experiment = _get_experiment(experiment_id)
    context = _results_context(experiment)
    if _is_htmx(request):
        return render(request, "experiments/_results.html", context)
    context.update(
        variants=experiment_variants(experiment),
        campaigns=experiment_campaigns(experiment),
        numbers=experiment.phone_numbers.all(),
    )
    return render(request, "experiments/detail.html", context)


@role_required("experiments.change_experiment")
@require_POST
def experiment_start_view(request: HttpRequest, experiment_id: int) -> HttpResponse:
    experiment = _get_experiment(experiment_id)
    try:
        experiment_start(experiment=experiment, user=request.user)
        audit_record(actor=request.user, verb=verbs.STARTED, target=experiment, summary=experiment.name)
        messages.success(request, f"{experiment.name} is running: new leads are dealt to its variants.")
    except ExperimentTransitionError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, "Not started: " + "; ".join(_error_messages(exc)))
    return redirect("experiments:detail", experiment_id=experiment_id)


@role_required("experiments.change_experiment")
@require_POST
def experiment_stop_view(request: HttpRequest, experiment_id: int) -> HttpResponse:
    experiment = _get_experiment(experiment_id)
    winner_id = request.POST.get("winner", "")
    winner = experiment.variants.filter(pk=int(winner_id)).first() if winner_id.isdigit() else None
    if winner_id and winner is None:
        messages.error(request, "Not stopped: choose one of this experiment's variants to promote.")
        return redirect("experiments:detail", experiment_id=experiment_id)
    try:
        experiment_stop(experiment=experiment, winner=winner, user=request.user)
        verb, summary = (verbs.PROMOTED, winner.name) if winner is not None else (verbs.STOPPED, experiment.name)
        audit_record(actor=request.user, verb=verb, target=experiment, summary=summary)
        if winner is not None:
            messages.success(request, f"Stopped; {winner.name} is promoted and its campaigns run its version now.")
        else:
            messages.success(request, f"{experiment.name} is stopped; no variant was promoted.")
    except ExperimentTransitionError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, "Not stopped: " + "; ".join(_error_messages(exc)))
    return redirect("experiments:detail", experiment_id=experiment_id)
