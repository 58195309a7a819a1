"""Model constraints, in Python and in the database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from agents.models import AgentVersion, PublishedVersionImmutable
from agents.services import VersionAlreadyPublished, agent_version_create_draft, agent_version_publish
from calls.models import Call, CallStatusError
from campaigns.models import Campaign, Lead
from tests.factories import (
    AgentFactory,
    AgentVersionFactory,
    CallFactory,
    ExperimentFactory,
    LeadFactory,
    PhoneNumberFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("phone", ["", "12345", "+1 555 0100", "not a number", "+999999999999", "+44770090012"])
def test_lead_refuses_impossible_phone_numbers(phone):
    with pytest.raises(ValidationError):
        LeadFactory(phone=phone)
    assert not Lead.objects.exists()


def test_lead_refuses_a_non_canonical_phone_number():
    with pytest.raises(ValidationError, match=r"E\.164"):
        LeadFactory(phone="+1 (212) 555-0100")


@pytest.mark.parametrize("zone", ["", "EST5", "Mars/Olympus", "America/New_Yorkk", " Europe/London"])
def test_lead_refuses_bad_timezones(zone):
    with pytest.raises(ValidationError, match="IANA timezone"):
        LeadFactory(timezone=zone)


def test_database_refuses_a_lead_without_e164_phone_even_through_raw_updates():
    lead = LeadFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(phone="2125550100")


def test_database_keeps_do_not_call_and_status_consistent():
    lead = LeadFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(do_not_call=True)


def test_lead_phone_is_unique():
    LeadFactory(phone="+12125550100")
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadFactory(phone="+12125550100")


def test_phone_number_routing_validates_e164():
    with pytest.raises(ValidationError):
        PhoneNumberFactory(e164="555-0100")


def test_call_status_moves_forward():
    call = CallFactory()
    for status in [Call.Status.RINGING, Call.Status.IN_PROGRESS, Call.Status.COMPLETED]:
        call.status = status
        call.save()
    call.refresh_from_db()
    assert call.status == Call.Status.COMPLETED


def test_call_status_cannot_move_backwards():
    call = CallFactory()
    call.status = Call.Status.IN_PROGRESS
    call.save()
    call.status = Call.Status.RINGING
    with pytest.raises(CallStatusError, match="cannot move from in-progress back to ringing"):
        call.save()
    call.refresh_from_db()
    assert call.status == Call.Status.IN_PROGRESS


def test_a_final_call_status_is_final():
    call = CallFactory(status=Call.Status.BUSY)
    call = Call.objects.get(pk=call.pk)
    call.status = Call.Status.COMPLETED
    with pytest.raises(CallStatusError):
        call.save()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigger exists on PostgreSQL only")
def test_database_trigger_refuses_a_backwards_status_through_raw_updates():
    call = CallFactory(status=Call.Status.COMPLETED)
    with pytest.raises(Exception, match="cannot move from completed back to ringing"), transaction.atomic():
        Call.objects.filter(pk=call.pk).update(status=Call.Status.RINGING)
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.filter(pk=call.pk).update(status="exploded")


def test_call_sid_is_unique():
    CallFactory(twilio_call_sid="CA1")
    with pytest.raises(IntegrityError), transaction.atomic():
        CallFactory(twilio_call_sid="CA1")


def test_one_call_per_campaign_attempt():
    version = AgentVersionFactory()
    campaign = Campaign.objects.create(name="c", agent_version=version)
    lead = LeadFactory()
    CallFactory(agent_version=version, campaign=campaign, lead=lead, attempt_number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        CallFactory(agent_version=version, campaign=campaign, lead=lead, attempt_number=1)


def test_campaign_runs_a_version_or_an_experiment_not_both():
    version = AgentVersionFactory()
    experiment = ExperimentFactory(agent=version.agent)
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(name="both", agent_version=version, experiment=experiment)
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(name="neither")


def test_campaign_window_must_be_ordered():
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(
            name="night", agent_version=AgentVersionFactory(), window_start="20:00", window_end="09:00"
        )


def test_publishing_twice_is_refused():
    agent = AgentFactory()
    draft = agent_version_create_draft(agent=agent, config={"brain": "flow", "greeting": "Hi"})
    published = agent_version_publish(version=draft)
    assert published.is_published
    with pytest.raises(VersionAlreadyPublished):
        agent_version_publish(version=published)


def test_published_version_cannot_be_changed_or_deleted():
    agent = AgentFactory()
    version = agent_version_publish(version=agent_version_create_draft(agent=agent, config={"greeting": "Hi"}))
    version = AgentVersion.objects.get(pk=version.pk)
    version.config = {"greeting": "Changed"}
    with pytest.raises(PublishedVersionImmutable):
        version.save()
    with pytest.raises(PublishedVersionImmutable):
        version.delete()
    assert AgentVersion.objects.get(pk=version.pk).config == {"greeting": "Hi"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigger exists on PostgreSQL only")
def test_database_trigger_refuses_changing_a_published_version():
    version = AgentVersionFactory()
    with pytest.raises(Exception, match="is published and cannot be changed"), transaction.atomic():
        AgentVersion.objects.filter(pk=version.pk).update(config={"greeting": "sneaky"})


def test_drafts_are_numbered_in_order_and_stay_editable():
    agent = AgentFactory()
    first = agent_version_create_draft(agent=agent, config={"greeting": "one"})
    second = agent_version_create_draft(agent=agent, config={"greeting": "two"})
    assert (first.number, second.number) == (1, 2)
    first.config = {"greeting": "edited"}
    first.save()
    assert AgentVersion.objects.get(pk=first.pk).config == {"greeting": "edited"}


def test_one_assignment_per_lead_per_experiment():
    variant = VariantFactory()
    lead = LeadFactory()
    variant.assignments.create(experiment=variant.experiment, lead=lead)
    with pytest.raises(IntegrityError), transaction.atomic():
        variant.assignments.create(experiment=variant.experiment, lead=lead)
