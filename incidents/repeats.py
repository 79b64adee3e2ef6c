"""Repeat-class detection: does a later incident repeat the class of failure of an earlier one?

The score (0..1) comes from ``Scorer.score`` (``score_pair`` with the built-in defaults): the
Celery jobs and the ``score_repeat_pairs`` command call the same code, so the benchmark measures
what runs in production.

What it looks at
----------------
Two incidents written by different teams years apart rarely share a service or many words; what
they share is the *failure mode* (a certificate expired again, a config push went global again).
So the evidence is:

- **failure class** (``FailureClass``): the classes people set on the incident, or, when none is
  set, those suggested from its text (``infer_classes``) by each class's keyword rules (a rule's
  words must meet in one sentence: "content update" and "at once"; a word that is denied, "the key
  had not expired", counts for nothing), weighed with the text's words by a model learned from
  labelled incidents (``class_model``: logistic regression; each class's strength is its share of
  the model's belief, so two incidents whose beliefs lean to the same class agree even when neither
  is sure). A shared class is the strongest evidence; two incidents whose classes were both *set*
  and differ count half (people said they are different).
- **text**: the cosine similarity of TF-IDF vectors over title and root cause (weighted twice),
  contributing factors and summary. Words first go through an SRE synonym list (cert, TLS and SSL
  meet as "certificate"; db and database; k8s and kubernetes; BGP, prefix and route ...), then a
  small stemmer; adjacent pairs count as bigrams. The inverse document frequency comes from the
  organisation's own archive (the incidents scored against, or the pairs of the command's input),
  on top of a fixed table that down-weights words every write-up uses.
- **services** (overlap of the two sets) and **cause category** (the same one).

Each present signal adds evidence, combined as independent chances (``1 − Π(1 − wᵢ·sᵢ)``); a
signal that is absent (no service shared, no category set) adds nothing and takes nothing away,
so text and class alone can make a repeat. Age never excludes a candidate and never lowers the
score; it only ranks a recent match above an old one (``PairScore.rank``). A pair is a repeat at
``THRESHOLD``; an incident keeps its ``MAX_SUGGESTIONS`` best.

Every earlier incident is a candidate. On a large archive the scores come from a kept index of the
prepared incidents (``repeat_index``): a worker's first run reads it from the cache instead of
preparing thousands of incidents, and scores only those that share a word or a class with the new
one (no other can reach ``THRESHOLD``): under a second against 10,000 (``bench/repeats.py --speed``).

The weights, the threshold and the keyword rules were tuned on the development sets
(``bench/data/repeat_pairs.jsonl``, ``repeats_dev/`` and the gold sets of ``class_model.GOLD_SETS``,
whose labelled incidents the class model learns from; ``bench/repeats.py --leave-one-out`` scores each
gold set with a model learned without it). A held-out set is scored only by whoever reports it, once
(see docs/repeat-detection.md).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch, TextField, Value
from django.db.models.functions import MD5, Coalesce, Concat

from accounts.access import may_decide_repeat
from actions.models import ActionItem
from postmortems.models import Postmortem
from postmortems.querysets import PostmortemAccess

from . import class_model
from .models import FailureClass, Incident, RepeatLink

WEIGHTS = {"text": 0.8, "class": 0.6, "services": 0.2, "cause": 0.25}
# A text cosine this high already counts as the full text evidence: two write-ups of one failure
# mode by different people rarely share more.
TEXT_SATURATION = 0.4
# Classes set on both incidents, and different: people said these differ.
CONFLICT_FACTOR = 0.5
FIELD_WEIGHTS = {"title": 2.0, "root_cause": 2.0, "contributing_factors": 1.0, "summary": 1.0}
CLASS_FIELD_WEIGHTS = {"title": 2.0, "root_cause": 2.0, "summary": 1.0, "contributing_factors": 0.5}
# Rule hits (by CLASS_FIELD_WEIGHTS) for a suggested class to count fully.
CLASS_FULL_WEIGHT = 2.0
# The least strength of a class suggested to people by its keyword rules (on the incident page).
SUGGEST_STRENGTH = 0.3
THRESHOLD = 0.6
RANK_HALF_LIFE_DAYS = 5 * 365
BIGRAM_WEIGHT = 1.0
# Features kept per document (the strongest by TF-IDF).
MAX_FEATURES = 64

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

# Words nearly every incident write-up uses: a fixed prior under the archive's IDF.
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

# The field's vocabulary: phrases first (on lower-cased text), then single words, to one term.
PHRASES = [
    (r"\bout[- ]of[- ]memory\b", "oom"),
    (r"\bload[- ]balancers?\b", "loadbalancer"),
    (r"\bleap[- ](second|day|year)s?\b", "leap"),
    (r"\bfeature[- ]flags?\b", "featureflag"),
    (r"\btime[- ]zones?\b", "timezone"),
    (r"\bdaylight[- ]saving(s)?( time)?\b", "dst"),
    (r"\bthundering[- ]herd\b", "retrystorm"),
    (r"\bretry[- ]storms?\b", "retrystorm"),
    (r"\bsplit[- ]brain\b", "splitbrain"),
    (r"\broute ?53\b", "dns"),
    (r"\bname[- ]servers?\b", "dns"),
    (r"\bx\.509\b", "certificate"),
    (r"\bthird[- ]party\b", "vendor"),
    (r"\brm -rf\b", "delete"),
    (r"\brolled back\b", "rollback"),
    (r"\broll(ed)?[- ]?out\b", "deploy"),
    # How people say a certificate or key ran out without the word "expired".
    (r"\b(end|expiry|expiration) dates?\b", "expire"),
    (r"\b(reached|passed|hit) (its|their|the) (end|expiry)\b", "expire"),
    (r"\bvalid (until|through)\b", "expire"),
]
_SYNONYM_GROUPS = {
    "certificate": "cert certs certificate certificates tls ssl x509 ca",
    "expire": "expiry expired expire expires expiring expiration lapse lapsed lapses lapsing",
    "config": "config configs configuration configurations cfg",
    "database": "db dbs database databases",
    "kubernetes": "k8s kubernetes kube",
    "route": "bgp route routes routing prefix prefixes",
    "dns": "dns resolver resolvers nameserver nameservers dnssec",
    "credential": "credential credentials secret secrets password passwords token tokens",
    "exhaust": "exhausted exhaustion exhaust saturated saturation starved starvation",
    "delete": "delete deleted deletes deleting deletion purged purge wiped truncated",
    "deploy": "deploy deployed deploys deploying deployment deployments release released rollout",
    "retry": "retry retries retried retrying reconnect reconnects reconnecting",
    "kernel": "kernel kernels",
    "replication": "replica replicas replication replicated",
    "failover": "failover failovers",
    "vendor": "vendor vendors provider providers upstream",
    "power": "power electricity electrical generator generators diesel fuel mains",
    "cooling": "cooling chiller chillers hvac overheat overheated overheating heatwave temperature temperatures "
    "thermal",
    "firmware": "firmware microcode bios",
    "overload": "overload overloaded overloading overwhelmed overwhelm swamped",
    "patch": "patch patches patched patching hotfix hotfixes",
    "revoke": "revoke revoked revokes revoking revocation",
    "renew": "renew renewal renewals renewed renewing",
    "crash": "crash crashed crashes crashing panic panicked segfault",
    "announce": "announce announced announces announcing announcement announcements advertise advertised",
    "erase": "erase erased erasing",
}
SYNONYMS = {word: canonical for canonical, words in _SYNONYM_GROUPS.items() for word in words.split()}
_PHRASES = [(re.compile(pattern), term) for pattern, term in PHRASES]

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


_ANY_PHRASE = re.compile("|".join(f"(?:{pattern})" for pattern, _ in PHRASES))


def _phrase_term(match: re.Match) -> str:
    found = match.group()
    return next(term for pattern, term in _PHRASES if pattern.fullmatch(found))


def normalise(text: str) -> str:
    """Lower-cased, with the field's phrases replaced by their terms (one pass)."""
    return _ANY_PHRASE.sub(_phrase_term, (text or "").lower())


