"""CSV lead import: E.164, timezones given or inferred, custom fields, merged duplicates, bad rows."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns.importer import ImportRejected, lead_import_create, leads_bulk_upsert
from campaigns.models import Lead, LeadImport
from tests.factories import CampaignFactory, LeadFactory
from voiceops.validators import normalize_e164

pytestmark = pytest.mark.django_db

CSV = """phone,first_name,last_name,timezone,consent,plan,persona
(415) 555-0101,Maria,Lopez,,yes,gold,booker
+44 20 7183 8750,Olivia,Brown,,true,,voicemail
212-555-0102,James,Carter,America/New_York,no,silver,
not a number,Bad,Row,,yes,,
+1 415 555 0101,,,,,platinum,
312-555-0103,Priya,Shah,Mars/Olympus,yes,,
,Empty,Phone,,yes,,
303-555-0104,Tom,Nguyen,America/Denver,maybe,,
"""


def test_good_rows_are_kept_and_every_bad_row_is_reported_with_its_line():
    campaign = CampaignFactory()
    job = lead_import_create(filename="leads.csv", content=CSV.encode(), campaign=campaign)
    assert job.status == LeadImport.Status.DONE
    assert (job.created_count, job.merged_count, job.error_count) == (3, 1, 4)
    lines = {e["line"]: e["reason"] for e in job.errors}
    assert set(lines) == {5, 7, 8, 9}
    assert "not a phone number" in lines[5]
    assert "Mars/Olympus" in lines[7]
    assert "empty" in lines[8]
    assert "consent" in lines[9]
    maria = Lead.objects.get(phone="+14155550101")
    # Line 6 is the same number: merged, the later plan wins, the name stays.
    assert (maria.first_name, maria.timezone, maria.consent) == ("Maria", "America/Los_Angeles", True)
    assert maria.custom_fields == {"plan": "platinum", "persona": "booker"}
    assert maria.campaign_id == campaign.pk and maria.consent_at is not None
    olivia = Lead.objects.get(phone="+442071838750")
    assert olivia.timezone == "Europe/London"  # inferred from the number
    assert Lead.objects.get(phone="+12125550102").consent is False


def test_existing_leads_are_merged_not_duplicated():
    lead = LeadFactory(phone="+12125550102", first_name="Jim", custom_fields={"plan": "bronze", "vip": "1"})
    job = lead_import_create(filename="a.csv", content="phone,first_name,plan\n2125550102,James,silver\n")
    assert (job.created_count, job.merged_count, job.error_count) == (0, 1, 0)
    lead.refresh_from_db()
    assert lead.first_name == "James"
    assert lead.custom_fields == {"plan": "silver", "vip": "1"}
    assert Lead.objects.count() == 1


def test_ambiguous_timezone_needs_a_column():
    # A Canadian toll-free number belongs to no single zone.
    job = lead_import_create(filename="a.csv", content="phone\n+1 800 555 0199\n")
    assert job.error_count == 1 and "timezone" in job.errors[0]["reason"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,email\nA,a@example.com\n", "no phone column"),
        (b"", "empty"),
        (b"phone\n\xff\xfe+1415\n", "not UTF-8"),
    ],
)
def test_unusable_files_are_refused_whole(content, message):
    try:
        job = lead_import_create(filename="x.csv", content=content)
    except ImportRejected as exc:
        assert message in str(exc)
    else:
        assert job.status == LeadImport.Status.FAILED and message in job.failure_reason
    assert Lead.objects.count() == 0


def test_large_file_runs_as_a_task_with_progress(settings, django_capture_on_commit_callbacks):
    settings.LEAD_IMPORT_INLINE_ROWS = 10
    rows = "".join(f"+1212555{n:04d},Lead{n},America/New_York\n" for n in range(1200))
    with django_capture_on_commit_callbacks(execute=True):
        job = lead_import_create(filename="big.csv", content="phone,first_name,timezone\n" + rows)
    assert job.status == LeadImport.Status.PENDING  # handed to the worker (eager here)
    job.refresh_from_db()
    assert job.status == LeadImport.Status.DONE
    assert (job.processed_rows, job.total_rows, job.created_count, job.percent) == (1200, 1200, 1200, 100)
    assert job.content == ""


def test_management_command(tmp_path, capsys):
    campaign = CampaignFactory(name="Spring recall")
    path = tmp_path / "leads.csv"
    path.write_text(CSV)
    call_command("import_leads", str(path), "--campaign", "Spring recall")
    out, err = capsys.readouterr()
    assert "3 created, 1 merged, 4 refused" in out
    assert "line 5:" in err and "line 9:" in err
    assert Lead.objects.filter(campaign=campaign).count() == 3
    with pytest.raises(CommandError, match="no campaign named"):
        call_command("import_leads", str(path), "--campaign", "Nope")


@pytest.mark.parametrize("phone", ["", "not a number", "12", "+1 555"])
def test_csv_and_api_report_a_bad_phone_as_the_shared_validator_does(phone):
    with pytest.raises(ValidationError) as expected:
        normalize_e164(phone, "US")
    reason = "; ".join(expected.value.messages)
    job = lead_import_create(filename="a.csv", content=f'phone,first_name\n"{phone}",Ann\n')
    assert [e["reason"] for e in job.errors] == [reason]
    created, merged, errors = leads_bulk_upsert(items=[{"phone": phone}], campaign=None)
    assert (created, merged, errors) == (0, 0, [{"index": 0, "reason": reason}])


def test_csv_and_api_apply_the_same_row_checks():
    rows = [
        {"phone": "+14155550101", "timezone": "Mars/Olympus"},
        {"phone": "+18005550199"},  # toll-free: no single zone to infer
        {"phone": "+14155550102", "first_name": "x" * 81},
        {"phone": "+14155550103", "timezone": "America/Chicago", "first_name": "Ann"},
    ]
    csv_text = "phone,timezone,first_name\n" + "".join(
        f"{r['phone']},{r.get('timezone', '')},{r.get('first_name', '')}\n" for r in rows
    )
    job = lead_import_create(filename="a.csv", content=csv_text)
    _, _, api_errors = leads_bulk_upsert(items=rows[:3], campaign=None)
    # CSV lines count the header; API indexes do not.
    assert [(e["line"] - 2, e["reason"]) for e in job.errors] == [(e["index"], e["reason"]) for e in api_errors]
    assert len(api_errors) == 3 and job.created_count == 1
    assert Lead.objects.get().timezone == "America/Chicago"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (" , ,\n+14155550101,,\n", "empty"),
        ('phone,"' + "x" * 200_000 + '"\n+14155550101,a\n', "not readable as CSV"),
    ],
)
def test_a_header_that_cannot_be_used_is_refused_before_anything_is_stored(content, message):
    with pytest.raises(ImportRejected, match=message):
        lead_import_create(filename="x.csv", content=content)
    assert not LeadImport.objects.exists() and not Lead.objects.exists()
