"""Experiment lifecycle (who started, stopped and promoted, and when), a hashing key, inbound numbers,
a marked control variant; existing rows get a key of their own and the dates their status implies."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor):
    Experiment = apps.get_model("experiments", "Experiment")
    for experiment in Experiment.objects.all():
        experiment.key = f"experiment-{experiment.pk}"
        if experiment.status != "draft":
            # The start was never recorded; creation is the latest date known to precede it.
            experiment.started_at = experiment.created_at
            experiment.weights_changed_at = experiment.created_at
        if experiment.status == "stopped":
            experiment.stopped_at = experiment.created_at
        experiment.save(update_fields=["key", "started_at", "stopped_at", "weights_changed_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0004_calendars_moved"),
        ("campaigns", "0001_initial"),
        ("experiments", "0002_assignment_lead_in_campaigns"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="experiment",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        # Added empty, filled one row at a time (a callable default would give
        # every existing row the same key), then made unique.
        migrations.AddField(
            model_name="experiment",
            name="key",
            field=models.SlugField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="experiment",
            name="phone_numbers",
            field=models.ManyToManyField(
                blank=True,
                help_text="Inbound numbers whose callers take part (matched to a lead by their number).",
                related_name="experiments",
                to="agents.phonenumber",
            ),
        ),
        migrations.AddField(
            model_name="experiment",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="experiment",
            name="started_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="experiment",
            name="stopped_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="experiment",
            name="stopped_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="experiment",
            name="weights_changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="experiment",
            name="winner",
            field=models.ForeignKey(
                blank=True,
                help_text="The variant promoted when the experiment stopped (who and when: stopped_by, stopped_at).",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="experiments.variant",
            ),
        ),
        migrations.AddField(
            model_name="variant",
            name="is_control",
            field=models.BooleanField(default=False, help_text="The baseline every other variant is compared with."),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
