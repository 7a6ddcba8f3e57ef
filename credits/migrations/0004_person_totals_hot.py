"""Ranking pages are ordered by `rank_total` (the total as of the last rank refresh), so
an award's UPDATE of a person total changes no indexed column and is a HOT update.

With `total` in the two ranking indexes, each award wrote 12 index entries (3 rows × 4
indexes) at random places of indexes much larger than the buffer cache. Now the award
touches the heap rows only; the rank refresh copies `total` to `rank_total` for the rows
that changed since the previous refresh. On PostgreSQL the table gets room in its pages
(fillfactor 85, needed for HOT updates) and is rewritten in (person, period) order, so an
award's three rows share a page.
"""

from django.db import migrations, models


def copy_totals(apps, schema_editor):
    schema_editor.execute("UPDATE credits_persontotal SET rank_total = total WHERE rank_total <> total")


def repack(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE credits_persontotal SET (fillfactor = 85)")
        schema_editor.execute("CLUSTER credits_persontotal USING credits_pt_person_period")


def unpack(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE credits_persontotal RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ("credits", "0003_unit_totals_fillfactor"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="persontotal",
            name="credits_pt_org_order",
        ),
        migrations.RemoveIndex(
            model_name="persontotal",
            name="credits_pt_unit_order",
        ),
        migrations.AddField(
            model_name="persontotal",
            name="rank_total",
            field=models.DecimalField(db_default=0, decimal_places=2, max_digits=12),
        ),
        migrations.RunPython(copy_totals, migrations.RunPython.noop),
        migrations.RunPython(repack, unpack),
        migrations.AddIndex(
            model_name="persontotal",
            index=models.Index(fields=["period", "root", "-rank_total", "person"], name="credits_pt_org_rank"),
        ),
        migrations.AddIndex(
            model_name="persontotal",
            index=models.Index(fields=["period", "unit", "-rank_total", "person"], name="credits_pt_unit_rank"),
        ),
    ]
