"""Precision, recall and MRR of the repeat detector on labelled pairs, with and without categories;
and how long scoring one new incident against an archive takes.

    .venv/bin/python bench/repeats.py [FILE_OR_FOLDER ...]   (default: the development sets)
    .venv/bin/python bench/repeats.py bench/data/repeats_heldout_N   (a held-out set: only when named)
    .venv/bin/python bench/repeats.py --leave-one-out   (each labelled set, the class model learned without it)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/repeats.py --speed 10000

Each file is JSON Lines in ``score_repeat_pairs``' format plus a ``label`` (true for a repeat);
a folder stands for its ``pairs_scorer_format.jsonl``, or when it has none, its ``*.jsonl`` files
together. For each set it runs ``manage.py score_repeat_pairs`` (the same scoring as the Celery
jobs, at the app's threshold) twice: as written, and with every ``cause_category`` removed; and
for a set that labels its incidents (``incidents.jsonl``, ``pairs.jsonl``), a third time with each
earlier incident's gold classes given, as facilitators confirm them in an archive. It
prints precision and recall, the mistakes, and the MRR: for each labelled repeat, where its earlier
incident ranks among all the set's earlier incidents for that later one (1 is first). The threshold
is fixed in ``incidents/repeats.py``; the sweep underneath is for information only.

``--speed N`` seeds N incidents with postmortems (texts recombined from the development sets) into
a database of its own (on PostgreSQL when DATABASE_URL says so, the database it names, made afresh;
else a SQLite file ``bench_repeats``; dropped afterwards unless ``--keep``), then times
``repeats_of`` (what the job runs for one incident: load the archive, sync the kept index, score)
for a new incident, each time in a fresh process: with no kept index (it is built and cached), a
worker's first run with the index in the cache (and the median of five more in that process), and
a first run after one earlier incident was edited.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidents.class_model import GOLD_SETS  # noqa: E402  (after the path above)

DATA = ROOT / "bench" / "data"
# The development sets (GOLD_SETS) are tuned on: each held-out set became one after its one score.
# A held-out set is scored only when passed explicitly, once, by whoever reports it; never by
# default, so tuning runs cannot touch it.

# The development sets with gold classes per incident: what the class model learns from
# (``incidents.class_model.TRAINING_SETS``), by the pair file of the same set.
LABELLED = {DATA / name / "pairs_scorer_format.jsonl": DATA / name / "incidents.jsonl" for name in GOLD_SETS}
DEFAULT = [DATA / "repeat_pairs.jsonl", DATA / "repeats_dev", *LABELLED]


def precision_recall(predicted: dict[str, bool], labels: dict[str, bool]) -> tuple[float, float, int, int, int]:
    tp = sum(1 for k, v in predicted.items() if v and labels[k])
    fp = sum(1 for k, v in predicted.items() if v and not labels[k])
    fn = sum(1 for k, v in predicted.items() if not v and labels[k])
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def read_set(path: Path) -> list[str]:
    """The pair lines of a file, or of a folder: its ``pairs_scorer_format.jsonl`` when it has one,
    else its ``*.jsonl`` files of pairs with both sides written out (not incident lists, nor pairs
    that give the sides by id)."""
    scorer_format = path / "pairs_scorer_format.jsonl"
    files = [path]
    if path.is_dir():
        files = [scorer_format] if scorer_format.exists() else [f for f in sorted(path.glob("*.jsonl")) if _pairs(f)]
        print(f"{path.name}: reading {', '.join(f.name for f in files) or 'no file of pairs'}")
    return [line for file in files for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


def _pairs(file: Path) -> bool:
    with file.open(encoding="utf-8") as lines:
        first = next((line for line in lines if line.strip()), "")
    try:
        pair = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(pair, dict) and "label" in pair and isinstance(pair.get("earlier"), dict)


def without_categories(lines: list[str]) -> list[str]:
    stripped = []
    for line in lines:
        pair = json.loads(line)
        for side in ("earlier", "later"):
            pair[side].pop("cause_category", None)
        stripped.append(json.dumps(pair))
    return stripped


def earlier_confirmed(path: Path, lines: list[str]) -> list[str] | None:
    """The pairs with the earlier incident's gold ``failure_classes`` set, as a facilitator would have
    confirmed them in its postmortem (the later incident's classes are still inferred from its text);
    None for a set that does not label its incidents (``incidents.jsonl`` and ``pairs.jsonl`` by id)."""
    from incidents.class_model import gold_classes, read_jsonl

    folder = path if path.is_dir() else path.parent
    incidents_file, pairs_file = folder / "incidents.jsonl", folder / "pairs.jsonl"
    if not (incidents_file.exists() and pairs_file.exists()):
        return None
    classes = {incident["id"]: gold_classes(incident) for incident in read_jsonl(incidents_file)}
    earlier = {str(pair["id"]): classes[pair["earlier"]] for pair in read_jsonl(pairs_file)}
    confirmed = []
    for line in lines:
        pair = json.loads(line)
        pair["earlier"]["failure_classes"] = earlier[str(pair["id"])]
        confirmed.append(json.dumps(pair))
    return confirmed


def score(lines: list[str]) -> dict[str, dict]:
    from django.core.management import call_command

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8", delete=False) as file:
        file.write("\n".join(lines) + "\n")
    out = io.StringIO()
    try:
        call_command("score_repeat_pairs", file.name, stdout=out)
    finally:
        os.unlink(file.name)
    return {str(r["id"]): r for r in map(json.loads, out.getvalue().splitlines())}


def reciprocal_ranks(lines: list[str]) -> list[float]:
    """The reciprocal rank of each repeat's earlier incident among all the set's earlier ones."""
    from incidents.management.commands.score_repeat_pairs import current_taxonomy, parse_line
    from incidents.repeats import Scorer

    known = current_taxonomy()
    pairs = [(json.loads(line)["label"], *parse_line(line, known)) for line in lines]
    earlier = list({doc: None for _, _, doc, _ in pairs})
    scorer = Scorer.for_archive([*earlier, *(later for *_, later in pairs)], known)
    ranks = []
    for label, _, truth, later in pairs:
        if not label:
            continue
        scores = {doc: scorer.score(doc, later, explain=False).rank for doc in earlier}
        ranks.append(1 + sum(1 for doc, value in scores.items() if value > scores[truth]))
    return [1 / r for r in ranks]


@dataclass
class Tally:
    """What ``report`` counted on one set, and can be summed over sets."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    reciprocal_ranks: list[float] = field(default_factory=list)

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.reciprocal_ranks + other.reciprocal_ranks
        )

    def line(self) -> str:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        ranks = self.reciprocal_ranks
        mean = sum(ranks) / len(ranks) if ranks else 0.0
        return (
            f"precision {precision:.3f}  recall {recall:.3f}  (tp={self.tp} fp={self.fp} fn={self.fn})  MRR {mean:.3f}"
        )


