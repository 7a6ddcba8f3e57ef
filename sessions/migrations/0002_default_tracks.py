"""The three series of the district archive's afternoon micro-classes (下午微课堂)."""

from django.db import migrations

TRACKS = [
    ("业务专家谈业务", "Experts on their field: specialists and invited experts teach one subject in depth.", 10),
    ("业务互帮练能力", "Colleagues help each other build skills: everyone takes a turn at the lectern.", 20),
    ("业务小组谈经验", "Working groups share experience: cases, problems met and how they were solved.", 30),
]


def add_tracks(apps, schema_editor):
    Track = apps.get_model("lectures", "Track")
    for name, description, order in TRACKS:
        Track.objects.get_or_create(name=name, defaults={"description": description, "sort_order": order})


class Migration(migrations.Migration):
    dependencies = [("lectures", "0001_initial")]

    operations = [migrations.RunPython(add_tracks, migrations.RunPython.noop)]
