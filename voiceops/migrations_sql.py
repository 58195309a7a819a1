"""Raw SQL run by migrations on PostgreSQL only (triggers the ORM cannot express).

The embedded default runs on SQLite, which has no plpgsql; the same rules are
enforced in Python there, so these operations are no-ops on other databases.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def postgresql_only(create_sql: str, drop_sql: str) -> migrations.RunPython:
    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            # params=None: the SQL contains '%' literals, not placeholders.
            schema_editor.execute(create_sql, params=None)

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(drop_sql, params=None)

    return migrations.RunPython(forwards, backwards)
