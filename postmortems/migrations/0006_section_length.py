# Sections are limited to MAX_MARKDOWN_LENGTH characters (postmortems/markdown.py).

from django.db import migrations, models

import postmortems.markdown

SECTIONS = [
    "summary",
    "impact",
    "root_cause",
    "contributing_factors",
    "what_went_well",
    "what_could_be_improved",
    "where_we_got_lucky",
    "lessons",
]


class Migration(migrations.Migration):
    dependencies = [
        ("postmortems", "0005_timestamp_bounds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="postmortem",
            name=name,
            field=models.TextField(blank=True, validators=[postmortems.markdown.validate_markdown_length]),
        )
        for name in SECTIONS
    ]
