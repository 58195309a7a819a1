"""Lead import from CSV: E.164 numbers, a timezone per lead, custom columns, merged duplicates.

Every bad row is reported with its line and the reason; the good rows are kept.
Rows are written in chunks (one SELECT, one bulk INSERT, one bulk UPDATE each),
and progress is saved after every chunk, so a large file runs as a Celery task
the console can watch.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from phonenumbers import timezone as phone_timezone

from campaigns.models import Campaign, Lead, LeadImport
from voiceops.realtime import broadcast_campaigns_changed
from voiceops.validators import normalize_e164, validate_timezone

log = structlog.get_logger(__name__)

PHONE_COLUMNS = ("phone", "phone_number", "number", "mobile", "telephone")
TIMEZONE_COLUMNS = ("timezone", "time_zone", "tz")
FIRST_NAME_COLUMNS = ("first_name", "firstname", "first")
LAST_NAME_COLUMNS = ("last_name", "lastname", "last")
CONSENT_COLUMNS = ("consent",)
TRUE_WORDS = {"1", "true", "yes", "y", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "off", ""}
CHUNK = 500
MAX_STORED_ERRORS = 1000


class ImportRejected(Exception):
    """The whole file is unusable (not CSV, no phone column): nothing was imported."""


@dataclass
class ParsedRow:
    line: int
    phone: str
    first_name: str = ""
    last_name: str = ""
    timezone: str = ""
    consent: bool | None = None
    custom_fields: dict[str, str] = field(default_factory=dict)


@dataclass
class RowError:
    line: int
    reason: str


@dataclass(frozen=True)
class _Columns:
    """Which header column holds what; the header is lower-cased and trimmed."""

    header: list[str]
    phone: str
    timezone: str | None
    consent: str | None
    first_name: str | None
    last_name: str | None
    custom: list[str]


def _pick(header: list[str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in header:
            return name
    return None


def _columns(raw_header: Sequence[str | None] | None) -> _Columns:
    """Map a CSV header to its columns, or raise ImportRejected when the file cannot be imported at all."""
    header = [(name or "").strip().lower() for name in raw_header or ()]
    if not any(header):
        raise ImportRejected("the file is empty: expected a header row with a phone column")
    phone = _pick(header, PHONE_COLUMNS)
    if phone is None:
        raise ImportRejected(f"no phone column (looked for {', '.join(PHONE_COLUMNS)}); header was {header}")
    zone = _pick(header, TIMEZONE_COLUMNS)
    consent = _pick(header, CONSENT_COLUMNS)
    first, last = _pick(header, FIRST_NAME_COLUMNS), _pick(header, LAST_NAME_COLUMNS)
    reserved = {phone, zone, consent, first, last}
    return _Columns(
        header=header,
        phone=phone,
        timezone=zone,
        consent=consent,
        first_name=first,
        last_name=last,
        custom=[name for name in header if name and name not in reserved],
    )


def _infer_timezone(e164: str) -> str:
    # normalize_e164 hands back text, so parse its (canonical, always parseable) result again for the zone lookup.
    zones = [z for z in phone_timezone.time_zones_for_number(phonenumbers.parse(e164)) if z != "Etc/Unknown"]
    if len(zones) != 1:
        found = ", ".join(zones) or "none"
        raise ValidationError(f"timezone cannot be inferred from the number (candidates: {found}); add a timezone")
    return zones[0]


def _consent(value: bool | str | None) -> bool | None:
    """A JSON boolean as is; a CSV cell as a yes/no word, an empty cell meaning not stated."""
    if not isinstance(value, str):
        return value
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False if word else None
    raise ValidationError(f"consent must be yes/no (or true/false, 1/0), got {value!r}")


def _check_row(
    line: int,
    *,
    phone: str,
    zone: str,
    consent: bool | str | None,
    first_name: str,
    last_name: str,
    custom_fields: dict[str, Any],
    default_region: str,
) -> ParsedRow | RowError:
    """The checks every lead gets, whether it came from a CSV row or a JSON item: the first failure is reported."""
    try:
        e164 = normalize_e164(phone, default_region)
        if zone:
            validate_timezone(zone)
        else:
            zone = _infer_timezone(e164)
        stated = _consent(consent)
        if len(first_name) > 80 or len(last_name) > 80:
            raise ValidationError("a name is longer than 80 characters")
    except ValidationError as exc:
        return RowError(line, "; ".join(exc.messages))
    return ParsedRow(
        line=line,
        phone=e164,
        first_name=first_name,
        last_name=last_name,
        timezone=zone,
        consent=stated,
        custom_fields=custom_fields,
    )


def parse_rows(text: str, *, default_region: str = "US") -> Iterator[ParsedRow | RowError]:
    """Yield each data row parsed, or its error. Raises ImportRejected for an unusable file."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = _columns(reader.fieldnames)
    reader.fieldnames = columns.header
    width = len(columns.header)
    for record in reader:
        line = reader.line_num
        if None in record:  # more cells than header columns
            yield RowError(line, f"{width + len(record[None])} cells for {width} columns")
            continue
        values = {k: (v or "").strip() for k, v in record.items()}
        if not any(values.values()):
            continue  # blank line
        yield _check_row(
            line,
            phone=values[columns.phone],
            zone=values[columns.timezone] if columns.timezone else "",
            consent=values[columns.consent] if columns.consent else None,
            first_name=values[columns.first_name] if columns.first_name else "",
            last_name=values[columns.last_name] if columns.last_name else "",
            custom_fields={col: values[col] for col in columns.custom if values.get(col)},
            default_region=default_region,
        )


