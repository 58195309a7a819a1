"""Writes for outbound webhooks: endpoints and their secrets, events, attempts and replays.

Delivery is at least once: a delivery whose task runs twice (a worker lost
after sending, acks_late) can reach the receiver twice, so the body carries
the event's `id` for the receiver to drop duplicates; a replay sends the same
body and id. Nothing here logs a secret or a body.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from webhooks import dispatch, sender
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event
from webhooks.selectors import endpoints_for_event, subscribed_events
from webhooks.signing import SIGNATURE_HEADER, secret_generate, signature_header
from webhooks.ssrf import UnsafeAddressError, target_check

log = structlog.get_logger(__name__)

# Eight attempts, 30 s after the first failure and doubling up to an hour
# apart: a receiver down for about an hour still gets the event, and a replay
# from the console covers anything longer.
MAX_ATTEMPTS = 8
BACKOFF_BASE_S = 30
BACKOFF_CAP_S = 3600
# After a rotation the old secret still signs (a second v1 in the header) for
# this long, time to update the receiver without dropping a delivery.
ROTATION_GRACE = timedelta(hours=24)
# Emitters run on hot paths (the status webhook's batches): which events have
# any subscriber is read at most once a second per process. A new endpoint is
# seen at once by the process that saved it, by the others within a second.
SUBSCRIPTIONS_TTL_S = 1.0

_subscriptions_lock = threading.Lock()
_subscriptions: tuple[float, frozenset[str]] | None = None


def retry_delay(attempt: int) -> int:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    return int(min(BACKOFF_BASE_S * 2 ** (attempt - 1), BACKOFF_CAP_S))


def subscriptions_forget() -> None:
    """Forget which events have subscribers (after an endpoint changes)."""
    global _subscriptions
    with _subscriptions_lock:
        _subscriptions = None


def _is_subscribed(event: str) -> bool:
    global _subscriptions
    now = time.monotonic()
    with _subscriptions_lock:
        cached = _subscriptions
    if cached is None or now - cached[0] > SUBSCRIPTIONS_TTL_S:
        cached = (now, subscribed_events())
        with _subscriptions_lock:
            _subscriptions = cached
    return event in cached[1]


def _endpoint_changed() -> None:
    subscriptions_forget()
    transaction.on_commit(subscriptions_forget)


# --- endpoints ----------------------------------------------------------------------------


def endpoint_validate(*, url: str, events: Iterable[str]) -> list[str]:
    """The rules every path (console, API, admin) applies; returns the events, de-duplicated, in order."""
    errors: dict[str, list[str]] = {}
    wanted = list(dict.fromkeys(events))
    unknown = [event for event in wanted if event not in Event.values]
    if not wanted:
        errors["events"] = ["Choose at least one event."]
    elif unknown:
        errors["events"] = [f"Unknown event {', '.join(unknown)}; known: {', '.join(Event.values)}."]
    try:
        target_check(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES)
    except UnsafeAddressError as exc:
        errors["url"] = [f"Refused: {exc}."]
    if errors:
        raise ValidationError(errors)
    return wanted


@transaction.atomic
def endpoint_create(*, url: str, events: Iterable[str], description: str = "", created_by: Any = None) -> Endpoint:
    """A new endpoint with a fresh secret (returned on the object: show it once)."""
    wanted = endpoint_validate(url=url, events=events)
    endpoint = Endpoint.objects.create(
        url=url, events=wanted, description=description[:200], secret=secret_generate(), created_by=created_by
    )
    _endpoint_changed()
    log.info("webhook_endpoint_created", endpoint_id=endpoint.pk, events=wanted)
    return endpoint


@transaction.atomic
def endpoint_update(
    *,
    endpoint_id: int,
    url: str | None = None,
    events: Iterable[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> Endpoint:
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
    new_url = endpoint.url if url is None else url
    wanted = endpoint_validate(url=new_url, events=endpoint.events if events is None else events)
    endpoint.url, endpoint.events = new_url, wanted
    if description is not None:
        endpoint.description = description[:200]
    if is_active is not None:
        endpoint.is_active = is_active
    endpoint.save(update_fields=["url", "events", "description", "is_active", "updated_at"])
    _endpoint_changed()
    return endpoint


@transaction.atomic
def endpoint_secret_rotate(*, endpoint_id: int, now: datetime | None = None) -> Endpoint:
    """A new secret; the old one keeps signing alongside it for ROTATION_GRACE.

    Rotating again within the grace period drops the oldest secret: only the
    last two are ever valid.
    """
    now = now or timezone.now()
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_GRACE
    endpoint.secret = secret_generate()
    endpoint.secret_rotated_at = now
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "secret_rotated_at", "updated_at"]
    )
    log.info("webhook_secret_rotated", endpoint_id=endpoint.pk)
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint_id: int) -> None:
    Endpoint.objects.filter(pk=endpoint_id).delete()
    _endpoint_changed()


def endpoint_signing_secrets(endpoint: Endpoint, *, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one during its grace."""
    valid = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        valid.append(endpoint.previous_secret)
    return valid


# --- events and deliveries ----------------------------------------------------------------