def report(name: str, lines: list[str]) -> Tally:
    from incidents.repeats import THRESHOLD

    labels = {str(json.loads(line)["id"]): bool(json.loads(line)["label"]) for line in lines}
    results = score(lines)
    predicted = {pid: r["repeat"] for pid, r in results.items()}
    scores = {pid: r["score"] for pid, r in results.items()}
    _, _, tp, fp, fn = precision_recall(predicted, labels)
    tally = Tally(tp, fp, fn, reciprocal_ranks(lines))
    print(f"{name}: {len(results)} pairs ({sum(labels.values())} repeats), threshold {THRESHOLD}")
    print(f"  {tally.line()}")
    for pid in sorted(labels):
        if predicted[pid] != labels[pid]:
            kind = "false positive" if predicted[pid] else "false negative"
            print(f"    {kind}: {pid} score={scores[pid]:.3f}")
    sweep = []
    for threshold in (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65):
        p, r, *_ = precision_recall({pid: scores[pid] >= threshold for pid in labels}, labels)
        sweep.append(f"{threshold:.2f}: {p:.2f}/{r:.2f}")
    print("  sweep (information only, precision/recall):", "  ".join(sweep))
    return tally


def quality(paths: list[Path]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")  # a local tool: no SECRET_KEY needed
    import django

    django.setup()
    for path in paths:
        lines = read_set(path)
        report(f"{set_name(path)} with categories", lines)
        report(f"{set_name(path)} without categories", without_categories(lines))
        confirmed = earlier_confirmed(path, lines)
        if confirmed is not None:
            report(f"{set_name(path)}, the earlier incident's classes confirmed", confirmed)


def set_name(path: Path) -> str:
    """A set's name: its folder's for its ``pairs_scorer_format.jsonl``."""
    return path.parent.name if path.name == "pairs_scorer_format.jsonl" else path.name


def leave_one_out() -> None:
    """Each labelled set scored with a class model learned only from the other labelled sets'
    incidents (the rule-only sets, which label no incident, with a model from all of them), and with
    the keyword rules alone; then the labelled sets pooled: an estimate of how the class suggestion
    carries over to wording it has not seen. The keyword rules were tuned by hand on
    ``repeat_pairs.jsonl``, ``repeats_dev/`` and ``repeats_public/``, so the other two labelled sets'
    figures are the fairer ones."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()
    from incidents.class_model import read_examples, train, using
    from incidents.repeats import DEFAULT_FAILURE_CLASSES

    pooled = {"with": Tally(), "without": Tally(), "rules": Tally(), "confirmed": Tally()}
    for path in DEFAULT:
        training = [
            example for pairs, labelled in LABELLED.items() if pairs != path for example in read_examples(labelled)
        ]
        lines = read_set(path)
        name = set_name(path)
        with using(None):
            rules = report(f"{name}, keyword rules alone", lines)
        with using(train(training, DEFAULT_FAILURE_CLASSES)):
            print(f"(class model learned from {len(training)} incidents of the other sets)")
            with_categories = report(f"{name} left out, with categories", lines)
            without = report(f"{name} left out, without categories", without_categories(lines))
            confirmed = earlier_confirmed(path, lines)
            if confirmed is not None:
                confirmed_tally = report(f"{name} left out, the earlier incident's classes confirmed", confirmed)
        if path in LABELLED:
            pooled = {
                "with": pooled["with"] + with_categories,
                "without": pooled["without"] + without,
                "rules": pooled["rules"] + rules,
                "confirmed": pooled["confirmed"] + confirmed_tally,
            }
    print(f"pooled over {', '.join(GOLD_SETS)}, each left out:")
    print(f"  with categories     {pooled['with'].line()}")
    print(f"  without categories  {pooled['without'].line()}")
    print(f"  keyword rules alone {pooled['rules'].line()}")
    print(f"  earlier confirmed   {pooled['confirmed'].line()}")


def _dev_sentences() -> list[str]:
    sentences = []
    for line in read_set(DEFAULT[1]) + read_set(DEFAULT[0]):
        pair = json.loads(line)
        for side in (pair["earlier"], pair["later"]):
            for name in ("summary", "root_cause", "contributing_factors"):
                sentences += [s.strip() + "." for s in (side.get(name) or "").split(".") if len(s.strip()) > 20]
    return sentences


def seed(count: int, rng: random.Random) -> None:
    """``count`` incidents over ten years, each with a postmortem of recombined sentences."""
    from django.contrib.auth import get_user_model

    from incidents.models import CauseCategory, FailureClass, Incident, Service, Severity, Team
    from postmortems.models import Postmortem

    sentences = _dev_sentences()
    team = Team.objects.create(name="Bench", slug="bench")
    services = [Service.objects.create(name=f"svc-{i}", slug=f"svc-{i}", team=team) for i in range(60)]
    user = get_user_model().objects.create(username="bench")
    sev = Severity.objects.order_by("level").first()
    causes = list(CauseCategory.objects.all())
    classes = list(FailureClass.objects.all())
    start = datetime(2016, 1, 1, tzinfo=UTC)
    incidents = []
    for i in range(count):
        began = start + timedelta(minutes=rng.randrange(10 * 365 * 24 * 60))
        words = rng.choice(sentences).split()
        title = " ".join(rng.sample(words, min(6, len(words))))[:200]
        incidents.append(
            Incident(
                reference=f"INC-B-{i:06d}",
                title=title,
                summary=rng.choice(sentences),
                severity=sev,
                cause_category=rng.choice(causes) if rng.random() < 0.7 else None,
                started_at=began,
                detected_at=began,
                declared_at=began,
            )
        )
    Incident.objects.bulk_create(incidents, batch_size=1000)
    Postmortem.objects.bulk_create(
        [
            Postmortem(
                incident=incident,
                facilitator=user,
                status="published",
                published_at=incident.started_at + timedelta(days=5),
                summary=" ".join(rng.sample(sentences, 2)),
                root_cause=" ".join(rng.sample(sentences, 3)),
                contributing_factors=" ".join(rng.sample(sentences, 2)),
            )
            for incident in incidents
        ],
        batch_size=1000,
    )
    through = Incident.services.through
    through.objects.bulk_create(
        [through(incident=incident, service=rng.choice(services)) for incident in incidents], batch_size=5000
    )
    tagged = Incident.failure_classes.through
    tagged.objects.bulk_create(
        [tagged(incident=incident, failureclass=rng.choice(classes)) for incident in incidents if rng.random() < 0.3],
        batch_size=5000,
    )


def speed(count: int, keep: bool) -> None:
    from bench.common import prepare_database, setup_django

    url = os.environ.get("DATABASE_URL", "")
    named = urlsplit(url).path.strip("/") if url.startswith(("postgres://", "postgresql://")) else ""
    where, drop = prepare_database(named or "bench_repeats", keep=keep)
    # The kept index goes to a cache of the bench's own (a file cache, as by default).
    os.environ["CACHE_URL"] = f"filecache://{ROOT / 'var' / 'bench' / 'repeats-cache'}"
    setup_django()
    from django.core.management import call_command

    from incidents import repeat_index
    from incidents.models import Incident
    from postmortems.models import Postmortem

    call_command("migrate", verbosity=0)
    rng = random.Random(20261130)
    try:
        if not Incident.objects.filter(reference__startswith="INC-B-").exists():
            began = time.perf_counter()
            seed(count, rng)
            print(f"seeded {count} incidents with postmortems in {time.perf_counter() - began:.1f} s ({where})")
        new = Incident.objects.create(
            title="Login broken: TLS certificate expired",
            summary="Browsers refuse the login page's certificate.",
            severity=Incident.objects.first().severity,
            started_at=datetime(2026, 11, 1, tzinfo=UTC),
            declared_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
        Postmortem.objects.create(
            incident=new,
            facilitator=Postmortem.objects.first().facilitator,
            root_cause="The certificate of the login service expired; renewal was manual.",
        )
        earlier = Incident.objects.filter(started_at__lt=new.started_at).count()
        print(f"scoring one new incident against {earlier} earlier ones (wall s / this process's CPU s):")
        repeat_index.forget()
        timed(new.pk, [1], "no kept index (built, then cached), one process")
        timed(new.pk, [1] * 5, "a worker's first run, the index in the cache, median of 5 fresh processes")
        timed(new.pk, [6], "then warm in one process, median of 5 more")
        another = Incident.objects.filter(reference__startswith="INC-B-").order_by("pk").first()
        another.title += " (edited)"
        another.save()
        timed(new.pk, [1], "a worker's first run after an earlier incident was edited")
        print(f"  machine load average over the last minute: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        if not keep:
            from django.db import connections

            connections.close_all()
            drop()


def timed(incident_id: int, processes: list[int], what: str) -> None:
    """Time ``repeats_of`` in fresh processes (nothing of this one's in memory), ``processes[i]``
    runs in the i-th; the median of the first runs, or of the runs after the first in one process."""
    runs = []
    for count in processes:
        out = subprocess.run(
            [sys.executable, __file__, "--time-runs", str(count), "--incident", str(incident_id)],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        ).stdout.splitlines()
        measured = [tuple(map(float, line.split())) for line in out[-count:]]
        runs += measured if count == 1 else measured[1:]
    wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    print(f"  {what}: {wall:.3f} s / {cpu:.3f} s")


def time_runs(incident_id: int, runs: int) -> None:
    from bench.common import setup_django

    setup_django()
    from incidents import repeats
    from incidents.models import Incident

    incident = Incident.objects.get(pk=incident_id)
    for _ in range(runs):
        began, cpu = time.perf_counter(), time.process_time()
        repeats.repeats_of(incident)
        print(f"{time.perf_counter() - began:.4f} {time.process_time() - cpu:.4f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--speed", type=int, metavar="N", help="time scoring against N earlier incidents")
    parser.add_argument(
        "--leave-one-out", action="store_true", help="score each labelled set with a class model learned without it"
    )
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the speed bench's database")
    parser.add_argument("--time-runs", type=int, help=argparse.SUPPRESS)  # the speed bench's fresh processes
    parser.add_argument("--incident", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_runs:
        time_runs(args.incident, args.time_runs)
    elif args.leave_one_out:
        leave_one_out()
    elif args.speed:
        speed(args.speed, args.keep)
    else:
        quality(args.paths or DEFAULT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
