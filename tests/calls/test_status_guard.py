"""The forward-only call status rule holds on every write path, on PostgreSQL and on SQLite.

Call.save() checks in Python; everything else (QuerySet.update, bulk_update,
the status webhook's set-based UPDATE, raw SQL) meets the database trigger
generated from Call.STATUS_RANK. Each test moves a completed call back to
ringing through one path and checks the move is refused and the row kept.
"""

from __future__ import annotations

import itertools

import pytest
from django.db import IntegrityError, connection, transaction

from calls.models import Call, CallStatusError
from telephony import bulk_sql
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db

COMPLETED, RINGING = Call.Status.COMPLETED, Call.Status.RINGING


@pytest.fixture
def completed_call():
    return CallFactory(status=COMPLETED)


def assert_still_completed(call: Call) -> None:
    assert Call.objects.get(pk=call.pk).status == COMPLETED


def test_save_refuses_a_backwards_move(completed_call):
    call = Call.objects.get(pk=completed_call.pk)
    call.status = RINGING
    with pytest.raises(CallStatusError, match="cannot move from completed back to ringing"), transaction.atomic():
        call.save()
    assert_still_completed(call)


def test_an_instance_that_never_read_its_row_still_cannot_move_it_back(completed_call):
    # Built by hand with the row's pk: save() has no old status to check, the database does.
    stale = Call(
        pk=completed_call.pk,
        direction=completed_call.direction,
        agent_version_id=completed_call.agent_version_id,
        created_at=completed_call.created_at,
        status=RINGING,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        stale.save(force_update=True)
    assert_still_completed(completed_call)


def test_queryset_update_refuses_a_backwards_move(completed_call):
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.filter(pk=completed_call.pk).update(status=RINGING)
    assert_still_completed(completed_call)


def test_bulk_update_refuses_a_backwards_move(completed_call):
    call = Call(pk=completed_call.pk, status=RINGING)
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.bulk_update([call], ["status"])
    assert_still_completed(completed_call)


@pytest.mark.parametrize("route", ["vendor", "orm"])
def test_the_status_webhooks_set_based_update_refuses_a_backwards_move(completed_call, route, monkeypatch):
    """telephony.bulk_sql.rows_update: one UPDATE ... FROM unnest() on PostgreSQL, saves on the ORM route."""
    if route == "orm":
        monkeypatch.setattr(bulk_sql, "_postgres", lambda: False)
    call = Call.objects.get(pk=completed_call.pk)
    call.status = RINGING
    # CallStatusError (the ORM route's save) is an IntegrityError too: one exception for every path.
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_sql.rows_update(Call, [call], ["status"])
    assert_still_completed(completed_call)


def test_raw_sql_refuses_a_backwards_move(completed_call):
    table = connection.ops.quote_name(Call._meta.db_table)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET status = %s WHERE id = %s", [RINGING.value, completed_call.pk.hex])  # noqa: S608
    assert_still_completed(completed_call)


def test_an_unknown_status_is_refused_on_insert_and_on_update(completed_call):
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.filter(pk=completed_call.pk).update(status="exploded")
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.bulk_create(
            [Call(direction="inbound", agent_version_id=completed_call.agent_version_id, status="x")]
        )
    assert_still_completed(completed_call)


def test_forward_moves_and_same_status_writes_go_through():
    call = CallFactory(status=Call.Status.QUEUED)
    for status in (Call.Status.INITIATED, Call.Status.IN_PROGRESS, Call.Status.IN_PROGRESS, Call.Status.BUSY):
        Call.objects.filter(pk=call.pk).update(status=status)
    Call.objects.filter(pk=call.pk).update(failure_reason="a final call's other fields stay writable")
    call.refresh_from_db()
    assert (call.status, call.failure_reason) == (Call.Status.BUSY, "a final call's other fields stay writable")


def test_the_database_agrees_with_can_move_for_every_pair_of_statuses():
    """The trigger's SQL and Call.can_move come from one rank table: they never disagree."""
    call = CallFactory(status=Call.Status.QUEUED)
    refused = []
    for old, new in itertools.product(Call.Status, repeat=2):
        # Put the row in `old` without the guard's say (a fresh insert), then ask the database for `new`.
        Call.objects.filter(pk=call.pk).delete()
        Call.objects.bulk_create(
            [Call(pk=call.pk, direction="inbound", agent_version_id=call.agent_version_id, status=old)]
        )
        try:
            with transaction.atomic():
                Call.objects.filter(pk=call.pk).update(status=new)
        except IntegrityError:
            refused.append((old.value, new.value))
    expected = [(o.value, n.value) for o, n in itertools.product(Call.Status, repeat=2) if not Call.can_move(o, n)]
    assert refused == expected
    assert len(expected) > 30  # the table is not trivially permissive
