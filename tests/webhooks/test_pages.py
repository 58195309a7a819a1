"""The console's webhook pages: create (secret shown once), the delivery log, rotate, replay, delete."""

from __future__ import annotations

import pytest
from django.test import Client

from webhooks.models import Delivery, Endpoint
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def public_dns(dns):
    dns["crm.example.com"] = ["93.184.216.34"]
    return dns


def test_creating_an_endpoint_shows_its_secret_once(operator_client):
    answer = operator_client.post(
        "/webhooks/", {"url": "https://crm.example.com/in", "events": ["call.ended", "campaign.finished"]}
    )
    assert answer.status_code == 201
    endpoint = Endpoint.objects.get()
    assert endpoint.secret in answer.content.decode()
    assert endpoint.events == ["call.ended", "campaign.finished"]
    again = operator_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.secret not in again and endpoint.secret_hint in again
    assert endpoint.secret not in operator_client.get("/webhooks/").content.decode()


def test_a_refused_url_is_a_400_with_the_reason(operator_client):
    answer = operator_client.post("/webhooks/", {"url": "http://169.254.169.254/", "events": ["call.ended"]})
    assert answer.status_code == 400 and "link-local" in answer.content.decode()
    assert not Endpoint.objects.exists()


def test_rotate_shows_the_new_secret_and_replay_queues_a_new_delivery(operator_client, scheduled):
    endpoint = endpoint_create(url="https://crm.example.com/in", events=["call.ended"])
    rotated = operator_client.post(f"/webhooks/{endpoint.pk}/rotate/")
    endpoint.refresh_from_db()
    assert rotated.status_code == 200 and endpoint.secret in rotated.content.decode()
    original = Delivery.objects.create(endpoint=endpoint, event="call.ended", body="{}", status="failed")
    page = operator_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert f'id="delivery-{original.pk}"' in page and "Replay" in page
    answer = operator_client.post(f"/webhooks/{endpoint.pk}/deliveries/{original.pk}/replay/")
    assert answer.status_code == 302
    assert Delivery.objects.filter(replay_of=original).count() == 1


def test_delete_and_anonymous_access(operator_client):
    endpoint = endpoint_create(url="https://crm.example.com/in", events=["call.ended"])
    client = Client()  # nobody logged in
    assert client.get("/webhooks/").status_code == 302  # to the login page
    assert client.post(f"/webhooks/{endpoint.pk}/delete/").status_code == 302 and Endpoint.objects.exists()
    assert operator_client.post(f"/webhooks/{endpoint.pk}/delete/").status_code == 302
    assert not Endpoint.objects.exists()