@lru_cache(maxsize=100_000)
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


@lru_cache(maxsize=100_000)
def term(word: str) -> str:
    """The feature of one word: its synonym group's name, else its stem."""
    return SYNONYMS.get(word) or stem(word)


_COMMON_STEMS = frozenset(term(word) for word in COMMON_WORDS)


def tokens(text: str) -> list[tuple[str, str]]:
    """(term, surface word) of each content word of ``text``, in order."""
    result = []
    for match in _TOKEN.finditer(normalise(text)):
        word = match.group().removesuffix("'s")
        if word in STOP_WORDS or word.isdigit() or len(word) < 2:
            continue
        result.append((term(word), word))
    return result


@lru_cache(maxsize=200_000)
def _prior(feature: str) -> float:
    parts = feature.split(" ")
    weight = min(COMMON_WEIGHT if part in _COMMON_STEMS else 1.0 for part in parts)
    return weight * (BIGRAM_WEIGHT if len(parts) > 1 else 1.0)


@dataclass
class TextVector:
    """Term frequencies (sub-linear, times the fixed prior) of features, with their surface words."""

    weights: dict[str, float] = field(default_factory=dict)
    surface: dict[str, str] = field(default_factory=dict)


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


class Idf:
    """Inverse document frequency over an archive of documents (smoothed; 1 for every feature
    when the archive is empty or small, where frequencies would say nothing)."""

    MIN_DOCUMENTS = 20

    def __init__(self, vectors: Iterable[TextVector] = ()) -> None:
        df: Counter = Counter()
        n = 0
        for vector in vectors:
            df.update(vector.weights.keys())
            n += 1
        self.n = n
        self.df = df if n >= self.MIN_DOCUMENTS else Counter()
        self._unseen = math.log((n + 1) / 1) + 1 if self.df else 1.0

    def __call__(self, feature: str) -> float:
        if not self.df:
            return 1.0
        return _idf(self.n, self.df.get(feature, 0))


