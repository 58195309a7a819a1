"""Admin for experiments: set up in drafts, start, stop and promote through the services, results on the page.

The admin edits rows directly, so the rules it cannot skip live on the models
(Variant.clean: a published version of the experiment's agent; only weights
move once running); the lifecycle goes through experiments.services, as the
console's and the API's do.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse

from analytics.services import rollups_refresh_if_stale
from experiments.charts import results_chart
from experiments.models import Assignment, Experiment, Variant
from experiments.selectors import experiment_results
from experiments.services import ExperimentTransitionError, experiment_start, experiment_stop


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(message for messages_ in exc.message_dict.values() for message in messages_)
    return "; ".join(exc.messages)


class VariantFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        controls = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("is_control")
        ]
        if len(controls) > 1:
            raise ValidationError("Only one variant can be the control.")


class VariantInline(admin.TabularInline):
    model = Variant
    formset = VariantFormSet
    extra = 0
    fields = ("name", "agent_version", "weight", "is_control")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None or obj.status == Experiment.Status.DRAFT:
            return ()
        if obj.status == Experiment.Status.RUNNING:
            return ("name", "agent_version", "is_control")  # weights may move: new leads follow them
        return self.fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (obj is None or obj.status == Experiment.Status.DRAFT) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (obj is None or obj.status == Experiment.Status.DRAFT) and super().has_delete_permission(request, obj)


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("name", "agent", "status", "started_at", "stopped_at", "winner")
    list_filter = ("status",)
    search_fields = ("name", "key")
    inlines = [VariantInline]
    filter_horizontal = ("phone_numbers",)
    actions = ["start_selected", "stop_selected"]
    change_form_template = "admin/experiments/experiment/change_form.html"
    lifecycle_fields = (
        "status",
        "created_by",
        "started_at",
        "started_by",
        "stopped_at",
        "stopped_by",
        "winner",
        "weights_changed_at",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None or obj.status == Experiment.Status.DRAFT:
            return self.lifecycle_fields
        # Once leads are dealt, the agent and the hashing key are part of the record.
        return ("agent", "key", *self.lifecycle_fields)

    def save_model(self, request: HttpRequest, obj: Experiment, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:object_id>/start/",
                self.admin_site.admin_view(self.start_view),
                name="experiments_experiment_start",
            ),
            path(
                "<int:object_id>/stop/", self.admin_site.admin_view(self.stop_view), name="experiments_experiment_stop"
            ),
        ]
        return own + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        experiment = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if experiment is not None:
            rollups_refresh_if_stale()  # the results read the analytics rollups
            results = experiment_results(experiment=experiment)
            context.update(
                results=results,
                panels=results_chart(results.variants),
                lifecycle_variants=list(experiment.variants.order_by("pk")),
            )
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _back(self, object_id: int) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:experiments_experiment_change", args=[object_id]))

    def start_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        experiment = get_object_or_404(Experiment, pk=object_id)
        if request.method != "POST" or not self.has_change_permission(request, experiment):
            return self._back(object_id)
        try:
            experiment_start(experiment=experiment, user=request.user)
            self.message_user(request, f"{experiment} is running.", messages.SUCCESS)
        except ExperimentTransitionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        except ValidationError as exc:
            self.message_user(request, f"{experiment} was not started: {_messages(exc)}", messages.ERROR)
        return self._back(object_id)

    def stop_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        experiment = get_object_or_404(Experiment, pk=object_id)
        if request.method != "POST" or not self.has_change_permission(request, experiment):
            return self._back(object_id)
        winner_id = request.POST.get("winner", "")
        winner = experiment.variants.filter(pk=int(winner_id)).first() if winner_id.isdigit() else None
        try:
            experiment_stop(experiment=experiment, winner=winner, user=request.user)
            promoted = f"; {winner.name} is promoted" if winner else ""
            self.message_user(request, f"{experiment} is stopped{promoted}.", messages.SUCCESS)
        except ExperimentTransitionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        except ValidationError as exc:
            self.message_user(request, f"{experiment} was not stopped: {_messages(exc)}", messages.ERROR)
        return self._back(object_id)

    @admin.action(description="Start the selected experiments")
    def start_selected(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset:
            try:
                experiment_start(experiment=experiment, user=request.user)
                self.message_user(request, f"{experiment} is running.", messages.SUCCESS)
            except (ExperimentTransitionError, ValidationError) as exc:
                reason = _messages(exc) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, f"{experiment} was not started: {reason}", messages.ERROR)

    @admin.action(description="Stop the selected experiments (no winner promoted)")
    def stop_selected(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset:
            try:
                experiment_stop(experiment=experiment, user=request.user)
                self.message_user(request, f"{experiment} is stopped.", messages.SUCCESS)
            except ExperimentTransitionError as exc:
                self.message_user(request, f"{experiment} was not stopped: {exc}", messages.ERROR)


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    """Read only: a lead's assignment is never changed by hand (results would no longer mean what they say)."""

    list_display = ("experiment", "variant", "lead", "assigned_at")
    list_filter = ("experiment",)
    raw_id_fields = ("lead",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
