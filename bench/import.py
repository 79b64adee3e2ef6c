"""Archive import benchmark: write N postmortems as JSON Lines (from the 30 of
``bench/data/import_sample.jsonl``, each copy with its own external ids), import them into a fresh
database with ``import_postmortems``'s code, and print the time.

    .venv/bin/python bench/import.py [--count 1000] [--keep] [--no-repeats] [--no-reimport] [--database NAME]
        [--distinct] [--compare N]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/import.py --count 10000

Prints the time to import (records per second, with the search index built once at the end)
and the time to re-import the same file (every record updated, none created), with the CPU time
of the importing process: on a shared machine the wall-clock time is mostly waiting for a core. The database
(``bench_import`` or ``--database``, on the server of ``DATABASE_URL``, else a SQLite file under
``var/bench/``)
is dropped at the end unless ``--keep``.

With ``--distinct`` no two titles read alike (repeat detection cannot score copies together).
With ``--compare N``, N of the imported incidents (evenly spread) are then scored one at a time
(``repeats.repeats_of``, with the kept index the import left) and their suggestions compared with
those the import's batch stored; the differences are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import prepare_database, setup_django  # noqa: E402

SAMPLE = ROOT / "bench" / "data" / "import_sample.jsonl"


def write_records(path: Path, count: int, *, distinct: bool = False) -> None:
    """``count`` records: the sample's 30 again and again, with fresh ids and references; with
    ``distinct``, each title has a made-up word of its own, so no two read alike."""
    sample = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    with path.open("w") as out:
        for n in range(count):
            record = json.loads(json.dumps(sample[n % len(sample)]))
            suffix = f"-{n:06d}"
            record["incident"]["external_id"] += suffix
            record["postmortem"]["external_id"] += suffix
            record["incident"]["title"] += f" (copy {made_up_word(n) if distinct else n})"
            for item in record["action_items"]:
                item["external_id"] += suffix
            out.write(json.dumps(record) + "\n")


def made_up_word(n: int) -> str:
    """A word of consonants, one for each ``n`` (no stop word, no suffix the stemmer strips)."""
    letters = "bcdfghjklmnpqrtvwxz"
    word = ""
    while True:
        n, rest = divmod(n, len(letters))
        word += letters[rest]
        if not n:
            return "zq" + word


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compare_one_at_a_time(count: int) -> None:
    """Score ``count`` incidents one at a time and compare with the links the import stored."""
    from incidents import repeats
    from incidents.models import Incident, RepeatLink

    pks = list(Incident.objects.order_by("pk").values_list("pk", flat=True))
    chosen = pks[:: max(1, len(pks) // count)][:count]
    started = time.monotonic()
    differ = 0
    for incident in Incident.objects.filter(pk__in=chosen).order_by("pk"):
        alone = {(pk, result.score, result.reason) for pk, result in repeats.repeats_of(incident)}
        stored = set(RepeatLink.objects.filter(incident=incident).values_list("earlier_id", "score", "reason"))
        if alone != stored:
            differ += 1
            print(f"  {incident.reference}: one at a time {sorted(alone)}; the batch stored {sorted(stored)}")
    seconds = time.monotonic() - started
    print(
        f"one at a time: {len(chosen)} incidents in {seconds:.1f} s ({seconds / len(chosen):.3f} s each; "
        f"load average {os.getloadavg()[0]:.1f}); {differ} differ from the batch's suggestions"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="Postmortems to import.")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--no-repeats", action="store_true", help="Skip repeat detection at the end of the import.")
    parser.add_argument("--no-reimport", action="store_true", help="Time the first import only.")
    parser.add_argument("--database", default="bench_import", help="The bench database's name (default bench_import).")
    parser.add_argument(
        "--distinct", action="store_true", help="Give each copy's title a word of its own (no two read alike)."
    )
    parser.add_argument("--compare", type=int, default=0, metavar="N", help="Check N incidents one at a time.")
    args = parser.parse_args()
    where, drop = prepare_database(args.database, keep=False)
    print(f"Load average before: {' '.join(f'{n:.1f}' for n in os.getloadavg())} on {os.cpu_count()} CPUs")
    setup_django()
    from django.core.management import call_command

    from postmortems.importer import import_archive

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "archive.jsonl"
        write_records(path, args.count, distinct=args.distinct)
        print(f"{where}: importing {args.count} postmortems")
        for label in ("first import", "re-import")[: 1 if args.no_reimport else 2]:
            started, cpu = time.monotonic(), time.process_time()
            report = import_archive([path], create_missing=True, repeats=not args.no_repeats)
            seconds, cpu = time.monotonic() - started, time.process_time() - cpu
            print(
                f"{label}: {seconds:.1f} s ({args.count / seconds:.0f} postmortems/s; of it the search index "
                f"{report.index_seconds:.1f} s, repeat detection {report.repeat_seconds:.1f} s; this process's "
                f"CPU {cpu:.1f} s; peak RSS so far {peak_rss_mb():.0f} MB; "
                f"load average after {os.getloadavg()[0]:.1f}); " + " ".join(report.lines()[:3])
            )
            if report.refused:
                print("refused:", *report.refused[:5], sep="\n  ")
    if args.compare and not args.no_repeats:
        compare_one_at_a_time(args.compare)
    if not args.keep:
        from django.db import connections

        connections.close_all()
        drop()


if __name__ == "__main__":
    main()
