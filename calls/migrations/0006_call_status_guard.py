"""The forward-only status guard on every database: SQLite gets its triggers, PostgreSQL's
functions are regenerated from Call.STATUS_RANK (and raise an integrity error, as SQLite does)."""

from django.db import migrations

from calls.status_sql import status_guard_operation


class Migration(migrations.Migration):
    dependencies = [("calls", "0005_campaigns_moved")]
    operations = [status_guard_operation()]