def webhook_event_emit(*, event: str, data: dict[str, Any]) -> list[int]:
    """Queue `event` for every active endpoint that wants it; returns the deliveries' ids.

    Call it from `transaction.on_commit`, so that nothing is announced that
    then rolls back. With no subscriber it costs no query (see
    SUBSCRIPTIONS_TTL_S) and never raises into the caller's write path.
    """
    if event not in Event.values:
        raise ValueError(f"unknown webhook event {event!r}")
    try:
        if not _is_subscribed(event):
            return []
        return _deliveries_create(event=event, data=data)
    except Exception:
        # The event's own write has committed; a webhook problem must not fail it.
        log.exception("webhook_emit_failed", webhook_event=event)
        return []


@transaction.atomic
def _deliveries_create(*, event: str, data: dict[str, Any]) -> list[int]:
    endpoints = endpoints_for_event(event)
    if not endpoints:
        return []
    now = timezone.now()
    event_id = uuid.uuid4()
    body = json.dumps(
        {"id": str(event_id), "type": event, "created_at": now.isoformat(), "data": data},
        separators=(",", ":"),
        default=str,
    )
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(endpoint=endpoint, event=event, event_id=event_id, body=body, next_attempt_at=now)
            for endpoint in endpoints
        ]
    )
    ids = [delivery.pk for delivery in deliveries]

    def schedule() -> None:
        for pk in ids:
            dispatch.delivery_schedule(delivery_id=pk)

    transaction.on_commit(schedule)
    return ids


@dataclass(frozen=True)
class AttemptResult:
    delivery: Delivery
    retry_in: int | None  # seconds until the next attempt; None: no further attempt


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> AttemptResult:
    """Send a delivery once and record the answer; says whether and when to try again.

    The SSRF guard runs again here, on a fresh DNS answer, and the request goes
    to the address it approved. A refused address fails the delivery for good
    (retrying a rebinding name is what an attacker wants); any other failure
    (no answer, a non-2xx status) is retried with backoff up to MAX_ATTEMPTS.
    No transaction is held open across the HTTP request.
    """
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    if delivery.status in Delivery.DONE:
        return AttemptResult(delivery=delivery, retry_in=None)  # a duplicate task: already settled
    now = now or timezone.now()
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        answer = sender.Answer(status_code=None, error="The endpoint is disabled.", excerpt="", duration_ms=0)
        return _attempt_record(delivery_id=delivery_id, answer=answer, now=now, final=True)
    try:
        target = target_check(endpoint.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES)
    except UnsafeAddressError as exc:
        answer = sender.Answer(status_code=None, error=f"Refused: {exc}."[:300], excerpt="", duration_ms=0)
        log.warning("webhook_address_refused", delivery_id=delivery_id, endpoint_id=endpoint.pk, reason=str(exc))
        return _attempt_record(delivery_id=delivery_id, answer=answer, now=now, final=True)
    body = delivery.body.encode()
    timestamp = int(now.timestamp())
    headers = {
        SIGNATURE_HEADER: signature_header(
            secrets_=endpoint_signing_secrets(endpoint, now=now), timestamp=timestamp, body=body
        ),
        "X-Voiceops-Event": delivery.event,
        "X-Voiceops-Delivery": str(delivery.pk),
    }
    answer = sender.post(target=target, body=body, headers=headers)
    return _attempt_record(delivery_id=delivery_id, answer=answer, now=now, final=False)


@transaction.atomic
def _attempt_record(*, delivery_id: int, answer: sender.Answer, now: datetime, final: bool) -> AttemptResult:
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    number = delivery.attempts + 1
    succeeded = answer.status_code is not None and 200 <= answer.status_code < 300
    retry_in = None if succeeded or final or number >= MAX_ATTEMPTS else retry_delay(number)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=number,
        at=now,
        status_code=answer.status_code,
        error=answer.error,
        response_excerpt=answer.excerpt,
        duration_ms=answer.duration_ms,
        retry_in_s=retry_in,
    )
    delivery.attempts = number
    delivery.last_status_code = answer.status_code
    delivery.last_error = answer.error
    if succeeded:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = Delivery.Status.SUCCEEDED, now, None
    elif retry_in is None:
        delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
    else:
        delivery.status, delivery.next_attempt_at = Delivery.Status.RETRYING, now + timedelta(seconds=retry_in)
    delivery.save(
        update_fields=["attempts", "last_status_code", "last_error", "status", "delivered_at", "next_attempt_at"]
    )
    log.info(
        "webhook_attempt",
        delivery_id=delivery.pk,
        endpoint_id=delivery.endpoint_id,
        attempt=number,
        status_code=answer.status_code,
        outcome=delivery.status,
        retry_in_s=retry_in,
    )
    return AttemptResult(delivery=delivery, retry_in=retry_in)


@transaction.atomic
def delivery_replay(*, delivery_id: int) -> Delivery:
    """Send a delivery again as a new delivery: the same body (and event id), a fresh signature and attempts."""
    original = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    replay = Delivery.objects.create(
        endpoint=original.endpoint,
        event=original.event,
        event_id=original.event_id,
        body=original.body,
        replay_of=original,
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(lambda: dispatch.delivery_schedule(delivery_id=replay.pk))
    return replay
