"""Retention: delete recordings, transcripts (with the model I/O log) and analyses past their version's days.

Each agent version says how many days after a call ends each kind is kept
(`retention` in its configuration; 0 keeps it for ever). The purge (a beat
task, privacy.tasks) finds what is due per version, deletes it through the
owning apps' services (recordings through the storage API, so local disk and
S3 alike), and records what it deleted in a PurgeRecord (a run that found
nothing due leaves no row).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

import structlog
from django.utils import timezone

from analysis.selectors import call_ids_with_analysis, call_ids_with_exchanges
from analysis.services import analyses_delete, model_exchanges_delete
from calls.selectors import call_ids_with_recording, call_ids_with_turns, calls_ended_before
from calls.services import call_recording_delete, call_transcripts_delete
from privacy.models import PurgeRecord
from privacy.selectors import retention_by_version

log = structlog.get_logger(__name__)


def _due(days_by_version: dict[int, int]) -> dict[int, list[int]]:
    """Versions grouped by their cutoff in days (one query per distinct number of days)."""
    grouped: dict[int, list[int]] = defaultdict(list)
    for version_id, days in days_by_version.items():
        if days > 0:
            grouped[days].append(version_id)
    return grouped


def retention_purge(*, now: dt.datetime | None = None) -> PurgeRecord | None:
    """Delete everything past its retention; returns the record of what went (None: nothing was due)."""
    now = now or timezone.now()
    retention = retention_by_version()
    record = PurgeRecord(ran_at=now)
    purged: dict[str, list[str]] = {"recordings": [], "transcripts": [], "analyses": []}

    for days, version_ids in _due({v: r.recordings_days for v, r in retention.items()}).items():
        calls = calls_ended_before(version_ids=version_ids, before=now - dt.timedelta(days=days))
        for call_id in call_ids_with_recording(calls):
            if call_recording_delete(call_id=call_id):
                record.recordings += 1
                purged["recordings"].append(str(call_id))

    for days, version_ids in _due({v: r.transcripts_days for v, r in retention.items()}).items():
        calls = calls_ended_before(version_ids=version_ids, before=now - dt.timedelta(days=days))
        call_ids: list[uuid.UUID] = sorted(set(call_ids_with_turns(calls)) | set(call_ids_with_exchanges(calls)))
        if call_ids:
            record.transcript_turns += call_transcripts_delete(call_ids=call_ids)
            record.model_exchanges += model_exchanges_delete(call_ids=call_ids)
            purged["transcripts"] += [str(call_id) for call_id in call_ids]

    for days, version_ids in _due({v: r.analysis_days for v, r in retention.items()}).items():
        calls = calls_ended_before(version_ids=version_ids, before=now - dt.timedelta(days=days))
        call_ids = call_ids_with_analysis(calls)
        if call_ids:
            record.analyses += analyses_delete(call_ids=call_ids)
            purged["analyses"] += [str(call_id) for call_id in call_ids]

    if record.total == 0:
        return None
    record.calls = {kind: ids for kind, ids in purged.items() if ids}
    record.save()
    log.info(
        "retention_purged",
        recordings=record.recordings,
        transcript_turns=record.transcript_turns,
        model_exchanges=record.model_exchanges,
        analyses=record.analyses,
    )
    return record
