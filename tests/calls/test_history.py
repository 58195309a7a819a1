"""Call history: filters, full-text search over transcripts (GIN-indexed on PostgreSQL), bad filters, paging."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.history import turns_matching
from calls.models import Call, CallTurn
from tests.factories import AgentVersionFactory, CallFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def _call(version, *, said="", created=None, **fields):
    call = CallFactory(agent_version=version, **fields)
    if created is not None:
        Call.objects.filter(pk=call.pk).update(created_at=created)
    if said:
        CallTurn.objects.create(call=call, index=0, speaker="caller", text=said)
    return call


def _shown(response) -> set[str]:
    page = response.content.decode()
    return {str(call.pk) for call in Call.objects.all() if f"/calls/{call.pk}/" in page}


def test_each_filter_narrows_the_list(operator_client):
    a, b = AgentVersionFactory(), AgentVersionFactory()
    campaign = CampaignFactory(agent_version=a)
    long_booked = _call(a, disposition="booked", duration_seconds=200, campaign=campaign, direction="outbound")
    short = _call(a, disposition="voicemail", duration_seconds=5)
    other_agent = _call(b, disposition="booked", duration_seconds=90)
    old = _call(a, disposition="booked", created=timezone.now() - dt.timedelta(days=10))
    get = operator_client.get
    assert _shown(get("/calls/", {"agent": a.agent.pk})) == {str(c.pk) for c in (long_booked, short, old)}
    assert _shown(get("/calls/", {"version": b.pk})) == {str(other_agent.pk)}
    assert _shown(get("/calls/", {"campaign": campaign.pk})) == {str(long_booked.pk)}
    assert _shown(get("/calls/", {"direction": "outbound"})) == {str(long_booked.pk)}
    assert _shown(get("/calls/", {"disposition": "voicemail"})) == {str(short.pk)}
    assert _shown(get("/calls/", {"min_duration": 60, "max_duration": 100})) == {str(other_agent.pk)}
    week_ago = (timezone.localdate() - dt.timedelta(days=7)).isoformat()
    assert str(old.pk) not in _shown(get("/calls/", {"date_from": week_ago}))
    assert _shown(get("/calls/", {"date_to": week_ago})) == {str(old.pk)}


def test_full_text_search_finds_transcripts(operator_client):
    version = AgentVersionFactory()
    booking = _call(version, said="Could I book an appointment for Tuesday?")
    _call(version, said="Please take me off your list.")
    response = operator_client.get("/calls/", {"q": "appointment"})
    assert response.status_code == 200 and _shown(response) == {str(booking.pk)}
    if connection.vendor == "postgresql":
        # English stemming: "appointments" finds "appointment"; a websearch phrase in quotes too.
        assert _shown(operator_client.get("/calls/", {"q": "appointments"})) == {str(booking.pk)}
        assert _shown(operator_client.get("/calls/", {"q": '"book an appointment"'})) == {str(booking.pk)}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search and its GIN index")
def test_search_can_use_the_gin_index():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned; can the index serve it?
        sql, params = turns_matching("appointment").values("call_id").query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "callturn_text_fts" in plan


def test_bad_filters_are_a_400_with_the_reason_beside_the_field(operator_client):
    response = operator_client.get("/calls/", {"min_duration": "long", "date_from": "2026-02-30"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a whole number." in page and "Enter a valid date." in page
    reversed_range = operator_client.get("/calls/", {"date_from": "2026-03-02", "date_to": "2026-03-01"})
    assert reversed_range.status_code == 400 and "end date is before the start date" in reversed_range.content.decode()
    assert operator_client.get("/calls/", {"agent": "999999"}).status_code == 400


def test_pages_of_25_newest_first_and_filters_kept_across_pages(operator_client):
    version = AgentVersionFactory()
    start = timezone.now() - dt.timedelta(hours=1)
    calls = [_call(version, disposition="booked", created=start + dt.timedelta(minutes=i)) for i in range(30)]
    first = operator_client.get("/calls/", {"disposition": "booked"})
    assert len(_shown(first)) == 25 and str(calls[-1].pk) in _shown(first)
    assert "disposition=booked&amp;page=2" in first.content.decode()
    second = operator_client.get("/calls/", {"disposition": "booked", "page": 2})
    assert _shown(second) == {str(c.pk) for c in calls[:5]}
    assert operator_client.get("/calls/", {"page": "zzz"}).status_code == 200  # a bad page number is page 1


def test_history_partial_for_htmx(operator_client):
    _call(AgentVersionFactory())
    partial = operator_client.get("/calls/", {"direction": "inbound"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "1 call" in partial


def test_history_queries_do_not_grow_with_rows(operator_client, django_assert_num_queries):
    def add(n):
        for _ in range(n):
            version = AgentVersionFactory()
            _call(
                version,
                said="an appointment please",
                lead=LeadFactory(),
                campaign=CampaignFactory(agent_version=version),
            )

    add(2)
    operator_client.get("/calls/?q=appointment")
    with CaptureQueriesContext(connection) as first:
        operator_client.get("/calls/?q=appointment")
    add(10)
    with django_assert_num_queries(len(first)):
        operator_client.get("/calls/?q=appointment")


def test_call_page_draws_the_latency_waterfall(operator_client):
    call = _call(AgentVersionFactory(), said="hi")
    timings = {"stt_done": 310, "first_brain_text": 420, "first_tts_audio": 510, "first_frame_sent": 530}
    CallTurn.objects.create(call=call, index=1, speaker="agent", text="Hello!", timings=timings)
    CallTurn.objects.create(call=call, index=2, speaker="agent", text="Bye", timings={"first_frame_sent": 90})
    page = operator_client.get(f"/calls/{call.pk}/").content.decode()
    assert "Turn latency" in page and "<svg" in page
    assert page.count('<rect class="stage stage-') == 5 + 5  # waterfall: four of turn 1, one of turn 2; bars: same
    assert "first frame sent at 530 ms" in page and "turn 2" in page
    bare = _call(AgentVersionFactory())
    assert "No reply timings recorded" in operator_client.get(f"/calls/{bare.pk}/").content.decode()


def test_a_search_counts_up_to_a_cap(operator_client, monkeypatch):
    monkeypatch.setattr("calls.paging.COUNT_CAP", 3)
    version = AgentVersionFactory()
    for _ in range(5):
        _call(version, said="an appointment please")
    searched = operator_client.get("/calls/", {"q": "appointment"}).content.decode()
    assert "More than 3 calls" in searched
    assert "5 calls" in operator_client.get("/calls/").content.decode()  # a plain list counts exactly
