"""Failure classes suggested from text by learned term weights (multinomial naive Bayes).

The keyword rules (``FailureClass.keywords``) say exactly which words make a class; they miss a
failure mode told in words nobody wrote a rule for. The model here learns each class's words from
labelled incidents (the development sets' ``incidents.jsonl``, each incident with its gold
``failure_classes``) and from each class's own name and rule words, over the same terms as the text
similarity (``repeats.tokens``: the SRE synonym list, then the stemmer). ``repeats.infer_classes``
adds its guesses to the rules' hits; a guess under ``MIN_POSTERIOR`` suggests nothing.

The weights are data the app loads: ``incidents/class_weights.json``, written by

    .venv/bin/python manage.py train_failure_classes

(from the development sets; see that command). A class the admin adds later has no learned weights:
its keyword rules alone suggest it, as before.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

WEIGHTS_FILE = Path(__file__).with_name("class_weights.json")
# Additive smoothing of the term counts: small, as most terms of a class appear once or twice.
SMOOTHING = 0.1
# Log-likelihoods are divided by this before the posterior: naive Bayes counts every word as
# independent evidence, so on a long write-up its posterior is certain of any guess.
TEMPERATURE = 6.0
# The least posterior of a learned guess that counts as a suggestion.
MIN_POSTERIOR = 0.7
# How much a field's words count (as in the rules: the title and the root cause say the failure mode).
FIELD_WEIGHTS = {"title": 2.0, "root_cause": 2.0, "summary": 1.0, "contributing_factors": 0.5}
# Each class's name and rule words count as this many incidents' worth of text.
DESCRIPTION_WEIGHT = 1.0


@dataclass(frozen=True)
class ClassModel:
    """Per class: the log prior and the log probability of each term (and of an unseen one)."""

    log_prior: dict[str, float]
    log_prob: dict[str, dict[str, float]]
    log_unseen: dict[str, float]

    def posterior(self, fields: dict[str, str]) -> dict[str, float]:
        """The probability of each class given the text (they sum to 1; empty for no known word)."""
        counts = terms_of(fields)
        known = {t: n for t, n in counts.items() if any(t in probs for probs in self.log_prob.values())}
        if not known:
            return {}
        logits = {}
        for slug, probs in self.log_prob.items():
            unseen = self.log_unseen[slug]
            likelihood = sum(n * probs.get(t, unseen) for t, n in known.items())
            logits[slug] = self.log_prior[slug] + likelihood / TEMPERATURE
        top = max(logits.values())
        exps = {slug: math.exp(v - top) for slug, v in logits.items()}
        total = sum(exps.values())
        return {slug: e / total for slug, e in exps.items()}

    def guesses(self, fields: dict[str, str]) -> dict[str, float]:
        """The classes whose posterior reaches ``MIN_POSTERIOR``, with it."""
        return {slug: p for slug, p in self.posterior(fields).items() if p >= MIN_POSTERIOR}

    def to_json(self) -> dict:
        return {"log_prior": self.log_prior, "log_prob": self.log_prob, "log_unseen": self.log_unseen}

    @classmethod
    def from_json(cls, data: dict) -> ClassModel:
        return cls(data["log_prior"], data["log_prob"], data["log_unseen"])

    @property
    def digest(self) -> str:
        return hashlib.blake2b(json.dumps(self.to_json(), sort_keys=True).encode(), digest_size=8).hexdigest()


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
    (only those classes are learned; an example's other labels are ignored)."""
    classes = list(classes)
    slugs = [slug for _, slug, _ in classes]
    counts: dict[str, Counter] = {slug: Counter() for slug in slugs}
    documents: Counter = Counter()
    for name, slug, keywords in classes:
        for term, n in terms_of({"description": description(name, keywords)}).items():
            counts[slug][term] += DESCRIPTION_WEIGHT * min(n, 2.0)
    for fields, labels in examples:
        terms = terms_of(fields)
        for slug in set(labels) & counts.keys():
            counts[slug].update(terms)
            documents[slug] += 1
    vocabulary = set().union(*counts.values())
    total_documents = sum(documents.values()) + len(slugs)
    log_prior, log_prob, log_unseen = {}, {}, {}
    for slug in slugs:
        denominator = sum(counts[slug].values()) + SMOOTHING * (len(vocabulary) + 1)
        log_prior[slug] = math.log((documents[slug] + 1) / total_documents)
        log_prob[slug] = {t: round(math.log((n + SMOOTHING) / denominator), 4) for t, n in counts[slug].items()}
        log_unseen[slug] = round(math.log(SMOOTHING / denominator), 4)
    return ClassModel(log_prior, log_prob, log_unseen)


# The labelled development sets the shipped weights are learned from (``train_failure_classes``).
DATA = Path(__file__).resolve().parent.parent / "bench" / "data"
TRAINING_SETS = [DATA / "repeats_public" / "incidents.jsonl", DATA / "repeats_heldout" / "incidents.jsonl"]
# Labels of the sets that name a built-in class differently; "other" is no class.
LABEL_ALIASES = {
    "time-date-bug": "time-date",
    "expired-certificate-or-credential": "expired-credential",
    "capacity-exhaustion": "capacity",
}
TEXT_FIELDS = ("title", "summary", "root_cause", "contributing_factors")


def read_examples(path: Path) -> list[tuple[dict[str, str], list[str]]]:
    """(text fields, gold class slugs) of each incident of an ``incidents.jsonl``."""
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            incident = json.loads(line)
            labels = [LABEL_ALIASES.get(c, c) for c in incident.get("failure_classes") or []]
            examples.append(({name: incident.get(name) or "" for name in TEXT_FIELDS}, labels))
    return examples


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
