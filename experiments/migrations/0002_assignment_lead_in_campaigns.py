"""Assignment.lead points at the Lead model in its new app (same table, same key)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("experiments", "0001_initial"),
    ]

    operations = [
        # State only: the tables stay where they are, under their old names.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="assignment",
                    name="lead",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="assignments", to="campaigns.lead"
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
