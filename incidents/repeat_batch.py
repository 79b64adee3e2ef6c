"""Repeat detection for many incidents at once: the end of an archive import.

``repeats.repeats_of`` scores one incident: it reads the archive's digests, brings the kept index
(``repeat_index``) in step and reads its candidates: a dozen queries and a pass over the whole
archive each time, so an import of 10,000 incidents took hours. Here the index is brought in step
with the whole archive once and the batch is scored against it in memory, a chunk at a time:

- incidents indexed with the same weights, norm and classes are one *profile*: their cosine and
  shared class with any incident are the same, so the inverted index runs over profiles;
- incidents of one profile that also share services, category and start are one *group*: the
  same verdict against any incident, so a group is scored once for each later incident alike.

The suggestions are those ``repeats_of`` makes with the same index: the same cosines (summed in the
same order from the same single-precision weights), ``could_repeat`` and ``combine`` for the
verdicts, the ``MAX_SUGGESTIONS`` best by rank with ties by id, and ``Scorer.score`` for the stored
score and reason. They are written a chunk at a time; a decided pair is left alone and nobody is
emailed (archive mode). Memory holds the index, the profiles and one chunk of incidents.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from django.db.models.functions import Coalesce

from . import repeats
from .models import Incident, RepeatLink
from .repeat_index import LOCK, ArchiveIndex, archive_index
from .repeats import IncidentDoc, PairScore, Scorer, _Prepared

# Incidents read and scored at a time (and links written at a time).
CHUNK = 500
# Found: (later incident, earlier incident, its score and reason).
Found = tuple[int, int, PairScore]


def suggest_repeats(incident_ids: Iterable[int]) -> int:
    """Record the earlier incidents each of ``incident_ids`` repeats as suggested links, as
    ``repeats.repeats_of`` finds them: a pending suggestion is refreshed, a decided pair is left
    alone, nobody is emailed. Returns how many pairs were found (decided ones included)."""
    ids = sorted(set(incident_ids))
    # A small archive is scored as repeats_of scores it there: each incident with its own IDF.
    small = Incident.objects.count() <= repeats.REUSE_FROM
    find = _one_at_a_time if small else Batch.of_archive().repeats_among
    found = 0
    for chunk in _chunks(ids):
        pairs = find(chunk)
        _record(pairs)
        found += len(pairs)
    return found


def _one_at_a_time(chunk: list[int]) -> list[Found]:
    return [
        (incident.pk, pk, result)
        for incident in Incident.objects.filter(pk__in=chunk).order_by("pk")
        for pk, result in repeats.repeats_of(incident)
    ]


def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _began():
    return Incident.objects.annotate(began=Coalesce("started_at", "declared_at"))


def _docs(pks: Iterable[int]) -> dict[int, IncidentDoc]:
    """``repeats.docs_of`` the incidents ``pks``, read a few thousand at a time."""
    docs: dict[int, IncidentDoc] = {}
    for chunk in _chunks(sorted(pks), 4 * CHUNK):
        docs.update(repeats.docs_of(_began().filter(pk__in=chunk)))
    return docs


def _outlines(pks: Iterable[int]) -> dict[int, IncidentDoc]:
    outlines: dict[int, IncidentDoc] = {}
    for chunk in _chunks(sorted(pks), 4 * CHUNK):
        outlines.update(repeats.outlines_of(chunk))
    return outlines


@dataclass
class _Group:
    """Incidents of one profile with the same services, category and start."""

    outline: IncidentDoc
    pks: list[int] = field(default_factory=list)


@dataclass
class _Profile:
    """Incidents indexed alike (their weights are in ``Batch.postings``)."""

    prepared: _Prepared
    groups: dict[tuple, _Group] = field(default_factory=dict)
    # When its first incident began.
    first_start: datetime | None = None


class Batch:
    """The archive as profiles and groups, from the kept index, to score many incidents against."""

    def __init__(self, index: ArchiveIndex, pks: Iterable[int]) -> None:
        self.idf, self.taxonomy = index.scorer.idf, index.scorer.taxonomy
        self.profiles: list[_Profile] = []
        live = {index.row_of[pk]: pk for pk in pks if pk in index.row_of}
        first_rows = self._profiles(index, live)
        # Numbered by when their first incident began: those with an incident earlier than a given
        # start are a prefix (``_best``). A profile of deleted incidents only is dropped.
        order = sorted((n for n, p in enumerate(self.profiles) if p.groups), key=lambda n: self.profiles[n].first_start)
        renumbered = {old: new for new, old in enumerate(order)}
        self.profiles = [self.profiles[old] for old in order]
        self.starts = [profile.first_start for profile in self.profiles]
        self.postings = self._inverted(index, {row: renumbered[n] for row, n in first_rows.items() if n in renumbered})
        self.by_class: dict[str, list[int]] = {}
        for number, profile in enumerate(self.profiles):
            for slug in profile.prepared.classes:
                self.by_class.setdefault(slug, []).append(number)
        self.could_repeat = _CouldRepeat()

    @staticmethod
    def _inverted(index: ArchiveIndex, profile_of_row: dict[int, int]) -> dict[str, tuple[list[int], list[float]]]:
        """Feature -> the profiles holding it, in their order, and their weights."""
        found: dict[str, list[tuple[int, float]]] = {}
        for feature, rows, weights in index.postings():
            for row, weight in zip(rows, weights, strict=True):
                if row in profile_of_row:
                    found.setdefault(feature, []).append((profile_of_row[row], weight))
        return {feature: tuple(map(list, zip(*sorted(pairs), strict=True))) for feature, pairs in found.items()}

    @classmethod
    def of_archive(cls) -> Batch:
        """Every incident, from the kept index brought in step with the database once."""
        digests = repeats.digests_of(_began())
        with LOCK:
            index = archive_index(digests, _docs, repeats.taxonomy())
            return cls(index, digests)

    def _profiles(self, index: ArchiveIndex, live: dict[int, int]) -> dict[int, int]:
        """Sort the ``live`` rows (row -> id) into profiles and groups; the profile of each
        profile's first row (the one whose weights the postings keep), by row."""
        # Each row's weights hashed in the one order the postings are read in: rows alike hash alike
        # (two rows unlike but alike in hash, norm and classes would take some 2**32 profiles).
        hashes = dict.fromkeys(live, 0)
        for feature, rows, weights in index.postings():
            for row, weight in zip(rows, weights, strict=True):
                if row in hashes:
                    hashes[row] = hash((hashes[row], feature, weight))
        outlines = _outlines(live.values())
        numbers: dict[tuple, int] = {}
        first_rows: dict[int, int] = {}
        for row, pk in sorted(live.items(), key=lambda item: item[1]):
            prepared = index.prepared(pk)
            key = (hashes[row], prepared.norm, tuple(sorted(prepared.classes.items())), prepared.explicit)
            number = numbers.get(key)
            if number is None:
                number = numbers[key] = len(self.profiles)
                self.profiles.append(_Profile(prepared))
                first_rows[row] = number
            outline = outlines.get(pk)
            if outline is None:  # deleted since its digest was read
                continue
            # What ``combine`` reads of the earlier incident besides its prepared text.
            group_key = (outline.services, outline.cause_category, outline.started_at)
            self.profiles[number].groups.setdefault(group_key, _Group(outline)).pks.append(pk)
        for profile in self.profiles:
            profile.first_start = min((key[2] for key in profile.groups), default=None)
        return first_rows

    # -- scoring ------------------------------------------------------------------------------------

    def repeats_among(self, chunk: list[int]) -> list[Found]:
        """What ``repeats.repeats_of`` finds for each incident of ``chunk``, in id order."""
        docs = _docs(chunk)
        scorer = Scorer(idf=self.idf, taxonomy=self.taxonomy)
        best_of: dict[tuple, list[int]] = {}
        chosen: dict[int, list[int]] = {}
        for pk in chunk:
            doc = docs.get(pk)
            if doc is None:  # deleted meanwhile
                continue
            later = scorer.prepare(doc)
            # Incidents alike in all the verdicts read have the same best earlier incidents.
            key = (tuple(later.weights.items()), later.norm, tuple(later.classes.items()), later.explicit)
            key += (doc.services, doc.cause_category, doc.started_at)
            if key not in best_of:
                best_of[key] = self._best(doc, later)
            chosen[pk] = best_of[key]
        earlier = _docs({e for best in chosen.values() for e in best})
        return [
            (pk, e, scorer.score(earlier[e], docs[pk])) for pk, best in chosen.items() for e in best if e in earlier
        ]

    def _best(self, doc: IncidentDoc, later: _Prepared) -> list[int]:
        """The ``MAX_SUGGESTIONS`` earlier incidents ``doc`` repeats, the best ranked first (ties by id)."""
        earlier = bisect_left(self.starts, doc.started_at)  # the profiles with an earlier incident
        texts, classes = self._cosines(later, earlier), self._class_strengths(later, earlier)
        ranked: list[tuple[float, int]] = []
        for number in texts.keys() | classes.keys():
            profile = self.profiles[number]
            text = texts.get(number, 0.0)
            if not self.could_repeat(text, classes.get(number, 0.0)):
                continue
            for group in profile.groups.values():
                if group.outline.started_at >= doc.started_at:  # not earlier
                    continue
                verdict = repeats.combine(group.outline, doc, text, profile.prepared, later)
                if verdict.repeat:
                    ranked += [(-verdict.rank, pk) for pk in group.pks[: repeats.MAX_SUGGESTIONS]]
        return [pk for _, pk in sorted(ranked)[: repeats.MAX_SUGGESTIONS]]

    def _cosines(self, later: _Prepared, earlier: int) -> dict[int, float]:
        """As ``ArchiveIndex.cosines``, by profile, for the profiles numbered below ``earlier``."""
        dots: dict[int, float] = {}
        for feature, weight in later.weights.items():
            numbers, others = self.postings.get(feature, ((), ()))
            for number, other in islice(zip(numbers, others, strict=True), bisect_left(numbers, earlier)):
                dots[number] = dots.get(number, 0.0) + other * weight
        if not later.norm:
            return {}
        return {number: dot / (self.profiles[number].prepared.norm * later.norm) for number, dot in dots.items()}

    def _class_strengths(self, later: _Prepared, earlier: int) -> dict[int, float]:
        """As ``ArchiveIndex.shared_class_strengths``, by profile, for the profiles numbered below ``earlier``."""
        sharing = set()
        for slug in later.classes:
            numbers = self.by_class.get(slug, [])
            sharing.update(islice(numbers, bisect_left(numbers, earlier)))
        found = {}
        for number in sharing:
            classes = self.profiles[number].prepared.classes
            found[number] = max(
                min(strength, later.classes[slug]) for slug, strength in classes.items() if slug in later.classes
            )
        return found


