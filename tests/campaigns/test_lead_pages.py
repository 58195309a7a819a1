"""Leads in the console: search and filters, a lead's history, edit, do-not-call, CSV export, roles, query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from calendars.models import Appointment
from campaigns.models import Lead
from tests.factories import CallFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def _names(response) -> set[str]:
    page = response.content.decode()
    return {lead.first_name for lead in Lead.objects.all() if f"/leads/{lead.pk}/" in page}


def test_search_by_name_or_phone_and_filter(operator_client):
    spring = CampaignFactory(name="Spring")
    LeadFactory(first_name="Maria", last_name="Lopez", phone="+14155550101", campaign=spring)
    LeadFactory(first_name="Olivia", last_name="Smith", phone="+442071838750", timezone="Europe/London")
    LeadFactory(first_name="Omar", last_name="Haddad", phone="+12125550177", custom_fields={"plan": "gold"})
    Lead.objects.filter(first_name="Omar").update(status="retry")
    get = operator_client.get
    assert _names(get("/leads/", {"q": "mari"})) == {"Maria"}
    assert _names(get("/leads/", {"q": "Maria Lopez"})) == {"Maria"}
    assert _names(get("/leads/", {"q": "(415) 555-0101"})) == {"Maria"}  # a whole number, exactly
    assert _names(get("/leads/", {"q": "555-0177"})) == {"Omar"}  # a part of one
    assert _names(get("/leads/", {"q": "+44 20 7183 8750"})) == {"Olivia"}
    assert _names(get("/leads/", {"status": "retry"})) == {"Omar"}
    assert _names(get("/leads/", {"campaign": spring.pk})) == {"Maria"}
    assert _names(get("/leads/", {"timezone": "Europe/London"})) == {"Olivia"}
    assert _names(get("/leads/", {"field": "plan", "value": "gold"})) == {"Omar"}
    assert _names(get("/leads/")) == {"Maria", "Olivia", "Omar"}


def test_bad_filters_are_a_400_beside_the_field(operator_client):
    response = operator_client.get("/leads/", {"status": "nonsense", "value": "gold"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Select a valid choice" in page and "Name the custom field to compare." in page
    assert operator_client.get("/leads/export.csv", {"status": "nonsense"}).status_code == 400


def test_lead_page_shows_calls_bookings_custom_fields_and_local_times(operator_client, clinic_calendar):
    lead = LeadFactory(first_name="Maria", timezone="America/Los_Angeles", custom_fields={"persona": "booker"})
    campaign = CampaignFactory(name="Recall")
    call = CallFactory(lead=lead, campaign=campaign, disposition="booked", status="completed")
    start = timezone.now() + dt.timedelta(days=2)
    Appointment.objects.create(calendar=clinic_calendar, lead=lead, start=start, end=start + dt.timedelta(minutes=30))
    page = operator_client.get(f"/leads/{lead.pk}/").content.decode()
    assert f"/calls/{call.pk}/" in page and "Recall" in page
    assert "Clinic" in page and "persona" in page and "booker" in page
    assert "PST" in page or "PDT" in page  # the lead's local time beside the operator's
    assert "Audit log" in page


def test_operator_edits_a_lead_and_it_is_audited(client, operator_role):
    client.force_login(operator_role)
    lead = LeadFactory(first_name="Maria", consent=False)
    response = client.post(
        f"/leads/{lead.pk}/edit/",
        {
            "phone": lead.phone,
            "first_name": "María",
            "last_name": lead.last_name,
            "timezone": "Europe/Madrid",
            "consent": "on",
        },
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.first_name, lead.timezone, lead.consent) == ("María", "Europe/Madrid", True)
    assert lead.consent_at is not None
    entry = AuditEntry.objects.get(verb="edited the lead")
    assert entry.actor_name == operator_role.username and "timezone" in entry.summary
    assert "phone" not in entry.data["fields"]  # posted as it was: not an edit
    assert client.post(f"/leads/{lead.pk}/edit/", {"key": "plan", "value": "gold"}).status_code == 302
    lead.refresh_from_db()
    assert lead.custom_fields["plan"] == "gold"


def test_a_bad_edit_is_a_400_beside_its_field_and_changes_nothing(operator_client):
    lead = LeadFactory(first_name="Maria")
    response = operator_client.post(
        f"/leads/{lead.pk}/edit/",
        {"phone": lead.phone, "first_name": "Changed", "last_name": "", "timezone": "Mars/Olympus"},
    )
    assert response.status_code == 400
    assert "Mars/Olympus" in response.content.decode() and "field-error" in response.content.decode()
    lead.refresh_from_db()
    assert lead.first_name == "Maria"
    bad_key = operator_client.post(f"/leads/{lead.pk}/edit/", {"key": "no spaces please", "value": "x"})
    assert bad_key.status_code == 400


def _edit(lead, **changes):
    """The edit form as the page posts it: every field with its current value, then the changes."""
    form = {"phone": lead.phone, "first_name": lead.first_name, "last_name": lead.last_name, "timezone": lead.timezone}
    if lead.consent:
        form["consent"] = "on"
    return form | changes


def test_an_operator_changes_a_leads_phone_normalised_and_audited(client, operator_role):
    client.force_login(operator_role)
    lead = LeadFactory(first_name="Maria", phone="+14155550101")
    response = client.post(f"/leads/{lead.pk}/edit/", _edit(lead, phone=" (415) 555-0199 "))
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.phone == "+14155550199"  # the importer's rule: E.164, read in the current number's country
    entry = AuditEntry.objects.get(verb="edited the lead")
    assert entry.data == {"fields": ["phone"], "phone": {"from": "+14155550101", "to": "+14155550199"}}

    london = LeadFactory(phone="+442071838750", timezone="Europe/London")
    assert client.post(f"/leads/{london.pk}/edit/", _edit(london, phone="020 7183 8751")).status_code == 302
    london.refresh_from_db()
    assert london.phone == "+442071838751"


@pytest.mark.parametrize(
    ("typed", "said"),
    [("not a number", "is not a phone number"), ("+1 415 555", "is not a valid phone number"), ("", "required")],
)
def test_a_bad_phone_is_a_400_beside_the_field(operator_client, typed, said):
    lead = LeadFactory(first_name="Maria", phone="+14155550101")
    response = operator_client.post(f"/leads/{lead.pk}/edit/", _edit(lead, phone=typed, first_name="Changed"))
    assert response.status_code == 400
    page = response.content.decode()
    field = page[page.index('name="phone"') :]
    assert said in field[: field.index("</label>")]  # the error sits beside the phone field
    lead.refresh_from_db()
    assert (lead.phone, lead.first_name) == ("+14155550101", "Maria")


def test_a_phone_another_lead_has_is_a_form_error(operator_client):
    spring = CampaignFactory(name="Spring")
    LeadFactory(first_name="Omar", last_name="Haddad", phone="+14155550177", campaign=spring)
    lead = LeadFactory(first_name="Maria", phone="+14155550101", campaign=spring)
    response = operator_client.post(f"/leads/{lead.pk}/edit/", _edit(lead, phone="415-555-0177"))
    assert response.status_code == 400
    assert "+14155550177 already belongs to Omar Haddad in campaign Spring." in response.content.decode()
    lead.refresh_from_db()
    assert lead.phone == "+14155550101"
    assert not AuditEntry.objects.filter(verb="edited the lead").exists()


def test_the_service_refuses_a_taken_or_bad_number_by_field():
    from django.core.exceptions import ValidationError

    from campaigns.services import lead_update

    spring = CampaignFactory(name="Spring")
    LeadFactory(first_name="Omar", last_name="Haddad", phone="+14155550177", campaign=spring)
    lead = LeadFactory(phone="+14155550101")
    with pytest.raises(ValidationError) as taken:
        lead_update(lead_id=lead.pk, phone="+1 415 555 0177")
    assert taken.value.message_dict["phone"] == ["+14155550177 already belongs to Omar Haddad in campaign Spring."]
    with pytest.raises(ValidationError) as bad:
        lead_update(lead_id=lead.pk, phone="12")
    assert "phone" in bad.value.message_dict
    Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.DIALING)
    with pytest.raises(ValidationError) as dialing:
        lead_update(lead_id=lead.pk, phone="+14155550102")
    assert "being dialed" in dialing.value.message_dict["phone"][0]
    assert Lead.objects.get(pk=lead.pk).phone == "+14155550101"


def test_mark_do_not_call(operator_client):
    lead = LeadFactory()
    assert operator_client.post(f"/leads/{lead.pk}/do-not-call/").status_code == 302
    lead.refresh_from_db()
    assert lead.do_not_call and lead.status == "dnc"
    assert AuditEntry.objects.filter(verb="marked do-not-call", target_id=str(lead.pk)).count() == 1
    page = operator_client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Mark do-not-call</button>" not in page
    assert operator_client.post("/leads/999999/do-not-call/").status_code == 404


def test_viewer_reads_but_cannot_edit(viewer_client):
    lead = LeadFactory()
    page = viewer_client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Mark do-not-call" not in page and "Save lead" not in page
    assert viewer_client.post(f"/leads/{lead.pk}/do-not-call/").status_code == 403
    assert viewer_client.post(f"/leads/{lead.pk}/edit/", {"first_name": "x"}).status_code == 403
    lead.refresh_from_db()
    assert not lead.do_not_call


def test_csv_export_of_the_filtered_leads(operator_client):
    campaign = CampaignFactory(name="Spring")
    LeadFactory(first_name="Maria", phone="+14155550101", campaign=campaign, custom_fields={"plan": "gold"})
    LeadFactory(first_name="Olivia")
    response = operator_client.get("/leads/export.csv", {"campaign": campaign.pk})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["first_name"], r["phone"], r["campaign"], r["custom_fields"]) for r in rows] == [
        ("Maria", "+14155550101", "Spring", '{"plan": "gold"}')
    ]


@pytest.mark.parametrize("path", ["/leads/", "/leads/?q=a&status=new", "detail"])
def test_lead_pages_queries_do_not_grow_with_rows(operator_client, django_assert_num_queries, path):
    campaign = CampaignFactory()
    target = LeadFactory(campaign=campaign)
    url = f"/leads/{target.pk}/" if path == "detail" else path

    def add(n):
        for _ in range(n):
            LeadFactory(campaign=CampaignFactory(), first_name="Ana")
            CallFactory(lead=target, campaign=campaign, attempt_number=CallFactory._meta.model.objects.count() + 1)

    add(2)
    operator_client.get(url)
    with CaptureQueriesContext(connection) as first:
        operator_client.get(url)
    add(8)
    with django_assert_num_queries(len(first)):
        operator_client.get(url)


def test_the_export_link_follows_the_filters_of_an_htmx_search(operator_client):
    LeadFactory(first_name="Maria")
    partial = operator_client.get("/leads/", {"q": "maria", "status": "new"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'href="/leads/export.csv?q=maria&amp;status=new"' in partial


def test_add_the_filtered_leads_to_a_campaign(client, operator_role, viewer):
    client.force_login(operator_role)
    target = CampaignFactory(name="Autumn")
    london = [LeadFactory(timezone="Europe/London") for _ in range(3)]
    busy = LeadFactory(timezone="Europe/London", campaign=CampaignFactory())
    Lead.objects.filter(pk=busy.pk).update(status="dialing")
    elsewhere = LeadFactory(timezone="America/Chicago")
    page = client.get("/leads/", {"timezone": "Europe/London"}).content.decode()
    assert "Add these leads to" in page
    response = client.post("/leads/assign/?timezone=Europe/London", {"campaign": target.pk})
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{target.pk}/"
    assert set(Lead.objects.filter(campaign=target).values_list("pk", flat=True)) == {lead.pk for lead in london}
    busy.refresh_from_db()
    elsewhere.refresh_from_db()
    assert busy.campaign_id != target.pk and elsewhere.campaign_id is None  # mid-call, and not selected
    entry = AuditEntry.objects.get(verb="added leads")
    assert entry.summary.startswith("3 leads") and entry.data["filters"] == {"timezone": "Europe/London"}
    stopped = CampaignFactory(status="stopped")
    refused = client.post("/leads/assign/?timezone=Europe/London", {"campaign": stopped.pk}, follow=True)
    assert "cannot add leads to a campaign that is stopped" in refused.content.decode()
    client.force_login(viewer)
    assert "Add these leads to" not in client.get("/leads/").content.decode()
    assert client.post("/leads/assign/", {"campaign": target.pk}).status_code == 403
