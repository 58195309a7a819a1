"""On PostgreSQL a trigger also refuses a call status moving backwards.

The functions come from calls.status_sql, generated from Call.STATUS_RANK
(0006 refreshes them on databases created before that, and adds SQLite).
"""

from django.db import migrations

from calls.status_sql import postgresql_functions_sql
from voiceops.migrations_sql import postgresql_only

CREATE = (
    postgresql_functions_sql()
    + """
DROP TRIGGER IF EXISTS calls_status_forward_only ON calls_call;
CREATE TRIGGER calls_status_forward_only BEFORE UPDATE ON calls_call
    FOR EACH ROW EXECUTE FUNCTION calls_status_forward_only();
ALTER TABLE calls_call ADD CONSTRAINT call_status_known CHECK (calls_status_rank(status) IS NOT NULL);
"""
)
DROP = """
ALTER TABLE calls_call DROP CONSTRAINT IF EXISTS call_status_known;
DROP TRIGGER IF EXISTS calls_status_forward_only ON calls_call;
DROP FUNCTION IF EXISTS calls_status_forward_only();
DROP FUNCTION IF EXISTS calls_status_rank(text);
"""


class Migration(migrations.Migration):
    dependencies = [("calls", "0002_initial")]
    operations = [postgresql_only(CREATE, DROP)]
