"""Roles (voiceops.roles): each role on each kind of endpoint.

viewer reads, operator and admin act, a user without a role sees nothing, and
a superuser is an admin. Pages and forms, the REST API (with tokens), and the
console socket all ask the same permissions.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.models import Campaign, LeadImport
from tests.factories import AgentVersionFactory, CallFactory, CampaignFactory, ExperimentFactory, UserFactory
from voiceops.roles import ADMIN, OPERATOR, ROLES, VIEWER, role_assign, role_of, roles_sync

pytestmark = pytest.mark.django_db

READ_PAGES = ["/", "/agents/", "/campaigns/", "/leads/import/", "/experiments/", "/experiments/new/"]


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def users(role_user):
    """One user per role, one without a role, and a superuser in no group."""
    made = {role: role_user(role) for role in ROLES}
    made["none"] = UserFactory(username="nobody", is_staff=False, is_superuser=False)
    made["superuser"] = UserFactory(username="root")
    return made


def test_the_groups_exist_after_migrate_with_the_table_of_permissions():
    groups = {
        group.name: {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        for group in Group.objects.filter(name__in=ROLES)
    }
    assert set(groups) == set(ROLES)
    assert "campaigns.view_campaign" in groups[VIEWER] and "audit.view_auditentry" in groups[VIEWER]
    assert not any(perm.split(".")[1].startswith(("add_", "change_", "delete_")) for perm in groups[VIEWER])
    assert {"campaigns.change_campaign", "agents.change_agentversion", "calls.change_call"} <= groups[OPERATOR]
    assert not any(".delete_" in perm for perm in groups[OPERATOR])
    assert "auth.change_user" in groups[ADMIN] and "auth.change_user" not in groups[OPERATOR]
    roles_sync()  # idempotent
    assert Group.objects.filter(name__in=ROLES).count() == 3


def test_role_of_names_each_user(users):
    assert [role_of(users[name]) for name in (*ROLES, "none", "superuser")] == [ADMIN, OPERATOR, VIEWER, None, ADMIN]
    role_assign(user=users[VIEWER], role=OPERATOR)  # one role at a time
    assert list(users[VIEWER].groups.values_list("name", flat=True)) == [OPERATOR]


@pytest.mark.parametrize("who", [*ROLES, "superuser"])
def test_every_role_reads_every_page(users, who):
    client = _client_for(users[who])
    campaign, call = CampaignFactory(), CallFactory()
    for url in [
        *READ_PAGES,
        f"/campaigns/{campaign.pk}/",
        f"/calls/{call.pk}/",
        f"/agents/{call.agent_version.agent_id}/",
    ]:
        assert client.get(url).status_code == 200, url


def test_a_user_without_a_role_is_refused_every_page_and_anonymous_goes_to_login(users):
    client = _client_for(users["none"])
    for url in READ_PAGES:
        assert client.get(url).status_code == 403, url
    for url in READ_PAGES:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_a_viewers_form_posts_are_403_and_change_nothing(users):
    client = _client_for(users[VIEWER])
    campaign = CampaignFactory()
    draft = AgentVersionFactory(published_at=None)
    experiment = ExperimentFactory()
    posts = [
        (f"/campaigns/{campaign.pk}/start/", {}),
        (f"/agents/versions/{draft.pk}/publish/", {}),
        (f"/agents/versions/{draft.pk}/edit/", {"config": "{}"}),
        (f"/agents/{draft.agent_id}/drafts/", {}),
        (f"/agents/versions/{draft.pk}/rollback/", {}),
        ("/leads/import/", {"file": SimpleUploadedFile("l.csv", b"phone\n4155550101\n"), "default_region": "US"}),
        ("/experiments/new/", {"name": "x"}),
        (f"/experiments/{experiment.pk}/start/", {}),
        (f"/experiments/{experiment.pk}/stop/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    campaign.refresh_from_db()
    draft.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and draft.published_at is None
    assert not LeadImport.objects.exists()


@pytest.mark.parametrize("who", [OPERATOR, ADMIN, "superuser"])
def test_operators_and_admins_act_from_the_console(users, who):
    client = _client_for(users[who])
    campaign = CampaignFactory()
    draft = AgentVersionFactory(published_at=None)
    assert client.post(f"/campaigns/{campaign.pk}/start/").status_code == 302
    assert client.post(f"/agents/versions/{draft.pk}/publish/").status_code == 302
    upload = SimpleUploadedFile("l.csv", b"phone\n4155550101\n")
    assert client.post("/leads/import/", {"file": upload, "default_region": "US"}).status_code == 302
    campaign.refresh_from_db()
    draft.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING and draft.published_at is not None


def test_the_api_reads_for_every_role_with_its_token_and_refuses_a_role_less_one(users):
    CampaignFactory()
    for who in (*ROLES, "superuser"):
        for url in ("/api/campaigns/", "/api/leads/", "/api/calls/", "/api/agents/", "/api/experiments/"):
            assert _api_for(users[who]).get(url).status_code == 200, (who, url)
    assert _api_for(users["none"]).get("/api/campaigns/").status_code == 403
    assert APIClient().get("/api/campaigns/").status_code in (401, 403)


def test_a_viewers_api_writes_are_403(users):
    api = _api_for(users[VIEWER])
    campaign = CampaignFactory()
    version = AgentVersionFactory()
    assert api.post(f"/api/campaigns/{campaign.pk}/start/").status_code == 403
    assert api.patch(f"/api/campaigns/{campaign.pk}/", {"name": "renamed"}, format="json").status_code == 403
    body = {"name": "New", "agent_version": version.pk, "days": [1, 2, 3]}
    assert api.post("/api/campaigns/", body, format="json").status_code == 403
    assert api.post("/api/leads/bulk/", {"leads": [{"phone": "+14155550101"}]}, format="json").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and campaign.name != "renamed"


@pytest.mark.parametrize("who", [OPERATOR, ADMIN])
def test_an_operators_and_an_admins_token_acts(users, who):
    api = _api_for(users[who])
    campaign = CampaignFactory()
    response = api.post(f"/api/campaigns/{campaign.pk}/start/")
    assert response.status_code == 200 and response.json()["status"] == "running"
    created = api.post("/api/leads/bulk/", {"leads": [{"phone": "+14155550101"}]}, format="json")
    assert created.status_code == 201


# --- the console socket ----------------------------------------------------------------------------

PATH = "/ws/console/live/"
SAME_ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def _cookie(user) -> tuple[bytes, bytes]:
    return (b"cookie", f"sessionid={_client_for(user).cookies['sessionid'].value}".encode())


async def _connect(role: str | None):
    from voiceops.asgi import application

    def make():
        user = UserFactory(username=f"sock-{role}", is_staff=False, is_superuser=False)
        if role:
            role_assign(user=user, role=role)
        return _cookie(user)

    cookie = await sync_to_async(make)()
    communicator = WebsocketCommunicator(application, PATH, headers=[SAME_ORIGIN, cookie])
    connected, code = await communicator.connect()
    return communicator, connected, code


@pytest.mark.django_db(transaction=True, reset_sequences=True)
async def test_a_viewer_may_watch_on_the_socket_but_every_action_is_refused():
    communicator, connected, _ = await _connect(VIEWER)
    assert connected
    await communicator.send_to(text_data=json.dumps({"action": "hangup", "call": "x"}))
    assert json.loads(await communicator.receive_from(timeout=5)) == {"error": "forbidden", "action": "hangup"}
    await communicator.send_to(text_data="not json")
    assert json.loads(await communicator.receive_from(timeout=5))["error"] == "forbidden"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True, reset_sequences=True)
async def test_an_operators_socket_action_is_not_refused():
    communicator, connected, _ = await _connect(OPERATOR)
    assert connected
    await communicator.send_to(text_data=json.dumps({"action": "hangup"}))
    assert json.loads(await communicator.receive_from(timeout=5))["error"] != "forbidden"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True, reset_sequences=True)
async def test_a_socket_without_a_role_is_closed():
    _, connected, code = await _connect(None)
    assert not connected and code == 4403


def test_seed_demo_creates_one_user_per_role_and_prints_their_credentials():
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    for _ in range(2):  # idempotent
        out = StringIO()
        call_command("seed_demo", stdout=out)
    users = {u.username: role_of(u) for u in get_user_model().objects.filter(username__startswith="demo")}
    assert users == {"demo": ADMIN, "demo-operator": OPERATOR, "demo-viewer": VIEWER}
    text = out.getvalue()
    assert "demo / voiceops-demo" in text and "demo-operator / voiceops-operator" in text
    assert "demo-viewer / voiceops-viewer" in text
    assert Client().login(username="demo-viewer", password="voiceops-viewer")
