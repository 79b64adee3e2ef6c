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
