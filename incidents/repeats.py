"""Repeat-class detection: does a later incident repeat the class of failure of an earlier one?

The score (0..1) is a pure function of the two incidents, ``score_pair``: the Celery jobs and the
``score_repeat_pairs`` command call the same function, so the labelled benchmark measures exactly what
runs in production.

How it scores, and why
----------------------
``score = decay × (0.2 × services + 0.2 × cause + 0.6 × text)``; a pair is a repeat when the score
is at least ``THRESHOLD`` (0.5) *and* the two share a service or a cause category.

- **text** (weight 0.6) is the cosine similarity of two bag-of-words vectors, one per incident, built
  from the title and root cause (each counted twice) and the contributing factors and summary (once).
  The *mechanism* is what makes a repeat (a pool exhausted again, a certificate expired again), and it
  lives in these words; so text carries most of the weight. Words are lower-cased, stop words dropped,
  reduced by a small suffix-stripping stemmer ("exhausted", "exhaustion" -> "exhaust"), and adjacent
  pairs are added as bigrams ("connection pool"), which tell a mechanism from shared vocabulary.
  Term frequency is sub-linear (1 + log tf), and words every incident write-up uses ("error",
  "users", "customers", "minutes", "alert") are down-weighted by a fixed built-in table.
  *Why not corpus IDF (TF-IDF over all incidents)?* It would make a pair's score depend on which
  other incidents happen to be in the database or in the input file: the job and the command would
  disagree, and a score would drift as incidents are added. The fixed weights are a hand-made IDF
  for the vocabulary of incident reports, and keep the function pure and reproducible.
  *Why not PostgreSQL trigram or full-text similarity?* They only exist on PostgreSQL (SQLite is a
  supported default), and the command must score without a database.
  *Why not scikit-learn or embeddings?* Too heavy a dependency for a few hundred short texts a night.
- **services** (0.2): the overlap coefficient of the two service sets (shared ÷ the smaller set), so
  an incident spanning three services still fully matches one on a single shared service.
- **cause** (0.2): 1 when both have the same cause category, else 0 (unknown counts as different).
  Service and cause are only supporting evidence: the same service fails for unrelated reasons all
  the time, and a cause category is a broad class; together they add at most 0.4, below the
  threshold, so a repeat always needs similar text too.
- **decay**: ``0.5 ** (days apart / 1095)``, a half-life of three years. A recurrence within weeks
  is more likely the same unfixed problem than one years later, when systems have changed; a slow
  decay keeps year-old repeats findable (0.79 at one year).

The weights are round numbers chosen from the reasoning above before looking at the labelled set;
``bench/repeats.py`` reports precision and recall on it (see ``bench/data/repeat_pairs.jsonl``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch, Q
from django.db.models.functions import Coalesce

from actions.models import ActionItem
from postmortems.models import Postmortem
from postmortems.querysets import PostmortemAccess, is_admin

from .models import Incident, RepeatLink

WEIGHTS = {"services": 0.2, "cause": 0.2, "text": 0.6}
FIELD_WEIGHTS = {"title": 2.0, "root_cause": 2.0, "contributing_factors": 1.0, "summary": 1.0}
THRESHOLD = 0.5
HALF_LIFE_DAYS = 1095
BIGRAM_WEIGHT = 1.0

_STOP_WORDS = """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers him his how i if in into is it its itself just me more most my no nor not now of off on
    once only or other our ours out over own same she should so some such than that the their them then there
    these they this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours via per did didn't wasn't weren't isn't aren't don't doesn't won't
    couldn't shouldn't across around within without upon onto again already still yet got get gets getting
    one two three four five first second new old several many much every another
    """
STOP_WORDS = frozenset(_STOP_WORDS.split())

# Words nearly every incident write-up uses: a fixed stand-in for inverse document frequency over
# incident reports. Their stems weigh COMMON_WEIGHT instead of 1.
_COMMON_WORDS = """
    error errors failed failure fails user users request requests service services customer customers impact
    impacted minutes minute hours hour seconds alert alerts alerted team engineer engineers outage degraded
    elevated increased increase caused cause due issue issues problem system systems production prod
    incident response rate high low time paged page on-call oncall reported returned returning started
    stopped affected unable down slow took investigated identified mitigated mitigation resolved restored
    fixed rolled rollback change changed week day api endpoint app application traffic
