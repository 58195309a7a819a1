"""Reads for webhooks: endpoints, the ones an event goes to, and the delivery log."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from webhooks.models import Delivery, DeliveryAttempt, Endpoint


def endpoints_list() -> QuerySet[Endpoint]:
    return Endpoint.objects.annotate(
        delivery_count=Count("deliveries"),
        failed_count=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
    ).order_by("-created_at")


def endpoint_get(*, endpoint_id: int) -> Endpoint:
    return Endpoint.objects.get(pk=endpoint_id)


def endpoints_for_event(event: str) -> list[Endpoint]:
    # Filtered in Python: a handful of rows, and SQLite has no JSON containment lookup.
    return [endpoint for endpoint in Endpoint.objects.filter(is_active=True) if event in endpoint.events]


def subscribed_events() -> frozenset[str]:
    """Every event some active endpoint wants (the emitters' cheap first check)."""
    events: set[str] = set()
    for wanted in Endpoint.objects.filter(is_active=True).values_list("events", flat=True):
        events.update(wanted or [])
    return frozenset(events)


def deliveries_for(*, endpoint: Endpoint, limit: int = 100) -> QuerySet[Delivery]:
    return endpoint.deliveries.prefetch_related("attempt_log").order_by("-created_at", "-id")[:limit]


def delivery_get(*, delivery_id: int) -> Delivery:
    return Delivery.objects.select_related("endpoint").get(pk=delivery_id)


def delivery_attempts(*, delivery: Delivery) -> QuerySet[DeliveryAttempt]:
    return delivery.attempt_log.order_by("number")


def endpoint_delivery_exists(*, endpoint: Endpoint, delivery_id: int) -> bool:
    return endpoint.deliveries.filter(pk=delivery_id).exists()