class _CouldRepeat:
    """``repeats.could_repeat`` for many pairs. It grows with the text cosine (each signal only
    adds evidence), so for each class strength one search finds the cosines below which it is
    false and above which it is true; only a cosine between the two (a float or two apart) asks
    it again."""

    def __init__(self) -> None:
        self._bounds: dict[float, tuple[float, float]] = {}

    def __call__(self, text: float, strength: float) -> bool:
        bounds = self._bounds.get(strength)
        if bounds is None:
            bounds = self._bounds[strength] = self._search(strength)
        false_to, true_from = bounds
        if text <= false_to:
            return False
        if text >= true_from:
            return True
        return repeats.could_repeat(text, strength)

    @staticmethod
    def _search(strength: float) -> tuple[float, float]:
        if repeats.could_repeat(0.0, strength):
            return -math.inf, 0.0
        if not repeats.could_repeat(1.0, strength):
            return 1.0, math.inf
        false_to, true_from = 0.0, 1.0
        while (middle := (false_to + true_from) / 2) not in (false_to, true_from):
            if repeats.could_repeat(middle, strength):
                true_from = middle
            else:
                false_to = middle
        return false_to, true_from


def _record(found: list[Found]) -> None:
    """Store ``found`` as suggestions: new pairs in bulk, pending ones refreshed, decided ones untouched."""
    if not found:
        return
    links = RepeatLink.objects.filter(incident_id__in={incident for incident, _, _ in found})
    existing = {
        (link.incident_id, link.earlier_id): link
        for link in links.only("incident", "earlier", "state", "score", "reason")
    }
    new, refreshed = [], []
    for incident, earlier, result in found:
        link = existing.get((incident, earlier))
        if link is None:
            new.append(RepeatLink(incident_id=incident, earlier_id=earlier, score=result.score, reason=result.reason))
        elif link.state == RepeatLink.State.SUGGESTED and (link.score, link.reason) != (result.score, result.reason):
            link.score, link.reason = result.score, result.reason
            refreshed.append(link)
    # A pair recorded meanwhile (a declaration, the nightly job) stays one row, as it was.
    RepeatLink.objects.bulk_create(new, batch_size=CHUNK, ignore_conflicts=True)
    # A suggestion decided meanwhile is left alone.
    RepeatLink.objects.filter(state=RepeatLink.State.SUGGESTED).bulk_update(
        refreshed, ["score", "reason"], batch_size=CHUNK
    )
