"""Experiments made before the lifecycle migrations get a key each and the dates their status implies."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("experiments", "0002_assignment_lead_in_campaigns")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_existing_experiments_get_unique_keys_and_consistent_dates():
    latest = list(MigrationExecutor(connection).loader.graph.leaf_nodes())
    try:
        old = _migrate(BEFORE)
        Agent = old.get_model("agents", "Agent")
        Experiment = old.get_model("experiments", "Experiment")
        agent = Agent.objects.create(name="Ava")
        ids = {
            status: Experiment.objects.create(name=f"Old {status}", agent=agent, status=status).pk
            for status in ("draft", "running", "stopped")
        }

        new = _migrate(latest)
        Migrated = new.get_model("experiments", "Experiment")
        rows = {row.status: row for row in Migrated.objects.filter(pk__in=ids.values())}
        assert len({row.key for row in rows.values()}) == 3 and all(row.key for row in rows.values())
        assert rows["draft"].started_at is None and rows["draft"].stopped_at is None
        assert rows["running"].started_at == rows["running"].created_at and rows["running"].stopped_at is None
        assert rows["stopped"].stopped_at == rows["stopped"].created_at
        assert rows["running"].weights_changed_at == rows["running"].started_at
    finally:
        _migrate(latest)
