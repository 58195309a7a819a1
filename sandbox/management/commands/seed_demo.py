"""Create (idempotently) the demo users (one per role), agent, number, leads, campaign and experiment."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from agents.models import Agent, AgentVersion, PhoneNumber
from agents.services import agent_version_create_draft, agent_version_publish
from calendars.models import Calendar
from campaigns.models import Campaign, Lead
from campaigns.services import campaign_create
from experiments.models import Experiment, Variant
from sandbox.demo import DEMO_AGENT_NAME, DEMO_CALENDAR_NAME, DEMO_CALENDAR_TIMEZONE, demo_agent_config
from voiceops.roles import ADMIN, OPERATOR, VIEWER, role_assign

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "voiceops-demo"  # noqa: S105  (printed by the run command; local demo only)
# One user per role besides `demo` (a superuser, hence an admin, as before roles existed).
DEMO_ROLE_USERS = [
    ("demo-operator", "voiceops-operator", OPERATOR),
    ("demo-viewer", "voiceops-viewer", VIEWER),
]
DEMO_NUMBER = "+15005550006"
# A dental practice calls its own patients: the demo leads live where the
# practice is (its calendar's zone, New York), so the slots it offers in its
# opening hours are sensible hours for them too (a Los Angeles lead was offered
# "tomorrow at 6 AM"; issue 14).
DEMO_LEADS = [
    ("+12125550101", "Maria", "Lopez", DEMO_CALENDAR_TIMEZONE, {"persona": "booker"}),
    ("+12125550102", "James", "Carter", DEMO_CALENDAR_TIMEZONE, {"persona": "not_interested"}),
    ("+16465550103", "Priya", "Shah", DEMO_CALENDAR_TIMEZONE, {"persona": "call_later"}),
    ("+17185550104", "Tom", "Nguyen", DEMO_CALENDAR_TIMEZONE, {"persona": "voicemail"}),
    ("+19175550105", "Olivia", "Brown", DEMO_CALENDAR_TIMEZONE, {"persona": "booker"}),
]


class Command(BaseCommand):
    help = "Create the demo operator, agent, inbound number, leads, campaign and experiment (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True, "email": "demo@example.com"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        token, _ = Token.objects.get_or_create(user=user)
        role_assign(user=user, role=ADMIN)
        for username, password, role in DEMO_ROLE_USERS:
            member, created = user_model.objects.get_or_create(username=username)
            if created:
                member.set_password(password)
                member.save(update_fields=["password"])
            role_assign(user=member, role=role)

        # The clinic's calendar (weekdays 9-12 and 13-17, New York) comes first:
        # Ava's configuration refers to it by name.
        Calendar.objects.get_or_create(
            name=DEMO_CALENDAR_NAME, defaults={"timezone": DEMO_CALENDAR_TIMEZONE, "slot_minutes": 30}
        )
        agent, _ = Agent.objects.get_or_create(
            name=DEMO_AGENT_NAME, defaults={"description": "Books dental check-ups; runs offline as a flow agent."}
        )
        standard = self._published(agent, "standard", "Demo flow")
        warm = self._published(agent, "warm", "Warmer greeting")
        PhoneNumber.objects.get_or_create(e164=DEMO_NUMBER, defaults={"agent": agent, "label": "Demo inbound line"})

        experiment, _ = Experiment.objects.get_or_create(
            name="Greeting A/B", defaults={"agent": agent, "hypothesis": "A warmer greeting books more appointments."}
        )
        Variant.objects.get_or_create(experiment=experiment, name="A", defaults={"agent_version": standard})
        Variant.objects.get_or_create(experiment=experiment, name="B", defaults={"agent_version": warm})

        campaign = Campaign.objects.filter(name="Demo recall campaign").first() or campaign_create(
            name="Demo recall campaign", agent_version=standard, days=[1, 2, 3, 4, 5, 6]
        )
        for phone, first, last, tz, fields in DEMO_LEADS:
            Lead.objects.get_or_create(
                phone=phone,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "timezone": tz,
                    "custom_fields": fields,
                    "consent": True,
                    "campaign": campaign,
                },
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: log in as {DEMO_USERNAME} / {DEMO_PASSWORD} (API token {token.key}); "
                f"agent '{agent.name}' v{warm.number} live on {DEMO_NUMBER}."
            )
        )
        self.stdout.write(f"  admin:    {DEMO_USERNAME} / {DEMO_PASSWORD}")
        for username, password, role in DEMO_ROLE_USERS:
            self.stdout.write(f"  {role + ':':<9} {username} / {password}")

    def _published(self, agent: Agent, style: str, notes: str) -> AgentVersion:
        existing = agent.versions.filter(notes=notes).order_by("number").first()
        if existing is not None:
            return existing
        draft = agent_version_create_draft(agent=agent, config=demo_agent_config(greeting_style=style), notes=notes)
        return agent_version_publish(version=draft)
