import sys

from django.core.management.base import BaseCommand, CommandError

from postmortems.importer import import_archive


class Command(BaseCommand):
    help = (
        "Import postmortems from JSON Lines files, Markdown files with YAML front matter, or folders of "
        "either (the formats are in docs/import.md). Sends no email and queues no reminder."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="Files (.jsonl, .md) or folders.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be created, updated or refused.")
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="Create the teams, services, cause categories and people not found (else the record is refused).",
        )
        parser.add_argument(
            "--chase",
            action="store_true",
            help="Chase open imported items already overdue (default: from their next due date).",
        )
        parser.add_argument(
            "--no-repeats",
            action="store_true",
            help="Skip repeat detection among the imported incidents (it compares each with every earlier one).",
        )

    def handle(self, *args, paths, dry_run, create_missing, chase, no_repeats, verbosity, **options):
        on_terminal = verbosity and sys.stderr.isatty()

        def progress(count: int) -> None:
            if count % 25 == 0:
                self.stderr.write(f"\r{count} records read…", ending="")

        report = import_archive(
            paths,
            create_missing=create_missing,
            chase=chase,
            dry_run=dry_run,
            progress=progress if on_terminal else None,
            repeats=not no_repeats,
        )
        if on_terminal:
            self.stderr.write("\r", ending="")
        if verbosity:
            for line in report.lines():
                self.stdout.write(line)
            self.stdout.write(f"Took {report.seconds:.1f} s." + (" Dry run: nothing was saved." if dry_run else ""))
        if report.refused and not any(report.counts.values()):
            raise CommandError(f"No record was imported ({len(report.refused)} refused).")
