"""Calendar and Appointment move here from agents; their tables keep the agents_ names."""

import django.db.models.deletion
from django.db import migrations, models

import calendars.models
import voiceops.validators


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("agents", "0003_calendar_appointment"),
        ("campaigns", "0001_initial"),
    ]

    operations = [
        # State only: the tables stay where they are, under their old names.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Appointment",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("start", models.DateTimeField()),
                        ("end", models.DateTimeField()),
                        (
                            "status",
                            models.CharField(
                                choices=[("booked", "Booked"), ("cancelled", "Cancelled")],
                                default="booked",
                                max_length=12,
                            ),
                        ),
                        ("call_id", models.UUIDField(blank=True, db_index=True, null=True)),
                        ("notes", models.CharField(blank=True, max_length=300)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "db_table": "agents_appointment",
                        "ordering": ["start"],
                    },
                ),
                migrations.CreateModel(
                    name="Calendar",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=120, unique=True)),
                        (
                            "timezone",
                            models.CharField(max_length=64, validators=[voiceops.validators.validate_timezone]),
                        ),
                        ("slot_minutes", models.PositiveIntegerField(default=30)),
                        (
                            "availability",
                            models.JSONField(
                                default=calendars.models._default_availability,
                                help_text='ISO weekday ("1" = Monday) to a list of ["HH:MM", "HH:MM"] opening intervals, business-local.',
                            ),
                        ),
                        (
                            "min_notice_minutes",
                            models.PositiveIntegerField(default=60, help_text="No slot starts sooner than this."),
                        ),
                        (
                            "horizon_days",
                            models.PositiveIntegerField(
                                default=14, help_text="No slot is offered further out than this."
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "db_table": "agents_calendar",
                        "ordering": ["name"],
                    },
                ),
                migrations.AddField(
                    model_name="appointment",
                    name="lead",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="appointments",
                        to="campaigns.lead",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="calendar",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("slot_minutes__gte", 5)), name="calendar_slot_minutes_min"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="calendar",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("horizon_days__gte", 1)), name="calendar_horizon_positive"
                    ),
                ),
                migrations.AddField(
                    model_name="appointment",
                    name="calendar",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="appointments",
                        to="calendars.calendar",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="appointment",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("end__gt", models.F("start"))), name="appointment_end_after_start"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="appointment",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("status", "booked")),
                        fields=("calendar", "start"),
                        name="appointment_one_per_slot",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
