"""Seed the severity levels and a starter list of cause categories.

Both stay editable in the admin; this runs once and never overwrites an edit.
"""

from django.db import migrations

SEVERITIES = [
    {
        "name": "SEV1",
        "level": 1,
        "label": "Critical",
        "criteria": "A critical business function is down for most users, or data is lost or exposed. "
        "Examples: checkout or sign-in unavailable, data corruption, a security breach.",
        "response_time": "Immediate, all hands; leadership told within 15 minutes",
        "update_cadence": "Every 15–30 minutes",
        "requires_postmortem": True,
        "postmortem_due_business_days": 5,
    },
    {
        "name": "SEV2",
        "level": 2,
        "label": "Major",
        "criteria": "A major feature is degraded for many users, or a critical function is impaired "
        "with a workaround. Examples: elevated error rates on a core API, a region slow or partly down.",
        "response_time": "Within 15 minutes",
        "update_cadence": "Every 30–60 minutes",
        "requires_postmortem": True,
        "postmortem_due_business_days": 5,
    },
    {
        "name": "SEV3",
        "level": 3,
        "label": "Minor",
        "criteria": "Minor degradation: a non-critical feature misbehaves or errors stay below the "
        "thresholds that affect most users.",
        "response_time": "Within 1 hour",
        "update_cadence": "As progress is made",
        "requires_postmortem": False,
        "postmortem_due_business_days": None,
    },
    {
        "name": "SEV4",
        "level": 4,
        "label": "Low",
        "criteria": "No user impact yet: a potential problem, a near miss, or a failing internal tool.",
        "response_time": "Next business day",
        "update_cadence": "None needed",
        "requires_postmortem": False,
        "postmortem_due_business_days": None,
    },
]

CAUSE_CATEGORIES = [
    ("Configuration change", "config-change", "A change to configuration, feature flags or infrastructure settings."),
    ("Deploy", "deploy", "A code release or rollout, including bad migrations."),
    ("Capacity", "capacity", "Load beyond what the system was provisioned or tuned for."),
    ("Dependency", "dependency", "A failure of a third-party or internal upstream service."),
    ("Data", "data", "Bad, corrupt or unexpected data, or a failed data operation."),
    ("Hardware / network", "hardware-network", "Machines, disks, links, DNS, load balancers."),
    ("Security", "security", "An attack, a leaked credential or an exploited vulnerability."),
    ("Certificate / expiry", "certificate-expiry", "An expired certificate, token, domain or licence."),
    ("Monitoring gap", "monitoring-gap", "A failure that existing alerting did not catch in time."),
    ("Human process", "process", "A gap in a runbook, hand-over or procedure (never a person)."),
]


def seed(apps, schema_editor):
    Severity = apps.get_model("incidents", "Severity")
    CauseCategory = apps.get_model("incidents", "CauseCategory")
    for row in SEVERITIES:
        Severity.objects.get_or_create(name=row["name"], defaults=row)
    for name, slug, description in CAUSE_CATEGORIES:
        CauseCategory.objects.get_or_create(slug=slug, defaults={"name": name, "description": description})


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
