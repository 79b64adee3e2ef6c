"""Precision and recall of the repeat detector on the labelled pairs.

    .venv/bin/python bench/repeats.py [bench/data/repeat_pairs.jsonl]

Runs ``manage.py score_repeat_pairs`` (the same scoring as the Celery jobs) on the file and compares
its ``repeat`` verdicts with each line's ``label``. Prints precision, recall and the mistakes; the
threshold sweep underneath is for information only: the detector's threshold is fixed in
``incidents/repeats.py`` and not tuned on this small set.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")  # a local tool: no SECRET_KEY needed

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

DEFAULT = ROOT / "bench" / "data" / "repeat_pairs.jsonl"


def precision_recall(predicted: dict[str, bool], labels: dict[str, bool]) -> tuple[float, float, int, int, int]:
    tp = sum(1 for k, v in predicted.items() if v and labels[k])
    fp = sum(1 for k, v in predicted.items() if v and not labels[k])
    fn = sum(1 for k, v in predicted.items() if not v and labels[k])
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def _same_class(pair: dict) -> bool:
    earlier, later = pair["earlier"], pair["later"]
    same_cause = bool(earlier.get("cause_category")) and earlier.get("cause_category") == later.get("cause_category")
    return same_cause or bool(set(earlier.get("services") or []) & set(later.get("services") or []))


def main(path: Path) -> int:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    labels = {str(p["id"]): bool(p["label"]) for p in lines}
    shares = {str(p["id"]): _same_class(p) for p in lines}
    out = io.StringIO()
    call_command("score_repeat_pairs", str(path), stdout=out)
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    predicted = {str(r["id"]): r["repeat"] for r in results}
    scores = {str(r["id"]): r["score"] for r in results}

    precision, recall, tp, fp, fn = precision_recall(predicted, labels)
    print(f"pairs: {len(results)} ({sum(labels.values())} repeats, {len(labels) - sum(labels.values())} not)")
    print(f"precision: {precision:.3f}  recall: {recall:.3f}  (tp={tp} fp={fp} fn={fn})")
    print("target: precision >= 0.8 at recall >= 0.7 ->", "MET" if precision >= 0.8 and recall >= 0.7 else "NOT MET")
    for pid in sorted(labels):
        if predicted[pid] != labels[pid]:
            kind = "false positive" if predicted[pid] else "false negative"
            print(f"  {kind}: {pid} score={scores[pid]:.3f}")
    negatives = sorted((scores[pid], pid) for pid in labels if not labels[pid])[-3:]
    print("highest-scoring non-repeats:", ", ".join(f"{pid} {score:.3f}" for score, pid in reversed(negatives)))
    print("threshold sweep (information only; the repeat verdict also needs a shared service or cause):")
    for threshold in (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65):
        swept = {pid: scores[pid] >= threshold and shares[pid] for pid in labels}
        p, r, *_ = precision_recall(swept, labels)
        print(f"  {threshold:.2f}: precision {p:.3f} recall {r:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
