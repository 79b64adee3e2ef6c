"""The periodic job schedule, in one place.

Each entry is installed into django-celery-beat's tables when missing and is never
overwritten afterwards: once it exists, the admin's copy is the truth (an operator
may move the digest to Tuesday or disable a job).

Entry: name -> {"task": dotted task name, "crontab": {minute, hour, day_of_week, ...}}, and
optionally "replaces": crontabs this entry had before; an entry still on one of those
(nobody changed it) moves to the new crontab. Feature work adds its jobs here.
"""

SCHEDULE: dict[str, dict] = {
    # Every minute, so a message whose task was lost (a worker killed, retries run out) goes
    # out within minutes; a run with nothing to do is one indexed query.
    "Deliver pending and failed emails": {
        "task": "actions.tasks.deliver_undelivered",
        "crontab": {"minute": "*"},
        "replaces": [{"minute": "*/10"}],
    },
    # The action-item jobs act where it is the right local time for each recipient (settings
    # ACTION_CHASE_* and ACTION_DIGEST_*); the ledger sends each message once. The chase runs
    # every minute: a run killed part-way (a worker lost mid-enqueue) is finished by the next
    # one while it is still that local hour, instead of losing the rest until tomorrow. Outside
    # the chase hour of every zone a run reads nothing.
    "Chase overdue action items": {
        "task": "actions.tasks.chase_overdue_items",
        "crontab": {"minute": "*"},
        "replaces": [{"minute": "5"}, {"minute": "*/5"}],
    },
    "Weekly action-item digests": {
        "task": "actions.tasks.send_weekly_digests",
        "crontab": {"minute": "0"},
    },
    "Remind facilitators of postmortems past due": {
        "task": "actions.tasks.remind_postmortems_due",
        "crontab": {"minute": "10"},
    },
    # Read back linked GitHub/Jira issues that webhooks may have missed, and retry lost creates.
    "Reconcile tracker issues": {
        "task": "trackers.tasks.reconcile_tracker_issues",
        "crontab": {"minute": "*/15"},
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
        existing = PeriodicTask.objects.using(using).filter(name=name).select_related("crontab").first()
        if existing:
            _replace_old_default(existing, entry, using)
            continue
        crontab, _ = CrontabSchedule.objects.using(using).get_or_create(**entry["crontab"])
        PeriodicTask.objects.using(using).create(name=name, task=entry["task"], crontab=crontab)
        created += 1
    return created


def _replace_old_default(task, entry: dict, using: str) -> None:
    """Move an entry still on a crontab it had by default before to its new crontab."""
    from django_celery_beat.models import CrontabSchedule

    fields = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
    defaults = {"hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
    current = {field: getattr(task.crontab, field) for field in fields} if task.crontab else None
    if current not in [{**defaults, **old} for old in entry.get("replaces", [])]:
        return
    task.crontab, _ = CrontabSchedule.objects.using(using).get_or_create(**entry["crontab"])
    task.save(update_fields=["crontab"])
