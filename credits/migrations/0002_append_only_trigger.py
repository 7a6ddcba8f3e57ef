"""The ledger is append-only in the database too (PostgreSQL): UPDATE and DELETE of a
credit entry raise, whatever client runs them. TRUNCATE stays possible for operators
(and test teardown); SQLite relies on the checks in code.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION credits_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'credits_creditentry is append-only: % refused; record a reversal instead', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS credits_entry_append_only ON credits_creditentry;
CREATE TRIGGER credits_entry_append_only
    BEFORE UPDATE OR DELETE ON credits_creditentry
    FOR EACH ROW EXECUTE FUNCTION credits_entry_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS credits_entry_append_only ON credits_creditentry;
DROP FUNCTION IF EXISTS credits_entry_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
