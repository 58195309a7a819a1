"""audit 0002: accounts that existed before roles keep operating; superusers and role holders are left alone."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from tests.factories import UserFactory
from voiceops.roles import VIEWER, role_assign, role_of

pytestmark = pytest.mark.django_db

migration = importlib.import_module("audit.migrations.0002_existing_users_are_operators")


def test_existing_role_less_users_become_operators():
    old = UserFactory(username="old", is_staff=False, is_superuser=False)
    watcher = UserFactory(username="watcher", is_staff=False, is_superuser=False)
    role_assign(user=watcher, role=VIEWER)
    root = UserFactory(username="root")
    migration.existing_users_to_operator(apps, None)
    assert (role_of(old), role_of(watcher), role_of(root)) == ("operator", "viewer", "admin")
    assert not root.groups.exists()
