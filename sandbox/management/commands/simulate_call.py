"""python manage.py simulate_call --persona NAME: a synthetic caller against a running server."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.personas import PERSONAS, persona_named
from sandbox.simulator import SimulationError, simulate_call


class Command(BaseCommand):
    help = "Call a running voiceops server as Twilio would, speak a persona's lines, print transcript and latency."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persona", required=True, help=f"one of: {', '.join(sorted(PERSONAS))}")
        parser.add_argument("--base-url", default=settings.PUBLIC_BASE_URL, help="server origin (PUBLIC_BASE_URL)")
        parser.add_argument("--to", default="+15005550006", help="the called number (routes to an agent)")
        parser.add_argument("--from", dest="from_number", default="+12125550100")
        parser.add_argument("--barge-in", action="store_true", help="speak the first line over the greeting")
        parser.add_argument("--auth-token", default=settings.TWILIO_AUTH_TOKEN, help="to sign the webhook")
        parser.add_argument("--answer-url", default=None, help="outbound: the dialer's answer URL (?call=...)")
        parser.add_argument("--max-seconds", type=float, default=120.0)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            persona = persona_named(options["persona"])
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from None
        if options["barge_in"]:
            persona = dataclasses.replace(persona, barge_in=True)
        try:
            result = asyncio.run(
                simulate_call(
                    base_url=options["base_url"].rstrip("/"),
                    persona=persona,
                    to_number=options["to"],
                    from_number=options["from_number"],
                    answer_url=options["answer_url"],
                    auth_token=options["auth_token"] or None,
                    direction="outbound" if options["answer_url"] else "inbound",
                    max_seconds=options["max_seconds"],
                )
            )
        except (SimulationError, OSError) as exc:
            raise CommandError(f"simulated call failed: {exc}") from None
        self.stdout.write(f"call {result.call_sid}: ended by {result.ended_by}, {result.clears} clear(s)")
        for speaker, text in result.transcript:
            self.stdout.write(f"  {speaker:>6}: {text}")
        for index, latency in enumerate(result.turn_latencies_ms, start=1):
            self.stdout.write(f"  turn {index}: voice-to-voice {latency:.0f} ms")
        for latency in result.barge_in_clear_ms:
            self.stdout.write(f"  barge-in: clear {latency:.0f} ms after the caller started speaking")
