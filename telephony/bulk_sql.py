"""Set-based reads and writes for the status webhook's batches: one statement each, whatever the batch size.

On PostgreSQL these are plain SQL built once from the models' metadata, with
one array parameter per column: at hundreds of callbacks a second, compiling
the equivalent ORM queries cost more CPU than PostgreSQL spent running them.
Other databases (the embedded SQLite default) take the ORM route, which does
the same thing a query per row where it must.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Field, JSONField, Model, Q

from calls.models import Call, CallEvent

ModelT = TypeVar("ModelT", bound=Model)
EVENT_FIELDS = ("idempotency_key", "call", "call_sid", "kind", "sequence_number", "payload", "received_at")


@contextmanager
def statements_pipelined() -> Iterator[None]:
    """On PostgreSQL, statements inside are sent without waiting for each one's answer (psycopg's pipeline mode).

    The server still runs them one after another, in order, each seeing what
    the previous one did; the client only waits where it reads a result, and
    at the end. Every round trip on the status webhook's database thread also
    waits for the GIL back from the event loop, so at hundreds of callbacks a
    second the batch's round trips, not its CPU, were what the thread spent
    its time on. Only for raw statements whose row counts nobody reads: in
    pipeline mode a cursor's rowcount is not known until the answers arrive,
    and ORM saves check it.
    """
    if not _postgres():
        yield
        return
    connection.ensure_connection()
    with connection.connection.pipeline():
        yield


def calls_lock_and_stored(
    ids: Iterable[uuid.UUID], sids: Iterable[str], keys: Iterable[str]
) -> tuple[list[Call], set[str]]:
    """calls_lock, then events_stored, as one round trip on PostgreSQL (the keys are read after the locks are held)."""
    ids, sids, keys = list(ids), list(sids), list(keys)
    if not _postgres():
        return calls_lock(ids, sids), events_stored(keys)
    with statements_pipelined(), connection.cursor() as lock_cursor, connection.cursor() as keys_cursor:
        lock_cursor.execute(_lock_sql(), [ids, sids])
        keys_cursor.execute(_stored_sql(), [keys])
        rows = lock_cursor.fetchall()
        stored = {key for (key,) in keys_cursor.fetchall()}
    return _models_from_rows(Call, rows), stored


def _models_from_rows(model: type[ModelT], rows: Sequence[Sequence[Any]]) -> list[ModelT]:
    """Instances from rows of all the model's concrete columns in order, as a queryset would build them."""
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    # (JSON arrives as text and is decoded by the field, as in a queryset; PostgreSQL's
    # backend adds no converters of its own.)
    converters = [
        (index, field.get_col(model._meta.db_table), converter)
        for index, field in enumerate(fields)
        for converter in field.get_db_converters(connection)  # type: ignore[attr-defined]  # real, missing from the stubs
    ]
    instances = []
    for row in rows:
        values = list(row)
        for index, column, converter in converters:
            values[index] = converter(values[index], column, connection)
        instances.append(model.from_db(connection.alias, names, values))
    return instances


def calls_lock(ids: Iterable[uuid.UUID], sids: Iterable[str]) -> list[Call]:
    """Lock the calls with these ids or SIDs, in id order (two batches never wait on each other in a cycle)."""
    ids, sids = list(ids), list(sids)
    if _postgres():
        return list(Call.objects.raw(_lock_sql(), [ids, sids]))
    return list(
        Call.objects.select_for_update(of=("self",)).filter(Q(pk__in=ids) | Q(twilio_call_sid__in=sids)).order_by("pk")
    )


def events_stored(keys: Iterable[str]) -> set[str]:
    """The idempotency keys among these that are already stored."""
    keys = list(keys)
    if not _postgres():
        return set(CallEvent.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(_stored_sql(), [keys])
        return {key for (key,) in cursor.fetchall()}


def events_insert(events: Sequence[CallEvent]) -> None:
    """Insert new events; a key stored meanwhile is skipped (the callers checked them under the calls' locks)."""
    if not events:
        return
    if not _postgres():
        CallEvent.objects.bulk_create(events, ignore_conflicts=True)
        return
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), _column_arrays(_fields(CallEvent, EVENT_FIELDS), events))


def rows_update(model: type[ModelT], rows: Sequence[ModelT], fields: Sequence[str]) -> None:
    """Write these fields of rows the caller holds locked, as they are in memory (auto_now is not applied)."""
    if not rows:
        return
    if not _postgres():
        for row in rows:
            row.save(update_fields=fields)
        return
    columns = _fields(model, (model._meta.pk.name, *fields))
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(model, tuple(fields)), _column_arrays(columns, rows))


def _postgres() -> bool:
    return connection.vendor == "postgresql"


# --- PostgreSQL statements, built once from the models ----------------------------------------
# Identifiers come from the models' metadata and every value is a parameter,
# hence the noqa for ruff's SQL-injection check on the f-strings below.


def _fields(model: type[Model], names: Sequence[str]) -> list[Field[Any, Any]]:
    by_name = {field.name: field for field in model._meta.concrete_fields}
    return [by_name[name] for name in names]


def _column_arrays(fields: Sequence[Field[Any, Any]], objects: Sequence[Model]) -> list[list[Any]]:
    """One array per column. psycopg adapts strings, numbers, UUIDs and aware datetimes itself; JSON
    needs Django's preparation (field.get_db_prep_save for every value cost more than the statement)."""
    arrays = []
    for field in fields:
        values = [getattr(obj, field.attname) for obj in objects]
        if isinstance(field, JSONField):
            values = [field.get_db_prep_save(value, connection) for value in values]
        arrays.append(values)
    return arrays


def _unnest(fields: Sequence[Field[Any, Any]]) -> tuple[str, str]:
    """`unnest(%s::type[], ...)` over the fields' columns, and the column list naming its output."""
    arrays = ", ".join(f"%b::{field.db_type(connection)}[]" for field in fields)
    return f"unnest({arrays})", ", ".join(_quote(field.column) for field in fields)


def _quote(name: str) -> str:
    return str(connection.ops.quote_name(name))


@cache
def _lock_sql() -> str:
    columns = ", ".join(_quote(field.column) for field in Call._meta.concrete_fields)
    table, pk, sid = _quote(Call._meta.db_table), _quote("id"), _quote("twilio_call_sid")
    return f"SELECT {columns} FROM {table} WHERE {pk} = ANY(%s::uuid[]) OR {sid} = ANY(%s::varchar[]) ORDER BY {pk} FOR UPDATE"  # noqa: S608, E501


@cache
def _stored_sql() -> str:
    key = _quote("idempotency_key")
    return f"SELECT {key} FROM {_quote(CallEvent._meta.db_table)} WHERE {key} = ANY(%s::varchar[])"  # noqa: S608


@cache
def _insert_sql() -> str:
    source, columns = _unnest(_fields(CallEvent, EVENT_FIELDS))
    table = _quote(CallEvent._meta.db_table)
    return (
        f"INSERT INTO {table} ({columns}) SELECT * FROM {source} ON CONFLICT ({_quote('idempotency_key')}) DO NOTHING"  # noqa: S608
    )


@cache
def _update_sql(model: type[Model], names: tuple[str, ...]) -> str:
    fields = _fields(model, (model._meta.pk.name, *names))
    source, columns = _unnest(fields)
    pk = _quote(fields[0].column)
    assignments = ", ".join(f"{column} = u.{column}" for column in map(_quote, (f.column for f in fields[1:])))
    return f"UPDATE {_quote(model._meta.db_table)} AS t SET {assignments} FROM {source} AS u({columns}) WHERE t.{pk} = u.{pk}"  # noqa: S608, E501
