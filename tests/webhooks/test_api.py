"""The webhooks REST API: create (with the secret), list, rotate, delete, the delivery log; 4xx for bad input."""

from __future__ import annotations

import pytest
import yaml

from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def public_dns(dns):
    dns["crm.example.com"] = ["93.184.216.34"]
    dns["metadata.example.com"] = ["169.254.169.254"]
    return dns


def test_create_answers_with_the_secret_once_then_only_its_hint(api_client, operator):
    answer = api_client.post(
        "/api/webhooks/", {"url": "https://crm.example.com/hooks", "events": ["call.ended", "lead.updated"]}, "json"
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    endpoint = Endpoint.objects.get(pk=body["id"])
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert body["events"] == ["call.ended", "lead.updated"] and endpoint.created_by == operator

    listed = api_client.get("/api/webhooks/").json()["results"]
    assert [item["id"] for item in listed] == [endpoint.pk]
    assert "secret" not in listed[0] and endpoint.secret not in str(listed)
    assert listed[0]["secret_hint"] == endpoint.secret_hint
    assert endpoint.secret not in api_client.get(f"/api/webhooks/{endpoint.pk}/").content.decode()


def test_rotate_answers_with_a_new_secret_and_keeps_the_old_one_for_the_grace(api_client):
    endpoint = api_client.post("/api/webhooks/", {"url": "https://crm.example.com/", "events": ["call.ended"]}, "json")
    old = endpoint.json()["secret"]
    rotated = api_client.post(f"/api/webhooks/{endpoint.json()['id']}/rotate/")
    assert rotated.status_code == 200
    row = Endpoint.objects.get()
    assert rotated.json()["secret"] == row.secret != old and row.previous_secret == old


def test_delete_and_the_delivery_log(api_client):
    endpoint_id = api_client.post(
        "/api/webhooks/", {"url": "https://crm.example.com/", "events": ["call.ended"]}, "json"
    ).json()["id"]
    assert api_client.get(f"/api/webhooks/{endpoint_id}/deliveries/").json() == []
    assert api_client.delete(f"/api/webhooks/{endpoint_id}/").status_code == 204
    assert not Endpoint.objects.exists()
    assert api_client.get(f"/api/webhooks/{endpoint_id}/").status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "https://crm.example.com/", "events": []}, "events"),
        ({"url": "https://crm.example.com/", "events": ["call.exploded"]}, "events"),
        ({"url": "https://crm.example.com/"}, "events"),
        ({"url": "not a url", "events": ["call.ended"]}, "url"),
        ({"url": "ftp://crm.example.com/", "events": ["call.ended"]}, "url"),
        ({"url": "http://localhost:8000/", "events": ["call.ended"]}, "url"),
        ({"url": "http://169.254.169.254/latest/", "events": ["call.ended"]}, "url"),
        ({"url": "https://metadata.example.com/", "events": ["call.ended"]}, "url"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_client, payload, field):
    answer = api_client.post("/api/webhooks/", payload, "json")
    assert answer.status_code == 400 and field in answer.json(), answer.content
    assert not Endpoint.objects.exists()


def test_anonymous_callers_get_401(client):
    assert client.post("/api/webhooks/", {"url": "https://crm.example.com/", "events": ["call.ended"]}).status_code in (
        401,
        403,
    )


def test_replaying_another_endpoints_delivery_is_a_404(api_client):
    endpoint_id = api_client.post(
        "/api/webhooks/", {"url": "https://crm.example.com/", "events": ["call.ended"]}, "json"
    ).json()["id"]
    assert api_client.post(f"/api/webhooks/{endpoint_id}/deliveries/999/replay/").status_code == 404


def test_the_schema_describes_the_webhooks_api(api_client):
    schema = yaml.safe_load(api_client.get("/api/schema/").content)
    paths = schema["paths"]
    assert {
        "/api/webhooks/",
        "/api/webhooks/{id}/",
        "/api/webhooks/{id}/rotate/",
        "/api/webhooks/{id}/deliveries/",
    } <= set(paths)
    assert "/api/webhooks/{id}/deliveries/{delivery_id}/replay/" in paths
    created = paths["/api/webhooks/"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][created.rsplit("/", 1)[1]]
    assert "secret" in component["properties"]
