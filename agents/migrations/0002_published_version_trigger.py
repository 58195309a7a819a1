"""On PostgreSQL a trigger also refuses any change to a published version.

The model refuses it in Python; the trigger covers raw SQL and queryset updates.
"""

from django.db import migrations

from voiceops.migrations_sql import postgresql_only

CREATE = """
CREATE OR REPLACE FUNCTION agents_version_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.published_at IS NOT NULL THEN
            RAISE EXCEPTION 'agent version % is published and cannot be deleted', OLD.id;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.published_at IS NOT NULL AND (
        NEW.config IS DISTINCT FROM OLD.config OR NEW.published_at IS DISTINCT FROM OLD.published_at
        OR NEW.number IS DISTINCT FROM OLD.number OR NEW.agent_id IS DISTINCT FROM OLD.agent_id
        OR NEW.notes IS DISTINCT FROM OLD.notes
    ) THEN
        RAISE EXCEPTION 'agent version % is published and cannot be changed', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS agents_version_immutable ON agents_agentversion;
CREATE TRIGGER agents_version_immutable BEFORE UPDATE OR DELETE ON agents_agentversion
    FOR EACH ROW EXECUTE FUNCTION agents_version_immutable();
"""
DROP = """
DROP TRIGGER IF EXISTS agents_version_immutable ON agents_agentversion;
DROP FUNCTION IF EXISTS agents_version_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("agents", "0001_initial")]
    operations = [postgresql_only(CREATE, DROP)]
