"""The forward-only call status rule in the database, generated from `Call.STATUS_RANK`.

`Call.save()` checks a move in Python and names the call in its error. Every
other way to write `calls_call.status` skips save(): `QuerySet.update`,
`bulk_update`, the status webhook's set-based UPDATE (telephony.bulk_sql), raw
SQL. A trigger is the one check that all of them run, so there is one on each
database the product supports: plpgsql on PostgreSQL, a `WHEN` trigger on the
embedded SQLite default. Both are generated here from the same rank table as
`Call.can_move`, so Python and the two databases cannot disagree about the
order; tests/calls/test_status_guard.py compares them move by move.

Both raise an integrity error (SQLSTATE 23514 on PostgreSQL, SQLITE_CONSTRAINT
on SQLite), so a caller sees the same exception class on either database.

A migration that rebuilds `calls_call` on SQLite (Django copies the table to
alter a column) drops its triggers: such a migration must end with
`status_guard_operation()` again (the guard test fails on the SQLite leg if it
does not).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import migrations

from calls.models import Call

_TABLE = Call._meta.db_table
_SAFE_STATUS = re.compile(r"^[a-z-]+$")  # the statuses are quoted into SQL below


def rank_case(expression: str) -> str:
    """An SQL expression giving the rank of the status `expression`, NULL for a status that does not exist."""
    whens = []
    for status, rank in Call.STATUS_RANK.items():
        value = str(status.value)
        if not _SAFE_STATUS.match(value):
            raise ValueError(f"call status {value!r} cannot be written into the guard's SQL")
        whens.append(f"WHEN '{value}' THEN {int(rank)}")
    return f"CASE {expression} {' '.join(whens)} ELSE NULL END"


def postgresql_functions_sql() -> str:
    """The rank function and the trigger function (idempotent: CREATE OR REPLACE)."""
    # The only value interpolated is rank_case()'s, built from the checked status names.
    return f"""
CREATE OR REPLACE FUNCTION calls_status_rank(status text) RETURNS int AS $$
    SELECT {rank_case("status")}
$$ LANGUAGE sql IMMUTABLE;
CREATE OR REPLACE FUNCTION calls_status_forward_only() RETURNS trigger AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status
       AND calls_status_rank(NEW.status) <= calls_status_rank(OLD.status) THEN
        RAISE EXCEPTION 'call % cannot move from % back to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""  # noqa: S608


def sqlite_install_sql() -> str:
    """Triggers refusing an unknown status on insert and a backwards or unknown status on update."""
    new, old = rank_case("NEW.status"), rank_case("OLD.status")
    return f"""
CREATE TRIGGER IF NOT EXISTS calls_status_known BEFORE INSERT ON {_TABLE}
FOR EACH ROW WHEN ({new}) IS NULL
BEGIN SELECT RAISE(ABORT, 'unknown call status'); END;
CREATE TRIGGER IF NOT EXISTS calls_status_forward_only BEFORE UPDATE OF status ON {_TABLE}
FOR EACH ROW WHEN NEW.status IS NOT OLD.status AND (({new}) IS NULL OR ({new}) <= ({old}))
BEGIN SELECT RAISE(ABORT, 'call status cannot move backwards'); END;
"""


SQLITE_REMOVE_SQL = """
DROP TRIGGER IF EXISTS calls_status_known;
DROP TRIGGER IF EXISTS calls_status_forward_only;
"""


def status_guard_install(schema_editor: Any) -> None:
    """Install (or refresh) the guard on the schema editor's database."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        # params=None: the SQL contains '%' literals, not placeholders.
        schema_editor.execute(postgresql_functions_sql(), params=None)
    elif connection.vendor == "sqlite":
        # sqlite3 runs one statement per execute(); CREATE TRIGGER bodies hold
        # their own semicolons, so split on the statement ends only.
        for statement in sqlite_install_sql().split("END;"):
            if statement.strip():
                schema_editor.execute(statement + "END;", params=None)


def status_guard_operation() -> migrations.RunPython:
    """A migration step installing the guard; backwards it removes what it added on SQLite.

    (On PostgreSQL the functions were first created by 0003, whose reverse drops them.)
    """

    def forwards(apps: Any, schema_editor: Any) -> None:
        status_guard_install(schema_editor)

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "sqlite":
            for statement in SQLITE_REMOVE_SQL.strip().splitlines():
                schema_editor.execute(statement, params=None)

    return migrations.RunPython(forwards, backwards)
