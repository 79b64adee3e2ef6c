"""The archive index behind repeat detection: what scoring one incident against every earlier one
needs of each earlier incident, prepared once and kept.

Preparing an incident (its TF-IDF vector, the classes its text suggests) takes about a millisecond,
so preparing 10,000 takes seconds: more than a commander should wait, on every worker's first run.
So each incident is prepared once. The index holds, for each, a digest of what the scoring read, the
norm of its vector and its classes, and the vectors' weights as postings (feature -> incidents). It
lives in the process and in the cache (``cache_key()``), so a worker's first run loads it instead of
preparing the archive again. The cache is only a head start, never the truth: every run checks the
index against the database, and an incident that is new or has changed since is prepared again.

Scoring against the index gives the scores scoring every incident would (the weights kept in
single precision). The postings give the cosine of every earlier incident that
shares a word with the new one, and the classes give those that share a class. An incident with
neither can reach only services and category, which never make a repeat (``repeats.combine``), so
it is not scored at all.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Iterable, Iterator

from django.core.cache import cache

from .repeats import (
    SCORING_KEY,
    Idf,
    IncidentDoc,
    Scorer,
    Taxonomy,
    _Prepared,
    vectorize,
)

# Unsaved changes (new or edited incidents) a process holds before it writes the index back; a
# worker that starts from an older copy prepares those few again.
SAVE_EVERY = 50
# The IDF is the archive's when the index is built; rebuilt once the archive has grown or shrunk by
# a tenth (one more incident barely moves an IDF).
DRIFT = 0.1
# Cached for a month: a run that finds none builds it again.
CACHE_SECONDS = 30 * 24 * 3600

_PROCESS: dict[str, ArchiveIndex] = {}
# A worker's threads share the process's index: one at a time syncs it and reads it.
LOCK = threading.Lock()
# Reads the incidents of some ids, as the scoring sees them.
Loader = Callable[[Iterable[int]], dict[int, IncidentDoc]]


def cache_key() -> str:
    return f"repeats:archive-index:{SCORING_KEY}"


class ArchiveIndex:
    """Prepared incidents by id, with the postings of their vectors. Each preparation is a row;
    an incident prepared again gets a new row, and the old one is skipped (and dropped at the next
    rebuild)."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.digests: dict[int, str] = {}
        self.row_of: dict[int, int] = {}
        self.row_pk = array("q")
        self.norms = array("d")
        self.classes: list[tuple[dict[str, float], bool]] = []
        # Postings: feature -> rows and their weights (single precision), packed into two flat
        # arrays (a slot of offsets per feature) for the cache, and those added since.
        self._packed_features: dict[str, int] = {}
        self._packed_offsets = array("q", [0])
        self._packed_rows = array("i")
        self._packed_weights = array("f")
        self._added: dict[str, tuple[array, array]] = {}
        self.unsaved = 0

    @classmethod
    def build(cls, digests: dict[int, str], load: Loader, taxonomy: Taxonomy) -> ArchiveIndex:
        docs = load(digests)
        vectors = {pk: vectorize(doc.text_fields()) for pk, doc in docs.items()}
        index = cls(Scorer(idf=Idf(vectors.values()), taxonomy=taxonomy))
        for pk, doc in docs.items():
            index._add(pk, digests[pk], index.scorer._prepare(doc, vectors[pk]))
        index._pack()
        index.unsaved = len(docs)
        return index

    # -- keeping it in step with the database -----------------------------------------------------

    def sync(self, digests: dict[int, str], load: Loader) -> None:
        """Prepare again the incidents whose digest differs from the one they were indexed with
        (new or edited since)."""
        changed = [pk for pk, digest in digests.items() if self.digests.get(pk) != digest]
        for pk, doc in load(changed).items() if changed else ():
            self._add(pk, digests[pk], self.scorer._prepare(doc, vectorize(doc.text_fields())))
            self.unsaved += 1

    def stale(self, taxonomy: Taxonomy) -> bool:
        """Whether the index needs building again: another taxonomy, an archive grown by more than
        ``DRIFT`` since its IDF was counted, or mostly superseded rows."""
        live, n = len(self.row_of), self.scorer.idf.n
        return self.scorer.taxonomy != taxonomy or live > (1 + DRIFT) * n or len(self.row_pk) > 2 * max(live, 1)

    def _add(self, pk: int, digest: str, prepared: _Prepared) -> None:
        row = len(self.row_pk)
        self.row_pk.append(pk)
        self.norms.append(prepared.norm)
        self.classes.append((prepared.classes, prepared.explicit))
        self.row_of[pk] = row
        self.digests[pk] = digest
        for feature, weight in prepared.weights.items():
            rows, weights = self._added.setdefault(feature, (array("i"), array("f")))
            rows.append(row)
            weights.append(weight)

    # -- scoring -----------------------------------------------------------------------------------

    def cosines(self, later: _Prepared, among: Iterable[int]) -> dict[int, float]:
        """The text cosine of ``later`` with each incident of ``among`` that shares a feature."""
        wanted = set(among)
        dots: dict[int, float] = {}
        for feature, weight in later.weights.items():
            rows, weights = self._postings(feature)
            for row, other in zip(rows, weights, strict=True):
                pk = self.row_pk[row]
                if pk in wanted and self.row_of.get(pk) == row:
                    dots[pk] = dots.get(pk, 0.0) + other * weight
        return {pk: dot / (self.norms[self.row_of[pk]] * later.norm) for pk, dot in dots.items() if later.norm}

    def shared_class_strengths(self, later: _Prepared, among: Iterable[int]) -> dict[int, float]:
        """The strength of the strongest class each incident of ``among`` shares with ``later``."""
        if not later.classes:
            return {}
        found = {}
        for pk in among:
            if pk not in self.row_of:  # gone from the database while it was being indexed
                continue
            classes = self.classes[self.row_of[pk]][0]
            shared = [min(strength, later.classes[slug]) for slug, strength in classes.items() if slug in later.classes]
            if shared:
                found[pk] = max(shared)
        return found

    def prepared(self, pk: int) -> _Prepared:
        """The classes and norm of an indexed incident (its weights are in the postings)."""
        row = self.row_of[pk]
        classes, explicit = self.classes[row]
        return _Prepared({}, self.norms[row], classes, explicit)

    def postings(self) -> Iterator[tuple[str, array, array]]:
        """Every feature with its rows and their weights (superseded rows too: see ``row_of``)."""
        for feature in self._packed_features.keys() | self._added.keys():
            yield feature, *self._postings(feature)

    def _postings(self, feature: str) -> tuple[array, array]:
        rows, weights = self._added.get(feature, (array("i"), array("f")))
        slot = self._packed_features.get(feature)
        if slot is None:
            return rows, weights
        start, end = self._packed_offsets[slot], self._packed_offsets[slot + 1]
        return self._packed_rows[start:end] + rows, self._packed_weights[start:end] + weights

    # -- the cache's copy: a few flat arrays, quick to read -----------------------------------------

    def _pack(self) -> None:
        merged = {feature: self._postings(feature) for feature in self._packed_features.keys() | self._added.keys()}
        self._packed_features = {feature: slot for slot, feature in enumerate(merged)}
        self._packed_offsets = array("q", [0])
        self._packed_rows, self._packed_weights = array("i"), array("f")
        for rows, weights in merged.values():
            self._packed_rows.extend(rows)
            self._packed_weights.extend(weights)
            self._packed_offsets.append(len(self._packed_rows))
        self._added = {}

    def __getstate__(self) -> dict:
        if sum(len(rows) for rows, _ in self._added.values()) > len(self._packed_rows) // 10:
            self._pack()
        state = {**self.__dict__, "_packed_features": "\n".join(self._packed_features)}
        # The scorer's own memo of prepared incidents stays behind: the index is that memo.
        state["scorer"] = (self.scorer.idf, self.scorer.taxonomy)
        state.pop("unsaved")
        return state

    def __setstate__(self, state: dict) -> None:
        features = state["_packed_features"]
        state["_packed_features"] = {f: slot for slot, f in enumerate(features.split("\n"))} if features else {}
        idf, taxonomy = state["scorer"]
        state["scorer"] = Scorer(idf=idf, taxonomy=taxonomy)
        self.__dict__.update(state, unsaved=0)


def archive_index(digests: dict[int, str], load: Loader, taxonomy: Taxonomy) -> ArchiveIndex:
    """The index, in step with ``digests`` (of the earlier incidents as the database has them now;
    ``load`` reads the incidents of some ids): this process's, else the cache's, else built; written
    back to the cache after ``SAVE_EVERY`` changes."""
    index = _PROCESS.get("index") or cache.get(cache_key())
    if index is not None and index.scorer.taxonomy == taxonomy:
        index.sync(digests, load)
    if index is None or index.stale(taxonomy):
        index = ArchiveIndex.build(digests, load, taxonomy)
    _PROCESS["index"] = index
    if index.unsaved >= SAVE_EVERY:
        cache.set(cache_key(), index, CACHE_SECONDS)
        index.unsaved = 0
    return index


def forget() -> None:
    """Drop this process's index and the cache's (tests; after editing the scoring by hand)."""
    _PROCESS.clear()
    cache.delete(cache_key())
