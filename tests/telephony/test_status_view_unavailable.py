"""The Django view of POST /twilio/status/ answers 503 (nothing stored, retry later) when the database refuses."""

from __future__ import annotations

import sqlite3

import pytest
from django.db import OperationalError, connection

from calls.models import CallEvent
from tests.campaigns.dialer_support import campaign_attempt, post_status, status_params
from tests.telephony.test_status_webhook import signed

__all__ = ["signed"]


@pytest.mark.django_db
@pytest.mark.usefixtures("signed")
def test_a_database_error_is_a_503_and_a_retry_is_stored(client, monkeypatch):
    from telephony import status

    attempt = campaign_attempt("CA" + "5" * 32)
    params = status_params(attempt, "ringing", 1)
    real_apply = status.status_callbacks_apply

    def unavailable(callbacks):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(status, "status_callbacks_apply", unavailable)
    refused = post_status(client, attempt, params)
    assert refused.status_code == 503 and refused.content == b"callback not stored, retry later"
    monkeypatch.setattr(status, "status_callbacks_apply", real_apply)
    assert post_status(client, attempt, params).status_code == 200  # Twilio's retry: applied, not a duplicate
    assert CallEvent.objects.filter(call=attempt).count() == 1


@pytest.mark.django_db(transaction=True, reset_sequences=True)
@pytest.mark.usefixtures("signed")
def test_a_locked_sqlite_database_is_a_503(client):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's file lock (the embedded default)")
    attempt = campaign_attempt("CA" + "6" * 32)
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("timeout")
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        connection.close()
        options["timeout"] = 0.2  # do not wait the default 20 s for the lock
        other.execute("BEGIN IMMEDIATE")  # another writer holds the database
        response = post_status(client, attempt, status_params(attempt, "ringing", 1))
        assert response.status_code == 503
    finally:
        other.execute("ROLLBACK")
        other.close()
        connection.close()
        options["timeout"] = saved
    assert not CallEvent.objects.filter(call=attempt).exists()
