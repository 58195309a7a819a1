"""Lead, Campaign and LeadImport now belong to the campaigns app (state only)."""

import django.db.models.deletion
from django.db import migrations, models

from voiceops.migrations_sql import move_content_types


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0004_calendars_moved"),
        ("calls", "0004_dialer"),
        ("campaigns", "0001_initial"),
        ("experiments", "0002_assignment_lead_in_campaigns"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        # State only: the tables stay where they are, under their old names.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="campaign",
                    name="agent_version",
                ),
                migrations.RemoveField(
                    model_name="campaign",
                    name="experiment",
                ),
                migrations.RemoveField(
                    model_name="leadimport",
                    name="campaign",
                ),
                migrations.RemoveField(
                    model_name="lead",
                    name="campaign",
                ),
                migrations.AlterField(
                    model_name="call",
                    name="campaign",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="calls",
                        to="campaigns.campaign",
                    ),
                ),
                migrations.AlterField(
                    model_name="call",
                    name="lead",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="calls",
                        to="campaigns.lead",
                    ),
                ),
                migrations.DeleteModel(
                    name="LeadImport",
                ),
                migrations.DeleteModel(
                    name="Campaign",
                ),
                migrations.DeleteModel(
                    name="Lead",
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            move_content_types("calls", "campaigns", ["lead", "campaign", "leadimport"]), migrations.RunPython.noop
        ),
    ]
