"""Retention under a frozen clock: what is past its version's days goes, what is not stays, and it is recorded."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from analysis.models import CallAnalysis, ModelExchange
from calls.models import Call, CallTurn
from privacy.models import ClearTurn, PurgeRecord
from privacy.retention import retention_purge
from privacy.tasks import purge_due
from tests.factories import AgentVersionFactory, CallFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
RETENTION = {"recordings_days": 30, "transcripts_days": 90, "analysis_days": 180}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # default_storage follows the setting
    return tmp_path


def ended_call(version, *, days_ago, recording=True):
    """A finished call with a recording, turns, a model I/O entry and an analysis, ended `days_ago` before NOW."""
    ended = NOW - dt.timedelta(days=days_ago)
    with time_machine.travel(ended - dt.timedelta(minutes=5), tick=False):
        call = CallFactory(agent_version=version, status=Call.Status.COMPLETED, answered_at=ended, ended_at=ended)
    name = ""
    if recording:
        name = default_storage.save(f"recordings/{call.pk}.wav", ContentFile(b"RIFF fake wav"))
        Call.objects.filter(pk=call.pk).update(recording=name)
    first = CallTurn.objects.create(call=call, index=0, speaker="caller", text="card [card]")
    ClearTurn.objects.create(turn=first, text="card 4111 1111 1111 1111")  # keep_clear_text's copy
    CallTurn.objects.create(call=call, index=1, speaker="agent", text="hi")
    ModelExchange.objects.create(call=call, kind="stt", response={"text": "hello"})
    CallAnalysis.objects.create(call=call, status="done", summary="A call.")
    return call, name


def what_is_left(call, name):
    """(recording file, transcript turns, model I/O entries, clear copies, analysis) still there."""
    call.refresh_from_db()
    return (
        bool(call.recording) and default_storage.exists(name),
        CallTurn.objects.filter(call=call).count(),
        ModelExchange.objects.filter(call=call).count(),
        ClearTurn.objects.filter(turn__call=call).count(),
        CallAnalysis.objects.filter(call=call).exists(),
    )


def test_each_kind_goes_after_its_own_days_and_the_purge_is_recorded():
    version = AgentVersionFactory(config={"brain": "scripted", "retention": RETENTION})
    fresh, fresh_file = ended_call(version, days_ago=10)
    month_old, month_file = ended_call(version, days_ago=45)
    quarter_old, quarter_file = ended_call(version, days_ago=120)
    ancient, ancient_file = ended_call(version, days_ago=400)

    with time_machine.travel(NOW, tick=False):
        record = retention_purge()

    assert what_is_left(fresh, fresh_file) == (True, 2, 1, 1, True)
    assert what_is_left(month_old, month_file) == (False, 2, 1, 1, True)
    assert what_is_left(quarter_old, quarter_file) == (False, 0, 0, 0, True)
    assert what_is_left(ancient, ancient_file) == (False, 0, 0, 0, False)
    assert not (default_storage.exists(month_file) or default_storage.exists(ancient_file))

    assert record is not None and record.ran_at == NOW
    assert (record.recordings, record.transcript_turns, record.model_exchanges, record.analyses) == (3, 4, 2, 1)
    assert sorted(record.calls["recordings"]) == sorted(str(c.pk) for c in (month_old, quarter_old, ancient))
    assert sorted(record.calls["transcripts"]) == sorted(str(c.pk) for c in (quarter_old, ancient))
    assert record.calls["analyses"] == [str(ancient.pk)]


def test_time_passing_makes_more_due_and_a_second_run_finds_nothing_twice():
    version = AgentVersionFactory(config={"brain": "scripted", "retention": {"transcripts_days": 7}})
    call, _name = ended_call(version, days_ago=5, recording=False)

    with time_machine.travel(NOW, tick=False):
        assert retention_purge() is None  # nothing due: no record
    assert CallTurn.objects.filter(call=call).count() == 2

    with time_machine.travel(NOW + dt.timedelta(days=3), tick=False):
        purge_due()  # the beat task
        purge_due()
    assert CallTurn.objects.filter(call=call).count() == 0
    assert PurgeRecord.objects.count() == 1


def test_versions_without_retention_keep_everything():
    keeper = AgentVersionFactory(config={"brain": "scripted"})
    call, name = ended_call(keeper, days_ago=3650)
    with time_machine.travel(NOW, tick=False):
        assert retention_purge() is None
    assert what_is_left(call, name) == (True, 2, 1, 1, True)


def test_the_purge_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["retention-purge"]
    assert entry["task"] == purge_due.name == "privacy.retention_purge"


def test_retention_days_are_validated():
    from agents.brains.config import ConfigError, load_config

    with pytest.raises(ConfigError) as refused:
        load_config({"retention": {"recordings_days": -1, "transcripts_days": "30"}})
    assert refused.value.errors == {
        "retention.recordings_days": ["must be at least 0"],
        "retention.transcripts_days": ["must be a whole number"],
    }


def test_keeping_clear_text_needs_redaction_on():
    from agents.brains.config import ConfigError, load_config

    with pytest.raises(ConfigError) as refused:
        load_config({"privacy": {"keep_clear_text": True}})
    assert list(refused.value.errors) == ["privacy.keep_clear_text"]
    assert load_config({"privacy": {"redact_pii": True, "keep_clear_text": True}}).privacy.keep_clear_text
