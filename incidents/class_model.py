"""Failure classes suggested from text by learned weights (one-vs-rest logistic regression).

The keyword rules (``FailureClass.keywords``) say exactly which words make a class; they miss a
failure mode told in words nobody wrote a rule for, and they fire on a word used in passing. The
model here learns, for each class, weights of the text's terms (the same terms as the text
similarity, ``repeats.tokens``: the SRE synonym list, then the stemmer) and of the rules' hits, from
labelled incidents (the development sets' ``incidents.jsonl``, each with its gold
``failure_classes``) and from each class's own name and rule words. So a rule hit counts as much as
the labelled incidents say it should, and words no rule knows count too.

``repeats.infer_classes`` takes the model's ``strengths``: each class's share of the model's belief
(the probabilities sharpened by ``SHARPNESS``, then divided by their sum), a share of ``FULL_SHARE``
or more counting fully, and a probability under ``SURE_PROBABILITY`` counting in proportion. Two
incidents whose beliefs agree on a class are likely repeats even when neither is sure (both half
"expired credential"), while a look-alike's belief sits on another class; but a class the model
barely believes in (a two-line text's vague lean to capacity) is no agreement, whatever its share.
A class the model does not know (one an admin adds later) keeps its rules' strength.

The weights are data the app loads: ``incidents/class_weights.json``, written by

    .venv/bin/python manage.py train_failure_classes

(from the development sets; see that command). Training is plain Python (stochastic gradient
descent with per-weight step sizes, a fixed seed), so the same sets give the same file.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

WEIGHTS_FILE = Path(__file__).with_name("class_weights.json")
# How much a field's words count (as in the rules: the title and the root cause say the failure mode).
FIELD_WEIGHTS = {"title": 2.0, "root_cause": 2.0, "summary": 1.0, "contributing_factors": 0.5}
# Training: the L2 penalty per step, the passes over the examples, the base step size, the seed.
# L2 and SHARPNESS were chosen by leave-one-set-out over the four gold sets
# (``bench/repeats.py --leave-one-out``): the pooled recall rose with no loss of precision. Over five
# sets (session 6), L2 0.0035-0.005 lost both pooled precision and recall.
L2 = 0.003
EPOCHS = 40
STEP = 0.5
SEED = 1
# Probabilities are raised to this power before their shares are taken (above 1, a clear favourite
# keeps more of the belief; 1, the plain shares, carried over best).
SHARPNESS = 1.0
# A class holding this share of the sharpened belief counts fully (strength 1); less, in proportion.
# With the neighbours' vote (below), 0.3 and the bar of 0.15 under it, with the repeat threshold of 0.6,
# were chosen by leave-one-set-out over the seven gold sets (session 7; see docs/repeat-detection.md).
FULL_SHARE = 0.3
# A class whose probability is under this counts in proportion, however large its share: a short or
# vague text leans to some class (capacity, deploy regression) without saying much for it, so two such
# texts on one service are not a repeat by their lean alone.
SURE_PROBABILITY = 0.15
# Strengths under this count for nothing (they would only slow the scoring down).
MIN_STRENGTH = 0.05
# The least probability of a class the incident page suggests to people. Leave-one-set-out over the
# thirteen gold sets, suggestions from title and summary alone: precision 0.81, recall 0.57; from the
# whole postmortem 0.84 and 0.79 (over seven sets, the weights alone at their old bar of 0.12 gave 0.71
# and 0.54 from title and summary).
SUGGEST_PROBABILITY = 0.2
# A text counts fully with this many distinct terms; one with fewer, in proportion.
MIN_TERMS = 8
RULE_FEATURE = "rule:"
# The labelled incidents most like the text vote too: a class's probability is blended with the share of
# the ``NEIGHBOURS`` nearest incidents' similarity (cosine of their terms) that carries the class, the
# vote counting ``NEIGHBOUR_SHARE``. The weights generalise from words; the neighbours remember how a
# failure mode was told once before in other words. Chosen by leave-one-set-out over the seven gold
# sets (session 7): the first suggestion right for 374 of 454 incidents with the weights alone, 394 with
# the vote (sets 3 to 7 better by 3-5 each; the first two unchanged).
NEIGHBOURS = 5
NEIGHBOUR_SHARE = 0.3
# Neighbours whose mean similarity is under this vote in proportion: a text like no labelled incident
# ("the team met to agree the dashboard's colours") is not given their classes. Chosen for what people see
# suggested, not for the score: leave-one-set-out over eleven sets it finds 8 fewer of the 507 repeats and
# raises 3 fewer of the 47 false alarms (session 7, third round).
NEIGHBOUR_SIMILARITY = 0.3


@dataclass(frozen=True)
class ClassModel:
    """Per class: a bias and the weights of the features (terms, and ``rule:<slug>`` for the rules' hits);
    and the labelled incidents it learned from (their terms' vector and classes), for the neighbours' vote."""

    bias: dict[str, float]
    weights: dict[str, dict[str, float]]
    examples: tuple[tuple[dict[str, float], tuple[str, ...]], ...] = ()

    def probabilities(self, fields: dict[str, str], rules: dict[str, float]) -> dict[str, float]:
        """The probability of each class given the text and the rules' strengths (each on its own:
        an incident may have several classes, or none)."""
        return self._probabilities(features(fields, rules))

    def _probabilities(self, x: dict[str, float]) -> dict[str, float]:
        learned = {slug: _sigmoid(self.bias[slug] + _dot(weights, x)) for slug, weights in self.weights.items()}
        votes = self._votes(x)
        if votes is None:
            return learned
        return {slug: (1 - NEIGHBOUR_SHARE) * p + NEIGHBOUR_SHARE * votes.get(slug, 0.0) for slug, p in learned.items()}

    def _votes(self, x: dict[str, float]) -> dict[str, float] | None:
        """Each class's share of the similarity of the ``NEIGHBOURS`` labelled incidents most like ``x``
        (None when the model keeps no incidents; empty when none shares a term)."""
        if not self.examples:
            return None
        similarity: Counter = Counter()
        for feature, value in x.items():
            for i, weight in self._postings.get(feature, ()):
                similarity[i] += value * weight
        nearest = [(i, s) for i, s in similarity.most_common(NEIGHBOURS) if s > 0]
        total = sum(s for _, s in nearest)
        # Neighbours that are barely alike (a text about no failure at all) say little: the vote
        # shrinks when their mean similarity is under NEIGHBOUR_SIMILARITY.
        trust = min(1.0, total / NEIGHBOURS / NEIGHBOUR_SIMILARITY) if NEIGHBOUR_SIMILARITY else 1.0
        votes: Counter = Counter()
        for i, s in nearest:
            for slug in self.examples[i][1]:
                votes[slug] += s / total * trust
        return votes

    @cached_property
    def _postings(self) -> dict[str, list[tuple[int, float]]]:
        """For each term, the labelled incidents that have it, with its weight there."""
        postings: dict[str, list[tuple[int, float]]] = {}
        for i, (vector, _) in enumerate(self.examples):
            for feature, weight in vector.items():
                postings.setdefault(feature, []).append((i, weight))
        return postings

    def strengths(self, fields: dict[str, str], rules: dict[str, float]) -> dict[str, float]:
        """Each class's strength in (0, 1]: its share of the sharpened belief over ``FULL_SHARE``,
        times the text's terms over ``MIN_TERMS`` and its probability over ``SURE_PROBABILITY``
        (each at most 1)."""
        x = features(fields, rules)
        probabilities = self._probabilities(x)
        sharpened = {slug: p**SHARPNESS for slug, p in probabilities.items()}
        total = sum(sharpened.values()) or 1.0
        # A text of a few words ("Errors. Requests failed.") still has a favourite; it says little.
        said = min(1.0, sum(1 for f in x if not f.startswith(RULE_FEATURE)) / MIN_TERMS)
        strengths = {
            slug: min(1.0, p / total / FULL_SHARE) * said * min(1.0, probabilities[slug] / SURE_PROBABILITY)
            for slug, p in sharpened.items()
        }
        return {slug: round(s, 4) for slug, s in strengths.items() if s >= MIN_STRENGTH}

    def to_json(self) -> dict:
        examples = [{"classes": list(classes), "terms": vector} for vector, classes in self.examples]
        return {"bias": self.bias, "weights": self.weights, "examples": examples}

    @classmethod
    def from_json(cls, data: dict) -> ClassModel:
        examples = tuple((e["terms"], tuple(e["classes"])) for e in data.get("examples", ()))
        return cls(data["bias"], data["weights"], examples)

    @property
    def digest(self) -> str:
        return hashlib.blake2b(json.dumps(self.to_json(), sort_keys=True).encode(), digest_size=8).hexdigest()


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def _dot(weights: dict[str, float], x: dict[str, float]) -> float:
    return sum(value * weights.get(feature, 0.0) for feature, value in x.items())


def features(fields: dict[str, str], rules: dict[str, float]) -> dict[str, float]:
    """The text's terms (sub-linear counts, the vector of unit length) and the rules' strengths."""
    counts = terms_of(fields)
    x = {t: 1 + math.log(n) if n >= 1 else n for t, n in counts.items()}
    norm = math.sqrt(sum(v * v for v in x.values())) or 1.0
    x = {t: v / norm for t, v in x.items()}
    x.update({RULE_FEATURE + slug: strength for slug, strength in rules.items()})
    return x


def terms_of(fields: dict[str, str]) -> Counter:
    """The terms of the text (synonyms joined, stemmed), each counted by its field's weight."""
    from .repeats import tokens

    counts: Counter = Counter()
    for name, text in fields.items():
        for term, _ in tokens(text or ""):
            counts[term] += FIELD_WEIGHTS.get(name, 1.0)
    return counts


def description(name: str, keywords: str) -> str:
    """A class's name and the words of its rules, as text (the rules' syntax dropped)."""
    return name + " " + re.sub(r"[|+\n]", " ", keywords)


def train(
    examples: Iterable[tuple[dict[str, str], Iterable[str]]], classes: Iterable[tuple[str, str, str]]
) -> ClassModel:
    """A model from (text fields, class slugs) examples and the (name, slug, keywords) of the classes
    (only those classes are learned; an example's other labels, "other" among them, make it a
    negative example of every class)."""
    from .repeats import Taxonomy, rule_strengths

    classes = list(classes)
    slugs = [slug for _, slug, _ in classes]
    known = Taxonomy.from_rows(classes)
    data = [(features(fields, rule_strengths(fields, known)), set(labels)) for fields, labels in examples]
    for name, slug, keywords in classes:
        text = {"description": description(name, keywords)}
        data.append((features(text, rule_strengths(text, known)), {slug}))
    bias = dict.fromkeys(slugs, 0.0)
    weights: dict[str, dict[str, float]] = {slug: {} for slug in slugs}
    # Adagrad: each weight's step shrinks with the gradients it has seen, so rare terms still learn.
    seen_bias = dict.fromkeys(slugs, 1e-8)
    seen: dict[str, Counter] = {slug: Counter() for slug in slugs}
    order = list(range(len(data)))
    rng = random.Random(SEED)
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for i in order:
            x, labels = data[i]
            for slug in slugs:
                w, g2 = weights[slug], seen[slug]
                error = _sigmoid(bias[slug] + _dot(w, x)) - (slug in labels)
                seen_bias[slug] += error * error
                bias[slug] -= STEP * error / math.sqrt(seen_bias[slug])
                for feature, value in x.items():
                    gradient = error * value + L2 * w.get(feature, 0.0)
                    g2[feature] += gradient * gradient
                    w[feature] = w.get(feature, 0.0) - STEP * gradient / math.sqrt(g2[feature] + 1e-8)
    labelled = data[: len(data) - len(classes)]  # the incidents, without the classes' descriptions
    return ClassModel(
        {slug: round(b, 4) for slug, b in bias.items()},
        {slug: {f: round(v, 4) for f, v in sorted(w.items()) if abs(v) >= 1e-4} for slug, w in weights.items()},
        tuple(
            (
                {f: round(v, 4) for f, v in sorted(x.items()) if not f.startswith(RULE_FEATURE)},
                tuple(sorted(labels & set(slugs))),
            )
            for x, labels in labelled
        ),
    )


# The labelled development sets the shipped weights are learned from (``train_failure_classes``).
DATA = Path(__file__).resolve().parent.parent / "bench" / "data"
GOLD_SETS = [
    "repeats_public",
    "repeats_heldout",
    "repeats_heldout_3",
    "repeats_heldout_4",
    "repeats_heldout_5",
    "repeats_heldout_6",
    "repeats_heldout_7",
    "repeats_heldout_8",
    "repeats_heldout_9",
    "repeats_heldout_10",
    "repeats_heldout_11",
    "repeats_heldout_12",
    "repeats_heldout_13",
]
TRAINING_SETS = [DATA / name / "incidents.jsonl" for name in GOLD_SETS]
# Labels of the sets that name a built-in class differently; "other" is no class.
LABEL_ALIASES = {
    "time-date-bug": "time-date",
    "expired-certificate-or-credential": "expired-credential",
    "capacity-exhaustion": "capacity",
}
TEXT_FIELDS = ("title", "summary", "root_cause", "contributing_factors")


def gold_classes(incident: dict) -> list[str]:
    """The gold class slugs of one line of an ``incidents.jsonl`` (aliases resolved; "other" is no class)."""
    labels = (LABEL_ALIASES.get(c, c) for c in incident.get("failure_classes") or [])
    return [label for label in labels if label != "other"]


def read_jsonl(path: Path) -> list[dict]:
    """The lines of a JSON Lines file (an ``incidents.jsonl``, a ``pairs.jsonl``), one dict each."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_examples(path: Path) -> list[tuple[dict[str, str], list[str]]]:
    """(text fields, gold class slugs) of each incident of an ``incidents.jsonl``."""
    return [
        ({name: incident.get(name) or "" for name in TEXT_FIELDS}, gold_classes(incident))
        for incident in read_jsonl(path)
    ]


_active: list[ClassModel | None] = []


@contextmanager
def using(model: ClassModel | None):
    """Suggest classes with ``model`` (None: the rules alone) inside the block (the benchmark's
    leave-one-set-out runs)."""
    from .repeats import _inferred

    _active.append(model)
    _inferred.cache_clear()
    try:
        yield model
    finally:
        _active.pop()
        _inferred.cache_clear()


def default_model() -> ClassModel | None:
    """The model in use: the shipped one (``class_weights.json``) unless ``using`` says otherwise;
    None when there is none."""
    return _active[-1] if _active else _shipped()


@lru_cache(maxsize=1)
def _shipped() -> ClassModel | None:
    try:
        return ClassModel.from_json(json.loads(WEIGHTS_FILE.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