@lru_cache(maxsize=100_000)
def _idf(n: int, df: int) -> float:
    return math.log((n + 1) / (df + 1)) + 1


def weighted(vector: TextVector, idf: Idf) -> tuple[dict[str, float], float]:
    """The TF-IDF weights of ``vector`` and their norm."""
    weights = {f: w * idf(f) for f, w in vector.weights.items()}
    return weights, math.sqrt(sum(w * w for w in weights.values()))


def cosine(a: tuple[dict[str, float], float], b: tuple[dict[str, float], float]) -> float:
    (wa, na), (wb, nb) = a, b
    if not na or not nb:
        return 0.0
    if len(wa) > len(wb):
        wa, wb = wb, wa
    return sum(w * wb[f] for f, w in wa.items() if f in wb) / (na * nb)


def shared_terms(a: dict[str, float], b: dict[str, float], surface: dict[str, str], limit: int = 5) -> list[str]:
    """The surface words of the strongest shared features, bigrams first; words inside a bigram once."""
    shared = sorted((f for f in a if f in b), key=lambda f: (-(" " in f), -a[f] * b[f], f))
    chosen: list[str] = []
    covered: set[str] = set()
    for feature in shared:
        parts = set(feature.split(" "))
        if parts <= covered or _prior(feature) < 1.0:
            continue
        chosen.append(surface.get(feature, feature))
        covered |= parts
        if len(chosen) == limit:
            break
    return chosen


# What a prepared incident depends on besides its text and the taxonomy: a kept index of prepared
# incidents (``repeat_index``) is valid only under the same key. Bump the number when the code of
# the preparation (tokens, stemmer, class rules' matching) changes.
SCORING_KEY = hashlib.blake2b(
    repr(
        (
            1,
            FIELD_WEIGHTS,
            CLASS_FIELD_WEIGHTS,
            CLASS_FULL_WEIGHT,
            MAX_FEATURES,
            BIGRAM_WEIGHT,
            COMMON_WEIGHT,
            sorted(STOP_WORDS),
            COMMON_WORDS,
            PHRASES,
            _SYNONYM_GROUPS,
            Idf.MIN_DOCUMENTS,
            # The learned class weights, and how their beliefs count.
            getattr(class_model.default_model(), "digest", None),
            class_model.SHARPNESS,
            class_model.FULL_SHARE,
            class_model.MIN_STRENGTH,
            class_model.SURE_PROBABILITY,
            class_model.MIN_TERMS,
            class_model.NEIGHBOURS,
            class_model.NEIGHBOUR_SHARE,
            class_model.NEIGHBOUR_SIMILARITY,
        )
    ).encode(),
    digest_size=8,
).hexdigest()


# --- Failure classes -----------------------------------------------------------------------------------

