"""Run one of the scheduled jobs now: ``manage.py run_job chase|digest|postmortem_due|repeats``."""

from django.core.management.base import BaseCommand
from django.utils.dateparse import parse_datetime

from actions import jobs
from incidents.tasks import detect_recent_repeats


def _repeats(*, now, enqueue: bool) -> str:
    # Detection emails through the ledger as it goes; --no-enqueue does not apply.
    return f"{detect_recent_repeats(now)} repeat link(s) suggested"


JOBS = {
    "chase": jobs.chase_overdue_items,
    "digest": jobs.send_digests,
    "postmortem_due": jobs.remind_postmortems_due,
    "repeats": _repeats,
}


class Command(BaseCommand):
    help = "Run a scheduled job now (the same code the scheduled Celery task runs)."

    def add_arguments(self, parser):
        parser.add_argument("job", choices=sorted(JOBS))
        parser.add_argument(
            "--at", help="Act as if it were this moment (ISO 8601 with offset), e.g. to resend a digest."
        )
        parser.add_argument("--no-enqueue", action="store_true", help="Claim the messages but leave them to the sweep.")

    def handle(self, *args, job: str, at: str | None, no_enqueue: bool, **options):
        now = parse_datetime(at) if at else None
        if at and (now is None or now.tzinfo is None):
            self.stderr.write("--at needs an ISO 8601 moment with a UTC offset, e.g. 2026-03-09T09:00+00:00")
            raise SystemExit(2)
        result = JOBS[job](now=now, enqueue=not no_enqueue)
        self.stdout.write(f"{job}: {result}")