def _merge(into: ParsedRow, row: ParsedRow) -> None:
    """A later row of the same number fills in and overrides what it states."""
    into.first_name = row.first_name or into.first_name
    into.last_name = row.last_name or into.last_name
    into.timezone = row.timezone or into.timezone
    into.consent = row.consent if row.consent is not None else into.consent
    into.custom_fields.update(row.custom_fields)


@dataclass
class ChunkResult:
    created: int = 0
    merged: int = 0
    errors: list[RowError] = field(default_factory=list)


@transaction.atomic
def _write_chunk(rows: list[ParsedRow], campaign: Campaign | None) -> ChunkResult:
    result = ChunkResult()
    by_phone: dict[str, ParsedRow] = {}
    for row in rows:
        if row.phone in by_phone:
            _merge(by_phone[row.phone], row)
            result.merged += 1
        else:
            by_phone[row.phone] = row
    now = timezone.now()
    existing = {lead.phone: lead for lead in Lead.objects.select_for_update().filter(phone__in=list(by_phone))}
    to_create: list[Lead] = []
    to_update: list[Lead] = []
    for phone, row in by_phone.items():
        lead = existing.get(phone)
        if lead is None:
            to_create.append(
                Lead(
                    phone=phone,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    timezone=row.timezone,
                    custom_fields=row.custom_fields,
                    consent=bool(row.consent),
                    consent_at=now if row.consent else None,
                    campaign=campaign,
                )
            )
            continue
        if campaign is not None and lead.campaign_id not in (None, campaign.pk) and lead.status == Lead.Status.DIALING:
            result.errors.append(RowError(row.line, f"{phone} is being dialed by another campaign right now"))
            continue
        lead.first_name = row.first_name or lead.first_name
        lead.last_name = row.last_name or lead.last_name
        lead.timezone = row.timezone or lead.timezone
        lead.custom_fields = {**(lead.custom_fields or {}), **row.custom_fields}
        if row.consent is not None and row.consent != lead.consent:
            lead.consent = row.consent
            lead.consent_at = now if row.consent else None
        if campaign is not None:
            lead.campaign = campaign
        lead.updated_at = now
        to_update.append(lead)
        result.merged += 1
    Lead.objects.bulk_create(to_create, batch_size=CHUNK)
    fields = ["first_name", "last_name", "timezone", "custom_fields", "consent", "consent_at", "campaign", "updated_at"]
    Lead.objects.bulk_update(to_update, fields, batch_size=CHUNK)
    result.created = len(to_create)
    return result