"""
COMMON_WORDS = _COMMON_WORDS.split()
COMMON_WEIGHT = 0.3

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def stem(word: str) -> str:
    """A small suffix-stripping stemmer: consistent enough that related forms meet, not linguistics."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        stem_ = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem_) >= 3 and re.search(r"[aeiouy]", stem_):
            word = stem_[:-1] if len(stem_) > 3 and stem_[-1] == stem_[-2] and stem_[-1] not in "lsz" else stem_
            break
    for suffix, replacement in (
        ("ational", "ate"),
        ("ization", "ize"),
        ("ation", "ate"),
        ("ition", "ite"),
        ("tion", "t"),
        ("sion", "s"),
        ("ment", ""),
        ("ness", ""),
        ("ity", ""),
        ("ure", ""),
        ("ly", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)] + replacement
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    if word.endswith("y") and len(word) > 4:
        word = word[:-1]
    if word.endswith("at") and len(word) > 6:
        word = word[:-2]
    return word


_COMMON_STEMS = frozenset(stem(word) for word in COMMON_WORDS)


def tokens(text: str) -> list[tuple[str, str]]:
    """(stem, surface word) of each content word of ``text``, in order."""
    result = []
    for match in _TOKEN.finditer((text or "").lower()):
        word = match.group().removesuffix("'s")
        if word in STOP_WORDS or word.isdigit() or len(word) < 2:
            continue
        result.append((stem(word), word))
    return result


@dataclass
class TextVector:
    """Weighted features (stems and bigrams of stems) with the surface words that produced them."""

    weights: dict[str, float] = field(default_factory=dict)
    surface: dict[str, str] = field(default_factory=dict)

    def norm(self) -> float:
        return math.sqrt(sum(w * w for w in self.weights.values()))


def _features(text: str) -> tuple[Counter, dict[str, str]]:
    words = tokens(text)
    counts: Counter = Counter()
    surface: dict[str, str] = {}
    for s, w in words:
        counts[s] += 1
        surface.setdefault(s, w)
    for (s1, w1), (s2, w2) in zip(words, words[1:], strict=False):
        if s1 != s2:
            key = f"{s1} {s2}"
            counts[key] += 1
            surface.setdefault(key, f"{w1} {w2}")
    return counts, surface


def _prior(feature: str) -> float:
    parts = feature.split(" ")
    weight = min(COMMON_WEIGHT if part in _COMMON_STEMS else 1.0 for part in parts)
    return weight * (BIGRAM_WEIGHT if len(parts) > 1 else 1.0)


def vectorize(fields: dict[str, str]) -> TextVector:
    """One vector from several fields, each field's term frequencies scaled by ``FIELD_WEIGHTS``."""
    tf: Counter = Counter()
    surface: dict[str, str] = {}
    for name, text in fields.items():
        counts, words = _features(text)
        for feature, count in counts.items():
            tf[feature] += FIELD_WEIGHTS.get(name, 1.0) * count
        for feature, word in words.items():
            surface.setdefault(feature, word)
    weights = {f: (1 + math.log(n)) * _prior(f) for f, n in tf.items() if n > 0}
    return TextVector(weights, surface)


def cosine(a: TextVector, b: TextVector) -> float:
    if not a.weights or not b.weights:
        return 0.0
    dot = sum(w * b.weights[f] for f, w in a.weights.items() if f in b.weights)
    return dot / (a.norm() * b.norm())


def shared_terms(a: TextVector, b: TextVector, limit: int = 4) -> list[str]:
    """The surface words of the strongest shared features, bigrams first; words inside a bigram once."""
    shared = sorted(
        (f for f in a.weights if f in b.weights),
        key=lambda f: (-(" " in f), -a.weights[f] * b.weights[f], f),
    )
    chosen: list[str] = []
    covered: set[str] = set()
    for feature in shared:
        parts = set(feature.split(" "))
        if parts <= covered or _prior(feature) < 1.0:
            continue
        chosen.append(a.surface.get(feature, feature))
        covered |= parts
        if len(chosen) == limit:
            break
    return chosen


@dataclass(frozen=True)
class IncidentDoc:
    """What the scoring reads of an incident (from the database or a JSON line)."""

    title: str = ""
    services: frozenset[str] = frozenset()
    cause_category: str | None = None
    summary: str = ""
    root_cause: str = ""
    contributing_factors: str = ""
    started_at: datetime | None = None

    def text_fields(self) -> dict[str, str]:
        return {name: getattr(self, name) or "" for name in FIELD_WEIGHTS}


