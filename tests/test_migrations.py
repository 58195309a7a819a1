"""Moving Lead, Campaign and LeadImport to `campaigns` and Calendar and Appointment to `calendars`
keeps every row: a database populated at the old schema migrates forward and reads back the same data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# The last migrations of the layout before the move.
OLD_SCHEMA = [
    ("agents", "0003_calendar_appointment"),
    ("calls", "0004_dialer"),
    ("experiments", "0001_initial"),
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_database_at_the_old_schema_migrates_with_its_rows():
    latest = [key for key in MigrationExecutor(connection).loader.graph.leaf_nodes()]
    try:
        old = _migrate(OLD_SCHEMA)
        Agent = old.get_model("agents", "Agent")
        AgentVersion = old.get_model("agents", "AgentVersion")
        OldCalendar = old.get_model("agents", "Calendar")
        OldAppointment = old.get_model("agents", "Appointment")
        OldLead = old.get_model("calls", "Lead")
        OldCampaign = old.get_model("calls", "Campaign")
        OldLeadImport = old.get_model("calls", "LeadImport")
        OldCall = old.get_model("calls", "Call")
        Experiment = old.get_model("experiments", "Experiment")
        Variant = old.get_model("experiments", "Variant")
        Assignment = old.get_model("experiments", "Assignment")

        agent = Agent.objects.create(name="Ava")
        version = AgentVersion.objects.create(agent=agent, number=1, config={"brain": "flow"})
        campaign = OldCampaign.objects.create(name="Spring recall", agent_version=version, days=[1, 2, 3])
        lead = OldLead.objects.create(
            phone="+14155550100", first_name="Jordan", timezone="America/New_York", campaign=campaign
        )
        OldLeadImport.objects.create(filename="leads.csv", content="phone\n", campaign=campaign, total_rows=1)
        call = OldCall.objects.create(
            direction="outbound", agent_version=version, lead=lead, campaign=campaign, to_number=lead.phone
        )
        calendar = OldCalendar.objects.create(name="Bright Smile Dental", timezone="America/New_York")
        start = dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)
        OldAppointment.objects.create(calendar=calendar, start=start, end=start + dt.timedelta(minutes=30), lead=lead)
        experiment = Experiment.objects.create(name="Greeting test", agent=agent)
        variant = Variant.objects.create(experiment=experiment, name="A", agent_version=version, weight=1)
        Assignment.objects.create(experiment=experiment, variant=variant, lead=lead)
        # A database from before the move knows the lead's permissions under calls.
        ContentType.objects.filter(app_label="campaigns", model="lead").delete()
        lead_type = ContentType.objects.create(app_label="calls", model="lead")
        ContentType.objects.clear_cache()

        new = _migrate(latest)
        Lead = new.get_model("campaigns", "Lead")
        Campaign = new.get_model("campaigns", "Campaign")
        LeadImport = new.get_model("campaigns", "LeadImport")
        Call = new.get_model("calls", "Call")
        Calendar = new.get_model("calendars", "Calendar")
        Appointment = new.get_model("calendars", "Appointment")
        NewAssignment = new.get_model("experiments", "Assignment")

        moved_lead = Lead.objects.get(phone="+14155550100")
        assert moved_lead.pk == lead.pk and moved_lead.first_name == "Jordan"
        assert moved_lead.campaign.name == "Spring recall"
        assert Campaign.objects.get(pk=campaign.pk).days == [1, 2, 3]
        assert LeadImport.objects.get(campaign_id=campaign.pk).filename == "leads.csv"
        moved_call = Call.objects.get(pk=call.pk)
        assert (moved_call.lead_id, moved_call.campaign_id) == (lead.pk, campaign.pk)
        appointment = Appointment.objects.get(calendar__name="Bright Smile Dental")
        assert appointment.lead_id == lead.pk and appointment.start == start
        assert Calendar.objects.get(pk=calendar.pk).timezone == "America/New_York"
        assert NewAssignment.objects.get(lead_id=lead.pk).variant_id == variant.pk
        # The tables kept their names: nothing was copied or recreated.
        tables = set(connection.introspection.table_names())
        assert {"calls_lead", "calls_campaign", "calls_leadimport", "agents_calendar", "agents_appointment"} <= tables
        assert not {"campaigns_lead", "calendars_calendar"} & tables
        # Permissions follow the models to their new app.
        assert ContentType.objects.get(app_label="campaigns", model="lead").pk == lead_type.pk
        assert not ContentType.objects.filter(app_label="calls", model="lead").exists()
    finally:
        _migrate(latest)
        ContentType.objects.clear_cache()