# The seeded taxonomy (migrations 0006 and 0008 hold their own copies): name, slug, keyword rules. Used when
# scoring without a database; the app reads the admin-edited ``FailureClass`` rows.
DEFAULT_FAILURE_CLASSES = [
    (
        "Expired certificate or credential",
        "expired-credential",
        "certificat|cert|tls|ssl|x509|x.509|ca|root ca|intermediate + expir|renew|lapse|not after|validity\n"
        "credential|token|secret|password|key|keys|domain + expir|renew|lapse\n"
        "expired certificat|expired cert|expired token|expired credential|expired key|expired domain",
    ),
    (
        "Config push",
        "config-push",
        "config|setting|feature flag|flag|rule|rules|policy|policies|manifest|allowlist|blocklist|content update|"
        "feature file|rule file|data file|template "
        "+ push|propagat|rolled out|roll out|rollout|global|fleet|every|all region|all data|deployed|applied|"
        "at once|in one step|in one go|simultaneous|worldwide|everywhere|whole network|entire network|distributed to|"
        "all online|all host|all server|all machine\n"
        "bad config|invalid config|malformed config|config push",
    ),
    (
        "Deploy regression",
        "deploy-regression",
        "deploy|release|build|version|rollout|rolled|shipped|new code|code change|upgrad|new binary|code path "
        "+ regress|bug|introduc|broke|defect|rolled back|roll back|rollback|revert|crash|panic|stall|hang|hung|"
        "loop|incompatib|renamed|null pointer|nil pointer|segfault\n"
        "regression",
    ),
    (
        "Capacity or exhaustion",
        "capacity",
        "exhaust|saturat|overload|oom|out of memory|ran out|run out|running out|capacity|disk full|"
        "disk space|quota|starv|maxed|max connections|connection limit|limit was reached|hit the limit|cpu to 100|"
        "ceiling|maximum number|max number|too many|overwhelm",
    ),
    (
        "Dependency outage",
        "dependency-outage",
        "upstream|third-party|third party|vendor|provider|dependency|dependencies|external|cloud provider|saas|"
        "payment processor|card processor|payment gateway "
        "+ outage|down|unavailab|fail|degrad|incident|error|disrupt\n"
        "package|packages|registry|library|libraries + unpublish|withdr|yank|disappear|removed|deleted",
    ),
    (
        "DNS",
        "dns",
        "dns|dnssec|resolver|nameserver|name server|servfail|nxdomain|ndots|route 53|route53|name resolution|"
        "zone file|ds record|cname",
    ),
    (
        "Routing or BGP",
        "routing-bgp",
        "bgp|route leak|anycast|peering|autonomous system|route reflector|as path|as-path|more-specific|rpki\n"
        "routing|prefix|prefixes|route|routes + announc|withdr|advertis|leak|hijack|propagat|filter|polic",
    ),
    (
        "Data deletion",
        "data-deletion",
        "delet|purg|truncat|wipe|wiped|erase|rm|rm -rf|drop table|dropped the|overwr|removed "
        "+ data|table|database|record|rows|bucket|volume|backup|files|director|repositor|account|site|customer|"
        "environment|state\n"
        "data loss|lost data|deleted data|destructive command",
    ),
    (
        "Time or date bug",
        "time-date",
        "leap|daylight|dst|time zone|timezone|clock skew|clock drift|ntp|y2k|february 29|feb 29|epoch|"
        "year-end|new year|2038|date calculation|date arithmetic|date handling|date parsing|negative time|"
        "time went backwards|went backwards",
    ),
    (
        "OS or kernel update",
        "os-kernel-update",
        "kernel + updat|upgrad|patch|version|regress|bump|new\n"
        "operating system|os|ubuntu|debian|centos|rhel|linux|glibc|systemd|libc|base image|ami "
        "+ updat|upgrad|patch|unattended\n"
        "windows update|unattended upgrade|unattended-upgrade|package update|security update|security patch",
    ),
    (
        "Retry storm",
        "retry-storm",
        "retr|reconnect + storm|amplif|flood|herd|overwhelm|surge|spike|backoff|back off|avalanche|at once\n"
        "thundering herd|stampede|retry storm",
    ),
    (
        "Hardware or power failure",
        "hardware-power",
        "power|ups|generator|cooling|chiller|fiber|fibre|cable|hardware|psu|line card|data center|datacenter "
        "+ fail|cut|loss|lost|outage|fault|overheat|died",
    ),
    (
        "Failover or replication",
        "failover-replication",
        "replica|replication|failover|fail over|failed over|split brain|split-brain|primary|leader election "
        "+ lag|fail|promot|broke|diverg|inconsist|stop|behind|partition",
    ),
]


def _term_pattern(alternatives: str) -> re.Pattern:
    """One term of a rule: alternatives that match the start of a word (whole words up to 3 letters)."""
    parts = []
    for alternative in (a.strip().lower() for a in alternatives.split("|")):
        if alternative:
            tail = r"\b" if len(alternative) <= 3 else ""
            parts.append(r"\b" + re.escape(alternative) + tail)
    return re.compile("|".join(parts)) if parts else re.compile(r"(?!x)x")


@dataclass(frozen=True)
class FailureClassRules:
    """A failure class and its compiled keyword rules (see ``FailureClass.keywords``)."""

    slug: str
    name: str
    rules: tuple[tuple[re.Pattern, ...], ...]
    # Any rule's first term: a text it does not match cannot match the class.
    first_terms: re.Pattern

    @classmethod
    def parse(cls, slug: str, name: str, keywords: str) -> FailureClassRules:
        lines = [line for line in (keywords or "").splitlines() if line.strip()]
        rules = tuple(tuple(_term_pattern(term_) for term_ in line.split("+")) for line in lines)
        return cls(slug, name, rules, _term_pattern("|".join(line.split("+")[0] for line in lines)))

    def hits(self, text: str, sentences: list[str]) -> int:
        """How many of ``sentences`` (of ``text``, lower-cased) match one of the rules."""
        if not self.first_terms.search(text):
            return 0
        rules = [rule for rule in self.rules if all(p.search(text) for p in rule)]
        if not rules:  # the common case, found with a few searches of the whole text
            return 0
        return sum(1 for sentence in sentences if any(all(p.search(sentence) for p in rule) for rule in rules))


@dataclass(frozen=True)
class Taxonomy:
    """The failure classes known to the scorer, and their names by slug and by name."""

    classes: tuple[FailureClassRules, ...]

    @classmethod
    def default(cls) -> Taxonomy:
        return _DEFAULT_TAXONOMY

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str]]) -> Taxonomy:
        return cls(tuple(FailureClassRules.parse(slug, name, keywords) for name, slug, keywords in rows))

    def slug_of(self, label: str) -> str:
        """The slug of a class given by slug or name (case-insensitive); unknown labels as given."""
        wanted = label.strip().lower()
        for rules in self.classes:
            if wanted in (rules.slug.lower(), rules.name.lower()):
                return rules.slug
        return wanted

    def name_of(self, slug: str) -> str:
        return next((rules.name for rules in self.classes if rules.slug == slug), slug)


