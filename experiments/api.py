"""REST API for experiments: set up (create), start, stop and promote, and results.

Writes go through experiments.services, as the console's and the admin's do,
so a variant that is a draft or another agent's version is refused here too.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from analytics.services import rollups_refresh_if_stale
from audit import verbs
from audit.services import audit_record
from experiments.models import Experiment, Variant
from experiments.selectors import (
    agents_with_published_versions,
    draft_campaigns,
    experiment_results,
    experiments_overview,
    phone_numbers,
    published_versions,
)
from experiments.services import (
    ExperimentTransitionError,
    VariantSpec,
    experiment_create,
    experiment_start,
    experiment_stop,
)


def _drf_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(
            {
                api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else key: messages
                for key, messages in exc.message_dict.items()
            }
        )
    return serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: exc.messages})


class VariantSerializer(serializers.ModelSerializer):
    agent_version = serializers.PrimaryKeyRelatedField(queryset=published_versions())

    class Meta:
        model = Variant
        fields = ["id", "name", "agent_version", "weight", "is_control"]
        read_only_fields = ["id"]
        # experiment_create checks names (unique within the experiment) with every other rule.
        validators: list[Any] = []


class ExperimentSerializer(serializers.ModelSerializer):
    agent = serializers.PrimaryKeyRelatedField(queryset=agents_with_published_versions())
    variants = VariantSerializer(many=True)
    campaigns = serializers.PrimaryKeyRelatedField(
        queryset=draft_campaigns(), many=True, required=False, write_only=True
    )
    phone_numbers = serializers.PrimaryKeyRelatedField(queryset=phone_numbers(), many=True, required=False)

    class Meta:
        model = Experiment
        fields = [
            "id",
            "name",
            "key",
            "agent",
            "hypothesis",
            "status",
            "variants",
            "campaigns",
            "phone_numbers",
            "created_at",
            "started_at",
            "stopped_at",
            "winner",
        ]
        read_only_fields = ["key", "status", "created_at", "started_at", "stopped_at", "winner"]

    def create(self, validated_data: dict[str, Any]) -> Experiment:
        request = self.context.get("request")
        user = request.user if request is not None and request.user.is_authenticated else None
        try:
            return experiment_create(
                name=validated_data["name"],
                agent=validated_data["agent"],
                hypothesis=validated_data.get("hypothesis", ""),
                variants=[
                    VariantSpec(
                        name=item["name"],
                        agent_version=item["agent_version"],
                        weight=item.get("weight", 1),
                        is_control=item.get("is_control", False),
                    )
                    for item in validated_data["variants"]
                ],
                campaigns=validated_data.get("campaigns", []),
                phone_numbers=validated_data.get("phone_numbers", []),
                created_by=user,
            )
        except DjangoValidationError as exc:
            raise _drf_errors(exc) from None


class StopSerializer(serializers.Serializer):
    winner = serializers.IntegerField(required=False, allow_null=True, help_text="Id of the variant to promote.")


_GUARDRAILS = inline_serializer(
    "ExperimentGuardrails",
    {
        "answered_calls": serializers.IntegerField(),
        "voice_to_voice_p95_ms": serializers.FloatField(allow_null=True),
        "voice_to_voice_replies": serializers.IntegerField(),
        "early_hangups": serializers.IntegerField(),
        "early_hangup_rate": serializers.FloatField(allow_null=True),
        "mean_duration_s": serializers.FloatField(allow_null=True),
        "opt_outs": serializers.IntegerField(),
        "opt_out_rate": serializers.FloatField(allow_null=True),
        "breaches": serializers.ListField(child=serializers.CharField()),
    },
)
_RESULTS = inline_serializer(
    "ExperimentResults",
    {
        "srm_p_value": serializers.FloatField(allow_null=True),
        "srm_warning": serializers.BooleanField(),
        "variants": inline_serializer(
            "ExperimentVariantResult",
            {
                "name": serializers.CharField(),
                "is_control": serializers.BooleanField(),
                "assigned": serializers.IntegerField(),
                "exposed": serializers.IntegerField(),
                "successes": serializers.IntegerField(),
                "rate": serializers.FloatField(allow_null=True),
                "ci_low": serializers.FloatField(allow_null=True),
                "ci_high": serializers.FloatField(allow_null=True),
                "lift": serializers.FloatField(allow_null=True),
                "p_value": serializers.FloatField(allow_null=True),
                "chance_to_beat_control": serializers.FloatField(allow_null=True),
                "seq_ci_low": serializers.FloatField(allow_null=True),
                "seq_ci_high": serializers.FloatField(allow_null=True),
                "guardrails": _GUARDRAILS,
            },
            many=True,
        ),
    },
)


class ExperimentViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    serializer_class = ExperimentSerializer

    def get_queryset(self) -> QuerySet[Experiment]:
        return experiments_overview().prefetch_related("variants", "phone_numbers").order_by("-created_at")

    def _transition(self, request: Request, pk: str, step: str) -> Response:
        experiment = self.get_object()
        user = request.user if request.user.is_authenticated else None
        try:
            if step == "start":
                experiment_start(experiment=experiment, user=user)
                audit_record(actor=user, verb=verbs.STARTED, target=experiment, summary=experiment.name)
            else:
                payload = StopSerializer(data=request.data)
                payload.is_valid(raise_exception=True)
                winner_id = payload.validated_data.get("winner")
                winner = None
                if winner_id is not None:
                    winner = experiment.variants.filter(pk=winner_id).first()
                    if winner is None:
                        raise serializers.ValidationError({"winner": [f"{experiment} has no variant {winner_id}."]})
                experiment_stop(experiment=experiment, winner=winner, user=user)
                verb = verbs.PROMOTED if winner is not None else verbs.STOPPED
                audit_record(
                    actor=user, verb=verb, target=experiment, summary=winner.name if winner else experiment.name
                )
        except ExperimentTransitionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            raise _drf_errors(exc) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=experiment.pk)).data)

    @extend_schema(request=None, responses=ExperimentSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        """Draft -> running: the dialer and inbound routing start dealing its leads."""
        return self._transition(request, pk, "start")

    @extend_schema(request=StopSerializer, responses=ExperimentSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str) -> Response:
        """Running -> stopped; with `winner`, its campaigns switch to that variant's version."""
        return self._transition(request, pk, "stop")

    @extend_schema(responses=_RESULTS)
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str) -> Response:
        """Per variant: assigned, exposed and successful leads, intervals, tests against control, guardrails."""
        experiment = self.get_object()
        rollups_refresh_if_stale()  # the results read the analytics rollups
        return Response(experiment_results(experiment=experiment).as_json())
