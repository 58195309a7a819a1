"""On PostgreSQL a trigger also refuses a call status moving backwards."""

from django.db import migrations

from voiceops.migrations_sql import postgresql_only

CREATE = """
CREATE OR REPLACE FUNCTION calls_status_rank(status text) RETURNS int AS $$
    SELECT CASE status
        WHEN 'queued' THEN 0 WHEN 'initiated' THEN 1 WHEN 'ringing' THEN 2 WHEN 'in-progress' THEN 3
        WHEN 'completed' THEN 4 WHEN 'busy' THEN 4 WHEN 'no-answer' THEN 4 WHEN 'failed' THEN 4
        WHEN 'canceled' THEN 4 ELSE NULL END
$$ LANGUAGE sql IMMUTABLE;
CREATE OR REPLACE FUNCTION calls_status_forward_only() RETURNS trigger AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status
       AND calls_status_rank(NEW.status) <= calls_status_rank(OLD.status) THEN
        RAISE EXCEPTION 'call % cannot move from % back to %', OLD.id, OLD.status, NEW.status;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS calls_status_forward_only ON calls_call;
CREATE TRIGGER calls_status_forward_only BEFORE UPDATE ON calls_call
    FOR EACH ROW EXECUTE FUNCTION calls_status_forward_only();
ALTER TABLE calls_call ADD CONSTRAINT call_status_known CHECK (calls_status_rank(status) IS NOT NULL);
"""
DROP = """
ALTER TABLE calls_call DROP CONSTRAINT IF EXISTS call_status_known;
DROP TRIGGER IF EXISTS calls_status_forward_only ON calls_call;
DROP FUNCTION IF EXISTS calls_status_forward_only();
DROP FUNCTION IF EXISTS calls_status_rank(text);
"""


class Migration(migrations.Migration):
    dependencies = [("calls", "0002_initial")]
    operations = [postgresql_only(CREATE, DROP)]
