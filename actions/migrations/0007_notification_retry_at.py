from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("actions", "0006_timestamp_bounds"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="retry_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Its task is queued or waiting to retry until then; the sweep leaves it alone.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="state",
            field=models.CharField(
                choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed"), ("refused", "Refused")],
                default="pending",
                max_length=10,
            ),
        ),
    ]
