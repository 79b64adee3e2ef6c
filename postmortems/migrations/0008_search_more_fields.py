# The search documents now carry service, team, cause-category and failure-class names, what
# went well, action-item descriptions and the parts of dotted host names: rebuild them.

from django.db import migrations


def rebuild(apps, schema_editor):
    # The documents are derived data, rebuilt by the app's own indexer (as the
    # rebuild_search_index command does); an empty archive has nothing to rebuild.
    if not apps.get_model("postmortems", "Postmortem").objects.exists():
        return
    from postmortems.search_index import rebuild_index

    rebuild_index()


class Migration(migrations.Migration):
    dependencies = [
        ("postmortems", "0007_import_ids"),
    ]

    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
