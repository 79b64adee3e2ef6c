"""The periodic job schedule, in one place.

Each entry is installed into django-celery-beat's tables when missing and is never
overwritten afterwards: once it exists, the admin's copy is the truth (an operator
may move the digest to Tuesday or disable a job).

Entry: name -> {"task": dotted task name, "crontab": {minute, hour, day_of_week, ...}}.
Feature work adds its jobs here.
"""

SCHEDULE: dict[str, dict] = {
    "Deliver pending and failed emails": {
        "task": "actions.tasks.deliver_undelivered",
        "crontab": {"minute": "*/10"},
    },
    # The action-item jobs run hourly and act where it is the right local time for each
    # recipient (settings ACTION_CHASE_* and ACTION_DIGEST_*); the ledger sends each message once.
    "Chase overdue action items": {
        "task": "actions.tasks.chase_overdue_items",
        "crontab": {"minute": "5"},
    },
    "Weekly action-item digests": {
        "task": "actions.tasks.send_weekly_digests",
        "crontab": {"minute": "0"},
    },
    "Remind facilitators of postmortems past due": {
        "task": "actions.tasks.remind_postmortems_due",
        "crontab": {"minute": "10"},
    },
    "Flag repeat-class incidents": {
        "task": "incidents.tasks.detect_repeats_nightly",
        "crontab": {"minute": "30", "hour": "2"},
    },
}


def install_schedule(sender=None, using: str = "default", **kwargs) -> int:
    """Create the missing periodic tasks; return how many were created."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    created = 0
    for name, entry in SCHEDULE.items():
        if PeriodicTask.objects.using(using).filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.using(using).get_or_create(**entry["crontab"])
        PeriodicTask.objects.using(using).create(name=name, task=entry["task"], crontab=crontab)
        created += 1
    return created