@dataclass(frozen=True)
class PairScore:
    score: float
    repeat: bool
    reason: str
    signals: dict


def _service_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _decay(earlier: datetime | None, later: datetime | None) -> float:
    if not (earlier and later):
        return 1.0
    days = abs((later - earlier).total_seconds()) / 86400
    return 0.5 ** (days / HALF_LIFE_DAYS)


def _reason(earlier: IncidentDoc, later: IncidentDoc, vectors: tuple[TextVector, TextVector]) -> str:
    parts = []
    services = sorted(earlier.services & later.services)
    same_cause = bool(earlier.cause_category) and earlier.cause_category == later.cause_category
    if services:
        label = "service" if len(services) == 1 else "services"
        parts.append(f"{label} {', '.join(services)}")
    if same_cause:
        parts.append(f"cause {earlier.cause_category}")
    head = "Same " + " and ".join(parts) if parts else "No shared service or cause"
    for field_name, label in (
        ("root_cause", "root causes"),
        ("title", "titles"),
        ("contributing_factors", "contributing factors"),
    ):
        terms = shared_terms(
            vectorize({field_name: getattr(earlier, field_name)}), vectorize({field_name: getattr(later, field_name)})
        )
        if terms:
            return f"{head}; {label} share: {', '.join(terms)}"
    terms = shared_terms(*vectors)
    return f"{head}; texts share: {', '.join(terms)}" if terms else f"{head}; little shared text"


def score_pair(earlier: IncidentDoc, later: IncidentDoc) -> PairScore:
    """Score whether ``later`` repeats ``earlier``'s class of failure (see the module's docstring)."""
    vectors = (vectorize(earlier.text_fields()), vectorize(later.text_fields()))
    signals = {
        "services": _service_overlap(earlier.services, later.services),
        "cause": 1.0 if earlier.cause_category and earlier.cause_category == later.cause_category else 0.0,
        "text": cosine(*vectors),
    }
    decay = _decay(earlier.started_at, later.started_at)
    score = round(min(1.0, decay * sum(WEIGHTS[name] * value for name, value in signals.items())), 4)
    same_class = signals["services"] > 0 or signals["cause"] > 0
    return PairScore(
        score=score,
        repeat=same_class and score >= THRESHOLD,
        reason=_reason(earlier, later, vectors),
        signals={**signals, "decay": decay},
    )


# --- The database side: documents, candidates, permissions, the incident page's list -------------------

CANDIDATE_WINDOW_DAYS = 3 * 365
MAX_CANDIDATES = 500


def incident_doc(incident, access: PostmortemAccess | None = None) -> IncidentDoc:
    """The scoring's view of an incident; the postmortem's sections when there is one.

    With ``access`` (a reader's ``PostmortemAccess`` to the incident's postmortem, or ``None``
    for a postmortem they may not read: pass ``access=NO_ACCESS``), the view of that reader:
    a postmortem they may not read counts as absent, and sections redacted for them as empty.
    Expects ``services`` prefetched and ``cause_category`` and ``postmortem`` selected.
    """
    postmortem = getattr(incident, "postmortem", None) if _has_postmortem(incident) else None
    if access is NO_ACCESS:
        postmortem = None

    def section(name: str) -> str:
        if postmortem is None or (access is not None and access.redacted(name)):
            return ""
        return getattr(postmortem, name) or ""

    return IncidentDoc(
        title=incident.title,
        services=frozenset(s.name for s in incident.services.all()),
        cause_category=incident.cause_category.name if incident.cause_category_id else None,
        summary=section("summary") or incident.summary or "",
        root_cause=section("root_cause"),
        contributing_factors=section("contributing_factors"),
        started_at=_when(incident),
    )


# ``incident_doc``'s ``access`` for a reader who may not read the postmortem at all.
NO_ACCESS = object()


def _has_postmortem(incident) -> bool:
    try:
        return incident.postmortem is not None
    except ObjectDoesNotExist:
        return False


def _when(incident) -> datetime:
    return incident.started_at or incident.declared_at


def for_scoring(queryset):
    return queryset.select_related("cause_category", "postmortem").prefetch_related("services")


