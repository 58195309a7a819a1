"""REST API for webhook endpoints: create (answers with the secret), list, read, delete, rotate, deliveries, replay.

The secret appears in exactly two answers, creation and rotation; everywhere
else the endpoint shows `secret_hint`. Writes go through webhooks.services,
so the SSRF guard and the event list are checked here as on the console.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event
from webhooks.selectors import deliveries_for, endpoints_list
from webhooks.services import delivery_replay, endpoint_create, endpoint_delete, endpoint_secret_rotate


class EndpointSerializer(serializers.ModelSerializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices), allow_empty=False)

    class Meta:
        model = Endpoint
        fields = ["id", "url", "events", "description", "is_active", "secret_hint", "created_at", "secret_rotated_at"]
        read_only_fields = ["id", "is_active", "secret_hint", "created_at", "secret_rotated_at"]

    def create(self, validated_data: dict[str, Any]) -> Endpoint:
        request = self.context.get("request")
        user = request.user if request is not None and request.user.is_authenticated else None
        try:
            return endpoint_create(
                url=validated_data["url"],
                events=validated_data["events"],
                description=validated_data.get("description", ""),
                created_by=user,
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None


class EndpointWithSecretSerializer(EndpointSerializer):
    """The answer to a creation or a rotation: the only time the secret is shown."""

    secret = serializers.CharField(read_only=True)

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "at", "status_code", "error", "duration_ms", "retry_in_s"]


class DeliverySerializer(serializers.ModelSerializer):
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "event_id",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "replay_of",
            "attempt_log",
        ]


class EndpointViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = EndpointSerializer

    def get_queryset(self) -> QuerySet[Endpoint]:
        return endpoints_list()

    @extend_schema(request=EndpointSerializer, responses={201: EndpointWithSecretSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create an endpoint; the answer carries its signing `secret` (shown this once)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = serializer.save()
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Endpoint) -> None:
        endpoint_delete(endpoint_id=instance.pk)

    @extend_schema(request=None, responses=EndpointWithSecretSerializer)
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk: str) -> Response:
        """A new secret (in the answer); the previous one also signs deliveries for 24 hours."""
        endpoint = endpoint_secret_rotate(endpoint_id=self.get_object().pk)
        return Response(EndpointWithSecretSerializer(endpoint).data)

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        """The delivery log: the latest 100 deliveries with each attempt's status code."""
        return Response(DeliverySerializer(deliveries_for(endpoint=self.get_object()), many=True).data)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9]+)/replay")
    def replay(self, request: Request, pk: str, delivery_id: str) -> Response:
        """Send a delivery again (same body and event id, fresh signature) as a new delivery."""
        original = get_object_or_404(Delivery, pk=int(delivery_id), endpoint=self.get_object())
        replay = delivery_replay(delivery_id=original.pk)
        return Response(DeliverySerializer(replay).data, status=status.HTTP_202_ACCEPTED)