def lead_import_create(
    *, filename: str, content: bytes | str, campaign: Campaign | None = None, default_region: str = "US"
) -> LeadImport:
    """Record an upload and run it: inline when small, as a Celery task when large."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRejected(f"the file is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8") from None
    if "\x00" in content:
        raise ImportRejected("the file contains NUL bytes: it is not a CSV text file")
    # Refuse a file without a usable header now, while the uploader is waiting, not later in the worker.
    try:
        _columns(next(csv.reader(io.StringIO(content.lstrip("\ufeff"))), None))
    except csv.Error as exc:
        raise ImportRejected(f"the file is not readable as CSV ({exc})") from None
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ImportRejected(f"unknown default region {default_region!r} (ISO 3166 code such as US, GB)")
    job = LeadImport.objects.create(
        filename=filename[:255],
        content=content,
        campaign=campaign,
        default_region=region,
        total_rows=max(0, content.count("\n") + (0 if content.endswith("\n") else 1) - 1),
    )
    if job.total_rows <= settings.LEAD_IMPORT_INLINE_ROWS:
        lead_import_run(import_id=job.pk)
        job.refresh_from_db()
    else:
        from campaigns.tasks import import_leads_task

        transaction.on_commit(lambda: import_leads_task.delay(job.pk))
    return job


def lead_import_run(*, import_id: int) -> LeadImport:
    job = LeadImport.objects.select_related("campaign").get(pk=import_id)
    if job.status in (LeadImport.Status.DONE, LeadImport.Status.FAILED):
        return job  # a redelivered task: the import already ran
    job.status = LeadImport.Status.RUNNING
    job.save(update_fields=["status"])
    bound = log.bind(import_id=job.pk)
    errors: list[dict[str, Any]] = []
    counts = {"created": 0, "merged": 0, "errors": 0, "processed": 0}

    def flush(chunk: list[ParsedRow]) -> None:
        result = _write_chunk(chunk, job.campaign)
        if job.campaign_id is not None and (result.created or result.merged):
            campaign_id = job.campaign_id
            transaction.on_commit(lambda: broadcast_campaigns_changed([campaign_id]))  # its leads, remaining
        counts["created"] += result.created
        counts["merged"] += result.merged
        for err in result.errors:
            counts["errors"] += 1
            if len(errors) < MAX_STORED_ERRORS:
                errors.append({"line": err.line, "reason": err.reason})
        LeadImport.objects.filter(pk=job.pk).update(
            processed_rows=counts["processed"],
            created_count=counts["created"],
            merged_count=counts["merged"],
            error_count=counts["errors"],
            errors=errors,
        )

    try:
        chunk: list[ParsedRow] = []
        for item in parse_rows(job.content, default_region=job.default_region):
            counts["processed"] += 1
            if isinstance(item, RowError):
                counts["errors"] += 1
                if len(errors) < MAX_STORED_ERRORS:
                    errors.append({"line": item.line, "reason": item.reason})
                continue
            chunk.append(item)
            if len(chunk) >= CHUNK:
                flush(chunk)
                chunk = []
        flush(chunk)
    except (ImportRejected, csv.Error) as exc:
        job.status = LeadImport.Status.FAILED
        job.failure_reason = str(exc)[:300]
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "failure_reason", "finished_at"])
        bound.warning("lead_import_failed", reason=job.failure_reason)
        return job
    LeadImport.objects.filter(pk=job.pk).update(
        status=LeadImport.Status.DONE,
        total_rows=counts["processed"],
        processed_rows=counts["processed"],
        content="",  # the rows live in Lead now; the errors keep their lines
        finished_at=timezone.now(),
    )
    bound.info("lead_import_done", **counts)
    job.refresh_from_db()
    return job


def lead_import_fail(*, import_id: int, reason: str) -> None:
    """Mark an import failed (it ran out of time): a job left running would show progress forever."""
    LeadImport.objects.filter(pk=import_id).exclude(status=LeadImport.Status.DONE).update(
        status=LeadImport.Status.FAILED, failure_reason=reason[:300], finished_at=timezone.now()
    )
    log.warning("lead_import_failed", import_id=import_id, reason=reason)


def parse_items(items: list[Any], *, default_region: str = "US") -> Iterator[ParsedRow | RowError]:
    """The API's bulk create: JSON objects instead of CSV rows; `line` is the item's index."""
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            yield RowError(index, "each lead must be an object")
            continue
        custom = item.get("custom_fields") or {}
        if not isinstance(custom, dict):
            yield RowError(index, "custom_fields must be an object")
            continue
        consent = item.get("consent")
        if consent is not None and not isinstance(consent, bool):
            yield RowError(index, "consent must be true or false")
            continue
        yield _check_row(
            index,
            phone=str(item.get("phone") or ""),
            zone=str(item.get("timezone") or ""),
            consent=consent,
            first_name=str(item.get("first_name") or ""),
            last_name=str(item.get("last_name") or ""),
            custom_fields={str(k): v for k, v in custom.items()},
            default_region=default_region,
        )


def leads_bulk_upsert(
    *, items: list[Any], campaign: Campaign | None, default_region: str = "US"
) -> tuple[int, int, list[dict[str, Any]]]:
    """Create or merge leads from JSON; returns (created, merged, errors by index). Good items are kept."""
    rows: list[ParsedRow] = []
    errors: list[dict[str, Any]] = []
    for item in parse_items(items, default_region=default_region):
        if isinstance(item, RowError):
            errors.append({"index": item.line, "reason": item.reason})
        else:
            rows.append(item)
    result = _write_chunk(rows, campaign)
    errors.extend({"index": e.line, "reason": e.reason} for e in result.errors)
    return result.created, result.merged, sorted(errors, key=lambda e: e["index"])
