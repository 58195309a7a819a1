"""voiceops.security and the production settings: CSP, log-in limit, API throttles, secure cookies, check --deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from tests.factories import UserFactory
from voiceops.env import env_rate

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_every_console_page_gets_the_strict_policy(operator_client):
    response = operator_client.get(reverse("console:home"))
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert "<script>" not in response.content.decode()  # nothing inline for the policy to refuse


@pytest.mark.django_db
def test_the_api_docs_get_their_own_wider_policy_and_no_inline_script(operator_client):
    page = operator_client.get(reverse("api-docs"))
    assert page.status_code == 200
    assert "https://cdn.jsdelivr.net" in page["Content-Security-Policy"]
    assert "<script>" not in page.content.decode()
    script = operator_client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


@pytest.mark.django_db
def test_report_only_mode_changes_the_header_name(client, settings):
    settings.CSP_REPORT_ONLY = True
    response = client.get(reverse("login"))
    assert "Content-Security-Policy" not in response
    assert "default-src 'self'" in response["Content-Security-Policy-Report-Only"]


@pytest.mark.django_db
def test_failed_logins_are_limited_per_username_and_per_address(client, settings):
    settings.LOGIN_FAILURES_MAX = 3
    settings.LOGIN_FAILURE_WINDOW_S = 600
    UserFactory(username="ada", password="right-password-123")
    for _ in range(3):
        assert client.post(reverse("login"), {"username": "ada", "password": "wrong"}).status_code == 200
    blocked = client.post(reverse("login"), {"username": "ada", "password": "right-password-123"})
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "600"
    assert "Too many failed log-ins. Try again in 10 minutes." in blocked.content.decode()
    assert "_auth_user_id" not in client.session  # the right password did not get through
    # The admin's log-in page is the same door.
    assert client.post(reverse("admin:login"), {"username": "ada", "password": "x"}).status_code == 429
    # Another address, same username: still blocked (the username's own count).
    other = client_from("10.0.0.9")
    assert other.post(reverse("login"), {"username": "ada", "password": "right-password-123"}).status_code == 429


@pytest.mark.django_db
def test_a_good_login_clears_the_usernames_count(client, settings):
    settings.LOGIN_FAILURES_MAX = 3
    UserFactory(username="bo", password="right-password-123")
    for _ in range(2):
        client.post(reverse("login"), {"username": "bo", "password": "wrong"})
    assert client.post(reverse("login"), {"username": "bo", "password": "right-password-123"}).status_code == 302
    client.logout()
    other = client_from("10.0.0.7")
    for _ in range(2):
        assert other.post(reverse("login"), {"username": "bo", "password": "wrong"}).status_code == 200
    # Two failures since the success: under the limit of three.
    assert other.post(reverse("login"), {"username": "bo", "password": "right-password-123"}).status_code == 302


def client_from(address: str):
    from django.test import Client

    return Client(REMOTE_ADDR=address)


@pytest.mark.django_db
def test_the_api_throttles_a_token_past_its_rate(operator, monkeypatch):
    from rest_framework.authtoken.models import Token
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=operator).key}")
    codes = [client.get("/api/calls/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_the_rates_come_from_the_environment_and_bad_ones_stop_start_up():
    assert api_settings.DEFAULT_THROTTLE_CLASSES  # throttles are on for every viewset
    assert env_rate("API_THROTTLE_USER", "1200/min", environ={"API_THROTTLE_USER": "30/s"}) == "30/s"
    for bad in ("fast", "0/min", "10/fortnight", "/min"):
        with pytest.raises(ImproperlyConfigured, match="API_THROTTLE_USER"):
            env_rate("API_THROTTLE_USER", "1200/min", environ={"API_THROTTLE_USER": bad})


PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://voiceops:secret@127.0.0.1:5432/voiceops",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SECRET_KEY": "a-long-production-secret-" + "k" * 40,
    "PUBLIC_BASE_URL": "https://voice.example.com",
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "production-token",
    "WARM_START": "false",
}


def manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE",)}
    clean.update(env, DJANGO_SETTINGS_MODULE="voiceops.settings")
    clean.pop("DEBUG", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_a_production_like_environment(tmp_path):
    env = {**PRODUCTION_ENV, "VOICEOPS_VAR_DIR": str(tmp_path)}
    result = manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_https_turns_on_secure_cookies_hsts_and_the_redirect(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_PROXY_SSL_HEADER)"
    )
    https = manage(["shell", "-c", code], {**PRODUCTION_ENV, "VOICEOPS_VAR_DIR": str(tmp_path)})
    assert https.stdout.strip().splitlines()[-1].split()[:4] == ["True", "True", "True", "31536000"], https.stderr
    plain_env = {**PRODUCTION_ENV, "PUBLIC_BASE_URL": "http://127.0.0.1:8000", "VOICEOPS_VAR_DIR": str(tmp_path)}
    plain = manage(["shell", "-c", code], plain_env)
    assert plain.stdout.strip().splitlines()[-1].split()[:4] == ["False", "False", "False", "0"], plain.stderr
