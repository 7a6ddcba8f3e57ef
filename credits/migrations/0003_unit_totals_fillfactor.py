"""Unit totals leave room in their pages (PostgreSQL), so the award UPSERT is a HOT update.

Every award updates three unit rows (year, quarter, month). None of the columns it
changes (points, entries) is indexed, so PostgreSQL can write the new row version in the
same page without touching the four indexes — but only if the page has room. With the
default fillfactor (100) every page of a freshly built table is full, each update moves
the row to another page and adds an entry to every index, and the few thousand hot rows
bloat quickly (measured: 0.1 % HOT and 17 dead versions per live row after 150,000
awards; with fillfactor 50, 85 % HOT). The table is small (17 rows per unit and year), so
the space costs nothing. CLUSTER rewrites the existing rows with the new fillfactor
(a few thousand rows per year: a moment's exclusive lock).
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE credits_unittotal SET (fillfactor = 50)")
        schema_editor.execute("CLUSTER credits_unittotal USING credits_ut_unit_period")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE credits_unittotal RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("credits", "0002_append_only_trigger")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
