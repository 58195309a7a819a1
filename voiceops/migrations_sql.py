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


def move_content_types(app_from: str, app_to: str, models: list[str]) -> Any:
    """A RunPython step for a model that moved apps: its permissions and admin history follow it.

    The old content type is relabelled; one that a post_migrate signal created
    under the new label in between is dropped first, with its permissions.
    Migrations using it depend on auth and contenttypes.
    """

    def run(apps: Any, schema_editor: Any) -> None:
        content_type = apps.get_model("contenttypes", "ContentType")
        permission = apps.get_model("auth", "Permission")
        for model in models:
            old = content_type.objects.filter(app_label=app_from, model=model).first()
            if old is None:
                continue
            permission.objects.filter(content_type__app_label=app_to, content_type__model=model).delete()
            content_type.objects.filter(app_label=app_to, model=model).delete()
            old.app_label = app_to
            old.save(update_fields=["app_label"])

    return run