def repeat_candidates(incident):
    """Earlier incidents (started before ``incident``) that share a service or the cause category.

    The prefilter runs in the database; scoring runs on what it returns, most recent first.
    """
    when = _when(incident)
    shared = Q(
        pk__in=Incident.services.through.objects.filter(service_id__in=incident.services.values("pk")).values(
            "incident_id"
        )
    )
    if incident.cause_category_id:
        shared |= Q(cause_category_id=incident.cause_category_id)
    return for_scoring(
        Incident.objects.annotate(began=Coalesce("started_at", "declared_at"))
        .filter(shared, began__lt=when, began__gte=when - timedelta(days=CANDIDATE_WINDOW_DAYS))
        .exclude(pk=incident.pk)
        .order_by("-began", "-pk")
    )[:MAX_CANDIDATES]


def can_decide(user, incident) -> bool:
    """Who may confirm or dismiss a suggestion that ``incident`` repeats an earlier one: the editors
    of its postmortem (facilitator, authors), its commander and admins."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if is_admin(user) or (incident.commander_id and incident.commander_id == user.pk):
        return True
    return Postmortem.objects.editable_by(user).filter(incident=incident).exists()


@dataclass
class RepeatEntry:
    """One earlier incident as ``user`` may read it. ``reason`` is worked out from what the reader
    may read (the stored ``link.reason`` may quote sections they may not); ``score`` is the stored
    score, or ``None`` when it was computed from text the reader may not read."""

    link: object
    earlier: object
    never_completed: list
    done_but_recurred: list
    reason: str
    score: float | None
    postmortem_readable: bool


def _accesses(user, incidents) -> dict[int, PostmortemAccess]:
    """The reader's access to each readable postmortem of ``incidents``, by incident id (one query)."""
    rows = (
        Postmortem.objects.visible_to(user)
        .with_full_access(user)
        .filter(incident__in=[incident.pk for incident in incidents])
        .only("pk", "incident_id", "internal_sections")
    )
    return {row.incident_id: PostmortemAccess.from_annotated(row, user) for row in rows}


def _reader_doc(incident, accesses: dict[int, PostmortemAccess]) -> IncidentDoc:
    return incident_doc(incident, accesses.get(incident.pk, NO_ACCESS))


def repeat_links_for(*, incident, user) -> list[RepeatEntry]:
    """The suggested and confirmed earlier incidents of ``incident`` that ``user`` may see, each with
    its action items ``user`` may read never completed (open, in progress, blocked, won't do) and
    those marked done before ``incident`` began, which evidently did not prevent it. Everything an
    entry says comes from what ``user`` may read."""
    began = _when(incident)
    items = ActionItem.objects.visible_to(user).select_related("owner")
    links = list(
        RepeatLink.objects.filter(incident=incident, state__in=[RepeatLink.State.SUGGESTED, RepeatLink.State.CONFIRMED])
        .filter(earlier__in=Incident.objects.visible_to(user))
        .select_related("earlier__severity", "earlier__cause_category", "earlier__postmortem", "decided_by")
        .prefetch_related(
            "earlier__services",
            Prefetch(
                "earlier__postmortem__action_items",
                queryset=items.exclude(status=ActionItem.Status.DONE),
                to_attr="never_completed",
            ),
            Prefetch(
                "earlier__postmortem__action_items",
                queryset=items.filter(status=ActionItem.Status.DONE, completed_at__lt=began),
                to_attr="done_but_recurred",
            ),
        )
        .order_by("state", "-score", "pk")  # confirmed before suggested
    )
    if not links:
        return []
    later = for_scoring(Incident.objects.filter(pk=incident.pk)).get()
    accesses = _accesses(user, [later, *(link.earlier for link in links)])
    later_doc, later_full = _reader_doc(later, accesses), incident_doc(later)
    return [_entry(link, later_doc, later_full, accesses) for link in links]


def _entry(link, later_doc: IncidentDoc, later_full: IncidentDoc, accesses) -> RepeatEntry:
    earlier = link.earlier
    earlier_doc = _reader_doc(earlier, accesses)
    postmortem = earlier.postmortem if _has_postmortem(earlier) else None
    sees_all = earlier_doc == incident_doc(earlier) and later_doc == later_full
    return RepeatEntry(
        link=link,
        earlier=earlier,
        never_completed=postmortem.never_completed if postmortem else [],
        done_but_recurred=postmortem.done_but_recurred if postmortem else [],
        reason=score_pair(earlier_doc, later_doc).reason,
        score=link.score if sees_all else None,
        postmortem_readable=earlier.pk in accesses,
    )
