"""Precision, recall and MRR of the repeat detector on labelled pairs, with and without categories.

    .venv/bin/python bench/repeats.py [FILE_OR_FOLDER ...]   (default: the development sets)

Each file is JSON Lines in ``score_repeat_pairs``' format plus a ``label`` (true for a repeat);
a folder stands for its ``*.jsonl`` files together. For each set it runs
``manage.py score_repeat_pairs`` (the same scoring as the Celery jobs, at the app's threshold)
twice: as written, and with every ``cause_category`` removed. It prints precision and recall,
the mistakes, and the MRR: for each labelled repeat, where its earlier incident ranks among all
the set's earlier incidents for that later one (1 is first). The threshold is fixed in
``incidents/repeats.py``; the sweep underneath is for information only.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")  # a local tool: no SECRET_KEY needed

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from incidents.management.commands.score_repeat_pairs import current_taxonomy, parse_line  # noqa: E402
from incidents.repeats import THRESHOLD, Scorer  # noqa: E402

DEFAULT = [ROOT / "bench" / "data" / "repeat_pairs.jsonl", ROOT / "bench" / "data" / "repeats_dev"]


def precision_recall(predicted: dict[str, bool], labels: dict[str, bool]) -> tuple[float, float, int, int, int]:
    tp = sum(1 for k, v in predicted.items() if v and labels[k])
    fp = sum(1 for k, v in predicted.items() if v and not labels[k])
    fn = sum(1 for k, v in predicted.items() if not v and labels[k])
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def read_set(path: Path) -> list[str]:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    return [line for file in files for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


def without_categories(lines: list[str]) -> list[str]:
    stripped = []
    for line in lines:
        pair = json.loads(line)
        for side in ("earlier", "later"):
            pair[side].pop("cause_category", None)
        stripped.append(json.dumps(pair))
    return stripped


def score(lines: list[str]) -> dict[str, dict]:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8", delete=False) as file:
        file.write("\n".join(lines) + "\n")
    out = io.StringIO()
    try:
        call_command("score_repeat_pairs", file.name, stdout=out)
    finally:
        os.unlink(file.name)
    return {str(r["id"]): r for r in map(json.loads, out.getvalue().splitlines())}


def mrr(lines: list[str]) -> float:
    """Mean reciprocal rank of each repeat's earlier incident among all the set's earlier ones."""
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
    return sum(1 / r for r in ranks) / len(ranks) if ranks else 0.0


def report(name: str, lines: list[str]) -> None:
    labels = {str(json.loads(line)["id"]): bool(json.loads(line)["label"]) for line in lines}
    results = score(lines)
    predicted = {pid: r["repeat"] for pid, r in results.items()}
    scores = {pid: r["score"] for pid, r in results.items()}
    precision, recall, tp, fp, fn = precision_recall(predicted, labels)
    print(f"{name}: {len(results)} pairs ({sum(labels.values())} repeats), threshold {THRESHOLD}")
    print(f"  precision {precision:.3f}  recall {recall:.3f}  (tp={tp} fp={fp} fn={fn})  MRR {mrr(lines):.3f}")
    for pid in sorted(labels):
        if predicted[pid] != labels[pid]:
            kind = "false positive" if predicted[pid] else "false negative"
            print(f"    {kind}: {pid} score={scores[pid]:.3f}")
    sweep = []
    for threshold in (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65):
        p, r, *_ = precision_recall({pid: scores[pid] >= threshold for pid in labels}, labels)
        sweep.append(f"{threshold:.2f}: {p:.2f}/{r:.2f}")
    print("  sweep (information only, precision/recall):", "  ".join(sweep))


def main(paths: list[Path]) -> int:
    for path in paths:
        lines = read_set(path)
        report(f"{path.name} with categories", lines)
        report(f"{path.name} without categories", without_categories(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main([Path(arg) for arg in sys.argv[1:]] or DEFAULT))