_DEFAULT_TAXONOMY = Taxonomy.from_rows(DEFAULT_FAILURE_CLASSES)
_SENTENCE = re.compile(r"[.;!?\n]+\s*")
# A word that is denied ("the key had not expired", "not an expiry") says the opposite of its class.
_NEGATED = re.compile(r"\b(?:not|never|no longer|\w+n't)\s+(?:(?:a|an|the|yet|been|be|being|have|had|ever)\s+)*[\w-]+")


def rule_strengths(fields: dict[str, str], taxonomy: Taxonomy) -> dict[str, float]:
    """Failure classes the keyword rules find in the text, each with a strength in (0, 1].

    A class's weight is its rule hits by field (title and root cause count double). Its strength is
    its weight over the strongest class's (a write-up about one failure mode speaks of it more than
    of what it mentions in passing), times its weight over ``CLASS_FULL_WEIGHT`` (at most 1).
    """
    found: dict[str, float] = {}
    for name, text in fields.items():
        if not text:
            continue
        text = _NEGATED.sub(" ", text.lower())
        sentences = [s for s in _SENTENCE.split(text) if s]
        for rules in taxonomy.classes:
            hits = rules.hits(text, sentences)
            if hits:
                found[rules.slug] = found.get(rules.slug, 0.0) + hits * CLASS_FIELD_WEIGHTS.get(name, 1.0)
    top = max(found.values(), default=0.0)
    return {slug: w / top * min(1.0, w / CLASS_FULL_WEIGHT) for slug, w in found.items()}


def infer_classes(fields: dict[str, str], taxonomy: Taxonomy) -> dict[str, float]:
    """Failure classes suggested by the text, each with a strength in (0, 1]: the learned model's
    strengths (``class_model``; it weighs the rules' hits with the words) for the classes it knows,
    the rules' for the others (all of them when there is no model)."""
    rules = rule_strengths(fields, taxonomy)
    model = class_model.default_model()
    if model is None:
        return rules
    known = {r.slug for r in taxonomy.classes}
    learned = {slug: s for slug, s in model.strengths(_affirmed(fields), rules).items() if slug in known}
    return {**{slug: s for slug, s in rules.items() if slug not in model.weights}, **learned}


def _affirmed(fields: dict[str, str]) -> dict[str, str]:
    """The text without its denied words ("the key had not expired")."""
    return {name: _NEGATED.sub(" ", (text or "").lower()) for name, text in fields.items()}


def suggested_classes(fields: dict[str, str], taxonomy: Taxonomy, limit: int = 3) -> list[str]:
    """The slugs of the classes to suggest for a text, the likeliest first: those the learned model
    gives a probability of ``SUGGEST_PROBABILITY`` or more, and those it does not know whose rules'
    strength reaches ``SUGGEST_STRENGTH`` (all by the rules when there is no model)."""
    rules = rule_strengths(fields, taxonomy)
    model = class_model.default_model()
    likely = {slug: s for slug, s in rules.items() if s >= SUGGEST_STRENGTH}
    if model is not None:
        known = {r.slug for r in taxonomy.classes}
        probabilities = model.probabilities(_affirmed(fields), rules)
        likely = {slug: s for slug, s in likely.items() if slug not in model.weights}
        likely |= {s: p for s, p in probabilities.items() if s in known and p >= class_model.SUGGEST_PROBABILITY}
    return sorted(likely, key=lambda slug: (-likely[slug], slug))[:limit]


# --- Scoring -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentDoc:
    """What the scoring reads of an incident (from the database or a JSON line).

    ``failure_classes`` are slugs set by people; when empty, classes are inferred from the text.
    """

    title: str = ""
    services: frozenset[str] = frozenset()
    cause_category: str | None = None
    summary: str = ""
    root_cause: str = ""
    contributing_factors: str = ""
    started_at: datetime | None = None
    failure_classes: frozenset[str] = frozenset()

    def text_fields(self) -> dict[str, str]:
        return {name: getattr(self, name) or "" for name in FIELD_WEIGHTS}


@dataclass(frozen=True)
class PairScore:
    score: float
    repeat: bool
    reason: str
    signals: dict
    rank: float = 0.0


@dataclass
class _Prepared:
    weights: dict[str, float]
    norm: float
    classes: dict[str, float]
    explicit: bool


def _service_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _age_factor(earlier: datetime | None, later: datetime | None) -> float:
    if not (earlier and later):
        return 1.0
    days = abs((later - earlier).total_seconds()) / 86400
    return 0.5 ** (days / RANK_HALF_LIFE_DAYS)


