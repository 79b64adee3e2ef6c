import time

from django.core.management.base import BaseCommand

from postmortems.search_index import rebuild_index


class Command(BaseCommand):
    help = "Rebuild the archive's search index from scratch, in chunks (memory stays bounded)."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=500, help="Postmortems per transaction.")

    def handle(self, *args, chunk_size: int, verbosity: int, **options):
        started = time.monotonic()
        count = rebuild_index(chunk_size=chunk_size)
        if verbosity:
            self.stdout.write(f"Indexed {count} postmortems in {time.monotonic() - started:.1f} s.")
