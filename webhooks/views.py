"""Console pages for outbound webhooks: endpoints, their delivery log, rotation and replay.

Thin views: writes go through webhooks.services, reads through
webhooks.selectors. A secret is rendered once, in the answer to the request
that created or rotated it (never put in the session or a message cookie);
a reload shows only its hint.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from voiceops.roles import role_required
from webhooks.forms import EndpointForm
from webhooks.models import Endpoint
from webhooks.selectors import deliveries_for, endpoint_delivery_exists, endpoint_get, endpoints_list
from webhooks.services import delivery_replay, endpoint_create, endpoint_delete, endpoint_secret_rotate
from webhooks.signing import SIGNATURE_HEADER

# Endpoints carry secrets and decide where call data goes: admins change them, every role may look.
READ, WRITE = "webhooks.view_endpoint", "webhooks.change_endpoint"


def _endpoint(endpoint_id: int) -> Endpoint:
    try:
        return endpoint_get(endpoint_id=endpoint_id)
    except Endpoint.DoesNotExist:
        raise Http404("No such endpoint.") from None


def _detail(request: HttpRequest, endpoint: Endpoint, *, new_secret: str = "", status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {
        "endpoint": endpoint,
        "deliveries": deliveries_for(endpoint=endpoint),
        "new_secret": new_secret,
        "signature_header": SIGNATURE_HEADER,
    }
    if getattr(request, "htmx", False):
        return render(request, "webhooks/_deliveries.html", context, status=status)
    return render(request, "webhooks/detail.html", context, status=status)


@role_required(READ, write=WRITE)
def endpoint_list(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = endpoint_create(
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                created_by=request.user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            return _detail(request, endpoint, new_secret=endpoint.secret, status=201)
    status = 400 if request.method == "POST" else 200
    return render(request, "webhooks/list.html", {"endpoints": endpoints_list(), "form": form}, status=status)


@role_required(READ)
def endpoint_page(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    return _detail(request, _endpoint(endpoint_id))


@role_required(WRITE)
@require_POST
def endpoint_rotate_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = endpoint_secret_rotate(endpoint_id=_endpoint(endpoint_id).pk)
    return _detail(request, endpoint, new_secret=endpoint.secret)


@role_required(WRITE)
@require_POST
def endpoint_delete_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    endpoint_delete(endpoint_id=endpoint.pk)
    messages.success(request, f"Deleted the endpoint {endpoint.url} and its delivery log.")
    return redirect("webhooks:list")


@role_required(WRITE)
@require_POST
def delivery_replay_view(request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    if not endpoint_delivery_exists(endpoint=endpoint, delivery_id=delivery_id):
        raise Http404("No such delivery.")
    replay = delivery_replay(delivery_id=delivery_id)
    messages.success(request, f"Delivery {delivery_id} is being sent again as delivery {replay.pk}.")
    return redirect("webhooks:detail", endpoint_id=endpoint.pk)