class Scorer:
    """Scores pairs with one IDF (the archive's) and one taxonomy; remembers each document's
    vector and classes, so scoring one incident against thousands prepares each only once."""

    def __init__(self, *, idf: Idf | None = None, taxonomy: Taxonomy | None = None) -> None:
        self.idf = idf or Idf()
        self.taxonomy = taxonomy or Taxonomy.default()
        self._prepared: dict[IncidentDoc, _Prepared] = {}

    @classmethod
    def for_archive(cls, docs: Iterable[IncidentDoc], taxonomy: Taxonomy | None = None) -> Scorer:
        """A scorer whose IDF comes from ``docs`` (the archive the scores are relative to), with
        ``docs`` prepared."""
        vectors = {doc: vectorize(doc.text_fields()) for doc in docs}
        scorer = cls(idf=Idf(vectors.values()), taxonomy=taxonomy)
        for doc, vector in vectors.items():
            scorer._prepared[doc] = scorer._prepare(doc, vector)
        return scorer

    def prepare(self, doc: IncidentDoc) -> _Prepared:
        prepared = self._prepared.get(doc)
        if prepared is None:
            prepared = self._prepared[doc] = self._prepare(doc, vectorize(doc.text_fields()))
        return prepared

    def _prepare(self, doc: IncidentDoc, vector: TextVector) -> _Prepared:
        weights, norm = weighted(vector, self.idf)
        if len(weights) > MAX_FEATURES:
            # The strongest features carry the similarity; keeping only them bounds memory and time.
            weights = dict(sorted(weights.items(), key=lambda item: -item[1])[:MAX_FEATURES])
        if doc.failure_classes:
            classes, explicit = dict.fromkeys(doc.failure_classes, 1.0), True
        else:
            classes, explicit = _inferred(tuple(doc.text_fields().items()), self.taxonomy), False
        return _Prepared(weights, norm, classes, explicit)

    @property
    def size(self) -> int:
        return len(self._prepared)

    def score(self, earlier: IncidentDoc, later: IncidentDoc, *, explain: bool = True) -> PairScore:
        """Score whether ``later`` repeats ``earlier``'s class of failure (see the module's docstring);
        without ``explain``, the reason is left empty (it costs more than the score)."""
        a, b = self.prepare(earlier), self.prepare(later)
        text = cosine((a.weights, a.norm), (b.weights, b.norm))
        result = combine(earlier, later, text, a, b)
        if not explain:
            return result
        shared_classes = _shared_classes(a.classes, b.classes)
        return replace(result, reason=self._reason(earlier, later, a, b, shared_classes))

    def _reason(self, earlier, later, a: _Prepared, b: _Prepared, shared_classes: dict[str, float]) -> str:
        parts = []
        named = _named_classes(shared_classes)
        if named:
            names = ", ".join(self.taxonomy.name_of(slug) for slug in named)
            how = "" if a.explicit and b.explicit else " (suggested from the text)"
            parts.append(f"class {names}{how}")
        services = sorted(earlier.services & later.services)
        if services:
            parts.append(f"{'service' if len(services) == 1 else 'services'} {', '.join(services)}")
        if earlier.cause_category and earlier.cause_category == later.cause_category:
            parts.append(f"cause {earlier.cause_category}")
        head = "Same " + ", ".join(parts[:-1]) + " and " * (len(parts) > 1) + parts[-1] if parts else "No shared class"
        for name, label in (
            ("root_cause", "root causes"),
            ("title", "titles"),
            ("contributing_factors", "contributing factors"),
        ):
            one, other = vectorize({name: getattr(earlier, name)}), vectorize({name: getattr(later, name)})
            terms = shared_terms(one.weights, other.weights, one.surface)
            if terms:
                return f"{head}; {label} share: {', '.join(terms)}"
        surface = {**vectorize(later.text_fields()).surface, **vectorize(earlier.text_fields()).surface}
        terms = shared_terms(a.weights, b.weights, surface)
        return f"{head}; texts share: {', '.join(terms)}" if terms else f"{head}; little shared text"


def _named_classes(shared: dict[str, float]) -> list[str]:
    """The shared classes a reason names: the strongest, and any others that count at least half as
    much (the learned model gives every class some weak strength; naming those would mislead)."""
    least = max(SUGGEST_STRENGTH, max(shared.values(), default=0.0) / 2)
    return sorted(slug for slug, strength in shared.items() if strength >= least)


