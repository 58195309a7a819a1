"""Calendar and Appointment now belong to the calendars app (state only)."""

from django.db import migrations

from voiceops.migrations_sql import move_content_types


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0003_calendar_appointment"),
        ("calendars", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        # State only: the tables stay where they are, under their old names.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="appointment",
                    name="calendar",
                ),
                migrations.RemoveField(
                    model_name="appointment",
                    name="lead",
                ),
                migrations.DeleteModel(
                    name="Calendar",
                ),
                migrations.DeleteModel(
                    name="Appointment",
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            move_content_types("agents", "calendars", ["calendar", "appointment"]), migrations.RunPython.noop
        ),
    ]
