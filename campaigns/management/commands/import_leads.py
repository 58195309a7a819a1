"""python manage.py import_leads FILE [--campaign NAME] [--region US]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.importer import ImportRejected, lead_import_run
from campaigns.models import Campaign, LeadImport


class Command(BaseCommand):
    help = "Import leads from a CSV file (phone required; timezone, first_name, last_name, consent optional)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--campaign", help="Name of the campaign the leads join.")
        parser.add_argument("--region", default="US", help="Region for numbers without a country code (ISO 3166).")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        campaign = None
        if options["campaign"]:
            campaign = Campaign.objects.filter(name=options["campaign"]).first()
            if campaign is None:
                raise CommandError(f"no campaign named {options['campaign']!r}")
        from campaigns.importer import lead_import_create

        # The command runs the import here, in this process, whatever the file size.
        with self.settings_inline():
            try:
                job = lead_import_create(
                    filename=path.name, content=path.read_bytes(), campaign=campaign, default_region=options["region"]
                )
            except ImportRejected as exc:
                raise CommandError(str(exc)) from None
        if job.status != LeadImport.Status.DONE:
            job = lead_import_run(import_id=job.pk)
        for error in job.errors:
            self.stderr.write(f"line {error['line']}: {error['reason']}")
        if job.status == LeadImport.Status.FAILED:
            raise CommandError(f"import failed: {job.failure_reason}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{job.processed_rows} rows: {job.created_count} created, {job.merged_count} merged, "
                f"{job.error_count} refused"
            )
        )

    def settings_inline(self) -> Any:
        from django.test.utils import override_settings

        return override_settings(LEAD_IMPORT_INLINE_ROWS=10**9)