def _shared_classes(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {slug: min(a[slug], b[slug]) for slug in a.keys() & b.keys()}


def combine(earlier: IncidentDoc, later: IncidentDoc, text: float, a: _Prepared, b: _Prepared) -> PairScore:
    """The score (without the reason) of a pair whose text cosine is ``text``, from the classes
    of ``a`` and ``b`` (the two prepared incidents) and the services and categories of the docs."""
    shared_classes = _shared_classes(a.classes, b.classes)
    signals = {
        "text": min(1.0, text / TEXT_SATURATION),
        "class": max(shared_classes.values(), default=0.0),
        "services": _service_overlap(earlier.services, later.services),
        "cause": 1.0 if earlier.cause_category and earlier.cause_category == later.cause_category else 0.0,
    }
    chance_of_none = math.prod(1 - WEIGHTS[name] * value for name, value in signals.items())
    score = 1 - chance_of_none
    if a.explicit and b.explicit and not shared_classes:
        score *= CONFLICT_FACTOR
    score = round(min(1.0, max(0.0, score)), 4)
    return PairScore(
        score=score,
        repeat=score >= THRESHOLD,
        reason="",
        signals={**signals, "cosine": text},
        rank=score * _age_factor(earlier.started_at, later.started_at),
    )


def could_repeat(text: float, class_strength: float) -> bool:
    """Whether a pair with this text cosine and shared class could reach ``THRESHOLD`` with the
    help of shared services and category: a pair that could not need not be scored."""
    signals = {"text": min(1.0, text / TEXT_SATURATION), "class": class_strength, "services": 1.0, "cause": 1.0}
    return 1 - math.prod(1 - WEIGHTS[name] * value for name, value in signals.items()) >= THRESHOLD


# So an incident sharing neither a word nor a class with the new one is never scored (``repeat_index``).
assert not could_repeat(0.0, 0.0)


@lru_cache(maxsize=20_000)
def _inferred(fields: tuple[tuple[str, str], ...], taxonomy: Taxonomy) -> dict[str, float]:
    return infer_classes(dict(fields), taxonomy)


def score_pair(earlier: IncidentDoc, later: IncidentDoc, scorer: Scorer | None = None) -> PairScore:
    """Score whether ``later`` repeats ``earlier``'s class of failure (see the module's docstring)."""
    return (scorer or Scorer()).score(earlier, later)


# --- The database side: documents, candidates, permissions, the incident page's list -------------------


def taxonomy() -> Taxonomy:
    """The failure classes as the admin has them now."""
    return Taxonomy.from_rows(FailureClass.objects.values_list("name", "slug", "keywords"))


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
        failure_classes=frozenset(c.slug for c in incident.failure_classes.all()),
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
    return queryset.select_related("cause_category", "postmortem").prefetch_related("services", "failure_classes")


def suggested_class_slugs(incident, known: Taxonomy | None = None) -> list[str]:
    """The slugs of the failure classes an incident's title and summary suggest (what any reader of
    the incident page reads), the likeliest first, for people to confirm."""
    fields = {"title": incident.title, "summary": incident.summary}
    return suggested_classes(fields, known or taxonomy())


def suggested_class_names(incident) -> list[str]:
    """The names of the classes ``suggested_class_slugs`` gives."""
    known = taxonomy()
    return [known.name_of(slug) for slug in suggested_class_slugs(incident, known)]


def earlier_docs(incident) -> dict[int, IncidentDoc]:
    """Every incident that began before ``incident``, as the scoring sees it, by id.

    No window and no prefilter: an old incident of the same class is a candidate too.
    """
    return docs_of(_earlier(incident))


def _earlier(incident):
    when = _when(incident)
    began = Incident.objects.annotate(began=Coalesce("started_at", "declared_at"))
    return began.filter(began__lt=when).exclude(pk=incident.pk)


def docs_of(incidents) -> dict[int, IncidentDoc]:
    """``incidents`` (annotated with ``began``) as the scoring sees them, by id. Read with plain
    values (three queries whatever the count), so an archive of thousands loads in a moment."""
    rows = incidents.values_list("pk", "cause_category__name", "began", *_TEXT)
    services = _names_by_incident(Incident.services.through.objects, incidents, "service__name")
    classes = _names_by_incident(Incident.failure_classes.through.objects, incidents, "failureclass__slug")
    return {
        pk: IncidentDoc(
            title=title,
            services=services.get(pk, frozenset()),
            cause_category=cause,
            summary=pm_summary or summary or "",
            root_cause=root_cause or "",
            contributing_factors=factors or "",
            started_at=began,
            failure_classes=classes.get(pk, frozenset()),
        )
        for pk, cause, began, title, summary, pm_summary, root_cause, factors in rows
    }


_TEXT = ("title", "summary", "postmortem__summary", "postmortem__root_cause", "postmortem__contributing_factors")


def earlier_digests(incident) -> dict[int, str]:
    """``digests_of`` the incidents that began before ``incident``."""
    return digests_of(_earlier(incident))


def digests_of(incidents) -> dict[int, str]:
    """A digest of what the preparation of each of ``incidents`` reads (its text, digested by the
    database, and its classes), by id. Two queries; the text stays in the database."""
    separated = [
        part for name in _TEXT for part in (Coalesce(name, Value(""), output_field=TextField()), Value("\x1f"))
    ]
    digested = incidents.annotate(text_digest=MD5(Concat(*separated, output_field=TextField())))
    classes = _names_by_incident(Incident.failure_classes.through.objects, digested, "failureclass__slug")
    return {
        pk: f"{text_digest} {' '.join(sorted(classes.get(pk, ())))}"
        for pk, text_digest in digested.values_list("pk", "text_digest")
    }


def outlines_of(pks) -> dict[int, IncidentDoc]:
    """Incidents without their text: what ``combine`` reads (services, category, start)."""
    incidents = Incident.objects.annotate(began=Coalesce("started_at", "declared_at")).filter(pk__in=list(pks))
    services = _names_by_incident(Incident.services.through.objects, incidents, "service__name")
    return {
        pk: IncidentDoc(services=services.get(pk, frozenset()), cause_category=cause, started_at=began)
        for pk, cause, began in incidents.values_list("pk", "cause_category__name", "began")
    }


def earlier_docs_among(incident, pks) -> dict[int, IncidentDoc]:
    """``earlier_docs`` of only ``pks`` (all of them read at once when they are most)."""
    pks = list(pks)
    if len(pks) > 500:
        docs = earlier_docs(incident)
        return {pk: docs[pk] for pk in pks}
    return docs_of(_earlier(incident).filter(pk__in=pks))


def _names_by_incident(through, incidents, name: str) -> dict[int, frozenset[str]]:
    found: dict[int, set[str]] = {}
    for incident_id, value in through.filter(incident__in=incidents.values("pk")).values_list("incident_id", name):
        found.setdefault(incident_id, set()).add(value)
    return {pk: frozenset(values) for pk, values in found.items()}


# Up to this many incidents, the scores come from a scorer made for the run (its IDF exact; 200
# incidents prepare in about a tenth of a second); past it, from the kept ``repeat_index``.
REUSE_FROM = 200
# What a commander can read during an incident; the rest would bury the best.
MAX_SUGGESTIONS = 5


def repeats_of(incident) -> list[tuple[int, PairScore]]:
    """The earlier incidents ``incident`` repeats, as (id, score): the ``MAX_SUGGESTIONS`` best
    ranked (the score, lowered a little by age), the best first."""
    later = incident_doc(for_scoring(Incident.objects.filter(pk=incident.pk)).get())
    known = taxonomy()
    if Incident.objects.count() <= REUSE_FROM:
        docs = earlier_docs(incident)
        scorer = Scorer.for_archive([*docs.values(), later], known)
        verdicts = {pk: scorer.score(doc, later, explain=False) for pk, doc in docs.items()}
    else:
        docs = None  # only the best are read in full, below
        scorer, verdicts = _indexed_verdicts(incident, later, known)
    ranked = sorted((pk for pk, result in verdicts.items() if result.repeat), key=lambda pk: (-verdicts[pk].rank, pk))
    best = ranked[:MAX_SUGGESTIONS]
    docs = docs if docs is not None else earlier_docs_among(incident, best)
    return [(pk, scorer.score(docs[pk], later)) for pk in best if pk in docs]  # none deleted meanwhile


def _indexed_verdicts(incident, later: IncidentDoc, known: Taxonomy) -> tuple[Scorer, dict[int, PairScore]]:
    """The scorer and the scores (without reasons) of the earlier incidents that share a word or a
    class with ``later`` (no other can be a repeat), from the kept index."""
    from .repeat_index import LOCK, archive_index

    digests = earlier_digests(incident)
    with LOCK:
        index = archive_index(digests, lambda pks: earlier_docs_among(incident, pks), known)
        prepared = index.scorer.prepare(later)
        texts = index.cosines(prepared, digests)
        classes = index.shared_class_strengths(prepared, digests)
        # Services and category can add to a pair's score, but not past THRESHOLD by themselves.
        shared = texts.keys() | classes.keys()
        candidates = {pk: index.prepared(pk) for pk in shared if could_repeat(texts.get(pk, 0.0), classes.get(pk, 0.0))}
    outlines = outlines_of(candidates)
    return index.scorer, {
        pk: combine(outlines[pk], later, texts.get(pk, 0.0), earlier, prepared) for pk, earlier in candidates.items()
    }


# Callers (the page's template tag, ``services.repeat_link_decide``) still ask ``repeats.can_decide``:
# the rule itself is ``accounts.access.may_decide_repeat``.
can_decide = may_decide_repeat


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
            "earlier__failure_classes",
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
    scorer = Scorer(taxonomy=taxonomy())
    return [_entry(link, later_doc, later_full, accesses, scorer) for link in links]


def _entry(link, later_doc: IncidentDoc, later_full: IncidentDoc, accesses, scorer: Scorer) -> RepeatEntry:
    earlier = link.earlier
    earlier_doc = _reader_doc(earlier, accesses)
    postmortem = earlier.postmortem if _has_postmortem(earlier) else None
    sees_all = earlier_doc == incident_doc(earlier) and later_doc == later_full
    return RepeatEntry(
        link=link,
        earlier=earlier,
        never_completed=postmortem.never_completed if postmortem else [],
        done_but_recurred=postmortem.done_but_recurred if postmortem else [],
        reason=scorer.score(earlier_doc, later_doc).reason,
        score=link.score if sees_all else None,
        postmortem_readable=earlier.pk in accesses,
    )
