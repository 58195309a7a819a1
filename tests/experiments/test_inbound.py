"""Inbound numbers honour experiments: the caller is matched to a lead (or one is created) and answered
with the lead's sticky variant, through the real voice webhook."""

from __future__ import annotations

import pytest

from calls.models import Call
from campaigns.models import Lead
from experiments.models import Assignment
from experiments.services import experiment_stop, inbound_route, variant_pick
from tests.factories import (
    AgentVersionFactory,
    ExperimentFactory,
    LeadFactory,
    PhoneNumberFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

URL = "/twilio/voice/"


@pytest.fixture
def setup():
    experiment = ExperimentFactory(status="running")
    a = VariantFactory(experiment=experiment, name="A", is_control=True)
    b = VariantFactory(experiment=experiment, name="B")
    live = AgentVersionFactory(agent=experiment.agent)  # the newest: what the number answers outside the experiment
    number = PhoneNumberFactory(agent=experiment.agent)
    experiment.phone_numbers.add(number)
    return experiment, number, live, (a, b)


def ring(client, number, caller, sid):
    return client.post(URL, {"CallSid": sid, "From": caller, "To": number.e164, "Direction": "inbound"})


def test_a_known_caller_gets_the_variant_the_hash_deals_and_keeps_it(client, setup):
    experiment, number, _, variants = setup
    lead = LeadFactory(phone="+12125550142")
    assert ring(client, number, lead.phone, "CA" + "1" * 32).status_code == 200
    call = Call.objects.get(twilio_call_sid="CA" + "1" * 32)
    expected = variant_pick(variants=list(variants), key=experiment.key, lead_id=lead.pk)
    assert (call.lead, call.variant, call.agent_version) == (lead, expected, expected.agent_version)
    assert Assignment.objects.get(experiment=experiment, lead=lead).variant == expected
    # Calling again: the same lead, the same variant, one assignment.
    ring(client, number, lead.phone, "CA" + "2" * 32)
    again = Call.objects.get(twilio_call_sid="CA" + "2" * 32)
    assert (again.lead, again.variant) == (lead, expected)
    assert Assignment.objects.filter(experiment=experiment).count() == 1


def test_an_unknown_caller_becomes_a_lead_marked_as_inbound(client, setup):
    experiment, number, _, _ = setup
    ring(client, number, "+14155550177", "CA" + "3" * 32)
    lead = Lead.objects.get(phone="+14155550177")
    assert lead.custom_fields == {"source": "inbound"}
    assert lead.timezone == "America/Los_Angeles"  # the number's one zone
    call = Call.objects.get(twilio_call_sid="CA" + "3" * 32)
    assert call.lead == lead and call.variant is not None
    assert Assignment.objects.filter(experiment=experiment, lead=lead).exists()


def test_a_caller_without_a_number_and_a_stopped_experiment_get_the_live_version(client, setup):
    experiment, number, live, _ = setup
    ring(client, number, "anonymous", "CA" + "4" * 32)
    call = Call.objects.get(twilio_call_sid="CA" + "4" * 32)
    assert (call.agent_version, call.variant, call.lead) == (live, None, None)
    assert not Assignment.objects.exists()

    experiment_stop(experiment=experiment)
    assert inbound_route(number_e164=number.e164, caller="+12125550143") is None
    ring(client, number, "+12125550143", "CA" + "5" * 32)
    call = Call.objects.get(twilio_call_sid="CA" + "5" * 32)
    assert (call.agent_version, call.variant) == (live, None)
    assert not Assignment.objects.exists()


def test_a_number_in_no_experiment_answers_as_before(client):
    live = AgentVersionFactory()
    number = PhoneNumberFactory(agent=live.agent)
    ring(client, number, "+12125550144", "CA" + "6" * 32)
    call = Call.objects.get(twilio_call_sid="CA" + "6" * 32)
    assert (call.agent_version, call.variant, call.lead) == (live, None, None)
    assert not Lead.objects.exists()


def test_a_draft_experiment_deals_nobody(client, setup):
    experiment, number, live, _ = setup
    experiment.status, experiment.started_at = "draft", None
    experiment.save()
    ring(client, number, "+12125550145", "CA" + "7" * 32)
    assert Call.objects.get(twilio_call_sid="CA" + "7" * 32).agent_version == live
    assert not Assignment.objects.exists()
