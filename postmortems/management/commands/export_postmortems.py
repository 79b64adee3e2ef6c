from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from postmortems.archive_export import export_filename, export_markdown
from postmortems.exporter import FullAccess, for_export, iter_records, write_jsonl
from postmortems.models import Postmortem
from postmortems.querysets import PostmortemAccess


class Command(BaseCommand):
    help = (
        "Write the archive as JSON Lines (one postmortem with its incident and action items a line), and "
        "optionally one Markdown file per postmortem: what import_postmortems reads back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", default="-", help="The JSON Lines file (default: standard output).")
        parser.add_argument("--markdown", metavar="FOLDER", help="Also write one Markdown file per postmortem here.")
        parser.add_argument(
            "--as-user", metavar="USERNAME", help="Only what this person may read (default: everything)."
        )
        parser.add_argument("--published", action="store_true", help="Published postmortems only.")

    def handle(self, *args, output, markdown, as_user, published, verbosity, **options):
        user = None
        queryset = Postmortem.objects.all()
        if as_user:
            user = get_user_model().objects.filter(username=as_user).first()
            if user is None:
                raise CommandError(f"No user “{as_user}”.")
            queryset = Postmortem.objects.visible_to(user)
        if published:
            queryset = queryset.filter(status=Postmortem.Status.PUBLISHED)
        if output == "-":
            count = write_jsonl(iter_records(queryset, user), self.stdout)
        else:
            with open(output, "w", encoding="utf-8") as out:
                count = write_jsonl(iter_records(queryset, user), out)
        if markdown:
            folder = Path(markdown)
            folder.mkdir(parents=True, exist_ok=True)
            for pm in for_export(queryset.order_by("pk")).iterator(chunk_size=500):
                access = PostmortemAccess(pm, user) if user is not None else FullAccess(pm)
                text = export_markdown(pm, access, with_email=True)
                (folder / export_filename(pm)).write_text(text, encoding="utf-8")
        if verbosity and output != "-":
            self.stdout.write(f"Exported {count} postmortems.")
