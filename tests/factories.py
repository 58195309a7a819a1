"""factory_boy factories shared by every test module."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from agents.models import Agent, AgentVersion, PhoneNumber
from calls.models import Call
from campaigns.models import Campaign, Lead
from experiments.models import Experiment, Variant


class UserFactory(factory.django.DjangoModelFactory[Any]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"operator{n}")
    password = factory.django.Password("operator-pass-123")
    is_staff = True
    is_superuser = True


class AgentFactory(factory.django.DjangoModelFactory[Agent]):
    class Meta:
        model = Agent

    name = factory.Sequence(lambda n: f"Agent {n}")


class AgentVersionFactory(factory.django.DjangoModelFactory[AgentVersion]):
    """A published version unless `published_at=None` is passed."""

    class Meta:
        model = AgentVersion

    agent = factory.SubFactory(AgentFactory)
    number = factory.Sequence(lambda n: n + 1)
    config: Any = factory.LazyFunction(lambda: {"brain": "flow", "greeting": "Hello {{first_name}}."})
    published_at = factory.LazyFunction(timezone.now)


class PhoneNumberFactory(factory.django.DjangoModelFactory[PhoneNumber]):
    class Meta:
        model = PhoneNumber

    e164 = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    agent = factory.SubFactory(AgentFactory)


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    agent_version = factory.SubFactory(AgentVersionFactory)
    days = factory.LazyFunction(lambda: [1, 2, 3, 4, 5, 6, 7])


class LeadFactory(factory.django.DjangoModelFactory[Lead]):
    class Meta:
        model = Lead

    phone = factory.Sequence(lambda n: f"+1212555{n % 10000:04d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    timezone = "America/New_York"
    consent = True


class CallFactory(factory.django.DjangoModelFactory[Call]):
    class Meta:
        model = Call

    direction = Call.Direction.INBOUND
    agent_version = factory.SubFactory(AgentVersionFactory)
    twilio_call_sid = factory.Sequence(lambda n: f"CA{n:032x}")
    from_number = "+12125550199"
    to_number = "+15005550006"


class ExperimentFactory(factory.django.DjangoModelFactory[Experiment]):
    class Meta:
        model = Experiment

    name = factory.Sequence(lambda n: f"Experiment {n}")
    agent = factory.SubFactory(AgentFactory)
    status = "draft"
    # The lifecycle's dates follow the status, as the database requires.
    started_at = factory.LazyAttribute(lambda o: None if o.status == "draft" else timezone.now())
    stopped_at = factory.LazyAttribute(lambda o: timezone.now() if o.status == "stopped" else None)


class VariantFactory(factory.django.DjangoModelFactory[Variant]):
    class Meta:
        model = Variant

    experiment = factory.SubFactory(ExperimentFactory)
    name = factory.Sequence(lambda n: f"V{n}")
    agent_version = factory.SubFactory(AgentVersionFactory, agent=factory.SelfAttribute("..experiment.agent"))
