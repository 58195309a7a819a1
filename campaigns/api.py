"""REST API: leads (read, bulk create), campaigns (create and control, attempts)."""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from audit import verbs
from audit.services import audit_record
from calls.api import CallAttemptSerializer
from campaigns.importer import leads_bulk_upsert
from campaigns.models import Campaign, Lead
from campaigns.selectors import campaign_attempts, campaign_lead_counts, campaign_outcome_counts
from campaigns.services import CampaignTransitionError, campaign_control, campaign_create, campaign_update


class LeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = [
            "id",
            "phone",
            "first_name",
            "last_name",
            "timezone",
            "custom_fields",
            "consent",
            "consent_at",
            "do_not_call",
            "status",
            "campaign",
            "attempts",
            "next_attempt_at",
            "last_outcome",
            "created_at",
        ]


class LeadBulkSerializer(serializers.Serializer):
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all(), required=False, allow_null=True)
    default_region = serializers.CharField(default="US", max_length=2)
    leads = serializers.ListField(child=serializers.JSONField(), allow_empty=False, max_length=5000)


class LeadViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Lead.objects.order_by("id")
    serializer_class = LeadSerializer

    @extend_schema(
        request=LeadBulkSerializer,
        responses=inline_serializer(
            "LeadBulkResult",
            {
                "created": serializers.IntegerField(),
                "merged": serializers.IntegerField(),
                "errors": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        """Create or merge up to 5000 leads; each bad item is reported by index, the good ones are kept."""
        payload = LeadBulkSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        created, merged, errors = leads_bulk_upsert(
            items=payload.validated_data["leads"],
            campaign=payload.validated_data.get("campaign"),
            default_region=payload.validated_data["default_region"].upper(),
        )
        code = status.HTTP_201_CREATED if created or merged else status.HTTP_400_BAD_REQUEST
        return Response({"created": created, "merged": merged, "errors": errors}, status=code)


class CampaignSerializer(serializers.ModelSerializer):
    lead_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "agent_version",
            "experiment",
            "status",
            "status_reason",
            "caller_id",
            "window_start",
            "window_end",
            "days",
            "start_date",
            "end_date",
            "max_concurrent",
            "calls_per_minute",
            "retry_rules",
            "require_consent",
            "lead_count",
            "created_at",
        ]
        read_only_fields = ["status", "status_reason", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The campaign rule (Campaign.clean), on the campaign as it would be saved; errors keyed by field."""
        campaign = copy.copy(self.instance) if self.instance is not None else Campaign()
        for name, value in attrs.items():
            setattr(campaign, name, value)
        try:
            campaign.full_clean(validate_unique=False)  # the name's UniqueValidator has answered already
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                {
                    api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
                    for field, messages in exc.message_dict.items()
                }
            ) from None
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Campaign:
        return campaign_create(**validated_data)

    def update(self, instance: Campaign, validated_data: dict[str, Any]) -> Campaign:
        return campaign_update(campaign_id=instance.pk, **validated_data)


class CampaignViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CampaignSerializer
    # Only digits reach the actions, which take the id as an integer (a
    # non-integer id was a ValueError, a 500; now the URL does not match: 404).
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Campaign]:
        return Campaign.objects.annotate(lead_count=Count("leads")).order_by("-created_at")

    def perform_create(self, serializer: serializers.BaseSerializer[Campaign]) -> None:
        campaign = serializer.save()
        audit_record(actor=self.request.user, verb=verbs.CAMPAIGN_CREATED, target=campaign, summary=campaign.name)

    def perform_update(self, serializer: serializers.BaseSerializer[Campaign]) -> None:
        campaign = serializer.save()
        changed = sorted(serializer.validated_data)
        audit_record(
            actor=self.request.user,
            verb=verbs.CAMPAIGN_EDITED,
            target=campaign,
            summary=", ".join(changed),
            data={"fields": changed},
        )

    def _control(self, pk: str, action_name: str) -> Response:
        try:
            campaign = campaign_control(campaign_id=int(pk), action=action_name)
        except Campaign.DoesNotExist:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        except CampaignTransitionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        audit_record(
            actor=self.request.user, verb=verbs.CONTROL_VERBS[action_name], target=campaign, summary=campaign.name
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        return self._control(pk, "start")

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        return self._control(pk, "pause")

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        return self._control(pk, "resume")

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str) -> Response:
        return self._control(pk, "stop")

    @extend_schema(responses=CallAttemptSerializer(many=True))
    @action(detail=True, methods=["get"])
    def attempts(self, request: Request, pk: str) -> Response:
        """Every attempt of the campaign with its outcome, newest first (paginated)."""
        campaign = self.get_object()
        calls = campaign_attempts(campaign)
        page = self.paginate_queryset(calls)
        return self.get_paginated_response(CallAttemptSerializer(page, many=True).data)

    @extend_schema(
        responses=inline_serializer(
            "CampaignOutcomes",
            {"leads": serializers.DictField(), "attempts": serializers.DictField()},
        )
    )
    @action(detail=True, methods=["get"])
    def outcomes(self, request: Request, pk: str) -> Response:
        """Leads by state and attempts by outcome."""
        campaign = self.get_object()
        leads, attempts = campaign_lead_counts(campaign), campaign_outcome_counts(campaign)
        return Response({"leads": leads, "attempts": attempts})
