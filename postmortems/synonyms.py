"""The archive search's synonym list: groups of words and short phrases that mean the same in
incident reports, so a search for one finds postmortems that use another.

Admins edit the groups in the admin (``SearchSynonym``, one row per group); the search reads
them at query time (``synonym_table``), so an edit needs no reindex. The table is kept in the
cache and dropped whenever a group is saved or deleted (``forget``, connected in apps.py);
until the database has the table, and while it holds no group, ``DEFAULT_SYNONYMS`` applies.
The migration that creates the table seeds it with those defaults.
"""

from __future__ import annotations

import re
import uuid

from django.core.cache import cache
from django.db import DatabaseError, transaction

# Each line a group, its terms separated by commas, as an admin types them. A word typed in a
# search finds every term of its group; so does a phrase, typed with or without quotes.
# Precision first: no word so common that its group would match half the archive ("release",
# "drives" and "published" stay out; phrases such as "hard drive" and "published secret" carry them).
DEFAULT_SYNONYMS = [
    # Abbreviations engineers type for what reports spell out.
    "cert, certs, certificate, certificates, tls, ssl, x509",
    "db, dbs, database, databases",
    "pg, postgres, postgresql",
    "k8s, kube, kubernetes",
    "config, configs, configuration, configurations, conf, cfg",
    "dc, dcs, datacenter, datacentre, data center, data centre, data centers, data centres",
    "lb, lbs, loadbalancer, load balancer, load balancers",
    "dns, name resolution, nameserver, nameservers, name server, name servers, resolver, resolvers",
    "ttl, ttls, time to live",
    "cdn, cdns, content delivery network",
    "vpc, vpcs, virtual private cloud",
    "bgp, border gateway protocol",
    "iam, identity and access management",
    "sso, single sign-on, single sign on",
    "mfa, 2fa, multi factor, multi-factor, two factor, two-factor",
    "auth, authn, authentication",
    "authz, authorization, authorisation",
    "login, logins, sign-in, signin",
    "ci, continuous integration",
    "cd, continuous delivery, continuous deployment",
    "pr, prs, pull request, pull requests, merge request, merge requests",
    "repo, repos, repository, repositories",
    "prod, production",
    "staging, preprod, pre-production",
    "vm, vms, virtual machine, virtual machines",
    "az, azs, availability zone, availability zones",
    "mem, memory, ram",
    "cpu, cpus, processor, processors",
    "fd, fds, file descriptor, file descriptors, too many open files",
    "txn, txns, transaction, transactions",
    "gc, garbage collection, garbage collector",
    "rps, qps, requests per second, queries per second, throughput",
    "slo, slos, service level objective, service level objectives",
    "dr, disaster recovery",
    "pii, personal data, personally identifiable information, personal information",
    "ddos, denial of service, dos attack",
    "oncall, on-call, pager, pagerduty",
    # HTTP status classes, as numbers and as words.
    "5xx, 5xxs, 500s, server errors, internal server error, 502, 502s, 503, 503s, 504, 504s, bad gateway",
    "access denied, permission denied, forbidden, 403, 403s, unauthorized, unauthorised, 401, 401s",
    "latency, latencies, p99, p95, p999, tail latency, response time, response times",
    # Time and clocks.
    "tz, timezone, timezones, time zone, time zones, utc offset",
    "dst, daylight saving, daylight savings, daylight saving time, clocks changed, clock change, summer time",
    "ntp, time sync, clock sync, time synchronisation, time synchronization, chrony",
    "clock skew, clock drift, time drift, skewed clocks, clocks drifted",
    "leap second, leap seconds, leap smear",
    "leap day, leap year, february 29, feb 29",
    "wraparound, wrap around, wrapped around, overflow, overflowed, integer overflow, counter overflow",
    "cron, cronjob, cronjobs, cron job, cron jobs, scheduled job, scheduled task",
    # Resources running out.
    "oom, ooms, oomkilled, oom killed, oom killer, out of memory, out-of-memory, memory exhausted",
    "memory leak, memory leaks, leaking memory, leaked memory",
    "exhausted, exhaustion, saturated, saturation, starved, starvation",
    "disk, disks, hard drive, hard drives, ssd, ssds, hdd, nvme, storage device, storage devices",
    "disk full, full disk, disk filled, filled the disk, no space left, disk space",
    "connection pool, conn pool, pool exhausted, too many connections, max connections",
    "timeout, timeouts, deadline exceeded",
    "backlog, backlogged, queue depth, consumer lag",
    "throttled, throttling, throttle, rate limited, rate limit, rate limits, rate limiting, ratelimited,"
    " 429, 429s, too many requests",
    # The same failure in other words.
    "outage, outages, downtime, unavailable, offline",
    "degraded, degradation, partial outage, impaired",
    "deleted, delete, deletion, removed, remove, dropped, wiped, purged",
    "rollback, rollbacks, rolled back, roll back, revert, reverted, reverting, reverts",
    "deploy, deploys, deployed, deploying, deployment, deployments, rollout, rollouts",
    "canary, canaries, canary release, canary deploy, canary deployment",
    "hotfix, hotfixes, hot fix, emergency fix",
    "feature flag, feature flags, feature toggle, feature toggles",
    "misconfig, misconfiguration, misconfigured, wrong config, bad config, incorrect configuration",
    "typo, typos, mistyped, fat finger, fat fingered, fat-fingered",
    "human error, operator error, manual error",
    "crash loop, crashloop, crashloopbackoff, crash looping, restart loop, boot loop, bootloop",
    "restart, restarts, restarted, reboot, reboots, rebooted",
    "segfault, segfaults, segmentation fault, sigsegv, core dump, core dumped",
    "kernel panic, kernel crash, kernel oops",
    "stampede, thundering herd, dogpile, dog pile, cache stampede",
    "retry storm, retry storms, retry amplification, retry flood",
    "cascading failure, cascading failures, cascade, domino effect, knock-on effect",
    "traffic spike, traffic surge, load spike, spike in traffic, surge in traffic",
    "hot key, hot keys, hotspot, hot spot, hot partition, hot shard",
    "split brain, split-brain, two primaries, two leaders, dual primary",
    "failover, failovers, switchover",
    "replica, replicas, replication, standby, standbys, read replica, read replicas, follower, followers",
    "slow query, slow queries, long running query, long-running query, expensive query",
    "full table scan, seq scan, sequential scan, missing index",
    "schema change, schema changes, schema migration, schema migrations, ddl, alter table",
    "data loss, lost data, lost writes, lost records",
    "cache flush, cache purge, cache invalidation, cache clear, flushed the cache, purged the cache",
    "health check, health checks, healthcheck, healthchecks, liveness probe, readiness probe",
    "autoscaling, auto scaling, auto-scaling, autoscaler, autoscalers, hpa, asg",
    "network partition, netsplit, network split",
    "packet loss, dropped packets, packets dropped, lost packets",
    "fiber cut, fibre cut, cable cut, severed fiber, severed fibre",
    "power outage, power failure, power loss, lost power, power cut, blackout",
    "hardware failure, hardware fault, faulty hardware",
    "disk failure, disk failures, failed disk, failed disks, drive failure, bad disk, dead disk",
    # Secrets, access and attacks.
    "secret, secrets, credential, credentials, api key, api keys, access key, access keys, password, passwords",
    "leaked, exposed, disclosed, made public, publicly accessible, published secret, leaked secret",
    "vuln, vulns, vulnerability, vulnerabilities, cve, cves",
    "expiry, expired, expire, expires, expiring, expiration, lapsed",
    "third party, third-party, vendor, vendors, supplier, suppliers, external provider",
    "runbook, runbooks, playbook, playbooks",
    "alert, alerts, alerting, alarm, alarms",
]

# The bounds an admin's group keeps to (each a word or a short phrase; a group of a few).
MIN_TERMS = 2
MAX_GROUP_TERMS = 16
MAX_TERM_WORDS = 4
MAX_TERM_LENGTH = 40
MAX_GROUP_LENGTH = 500

_WORD = re.compile(r"[^\W_]")
# The table with a stamp of that copy, and the stamp alone: each process keeps the copy it read
# while the cache holds its stamp.
# Change FORMAT whenever what the cache holds changes (its shape, or how build_table builds it),
# so a new release never reads an older one's copy.
FORMAT = 3
CACHE_KEY = f"search:synonyms:{FORMAT}"
STAMP_KEY = f"search:synonyms:{FORMAT}:stamp"
KEYS = [CACHE_KEY, STAMP_KEY]
_PROCESS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {}
# A change made past the signals (a bulk ``update()`` in a shell) shows within the hour.
CACHE_SECONDS = 3600


def split_terms(text: str) -> list[str]:
    """The terms of a group as typed (``"LB, load  balancer"``): lower-cased, inner spaces
    collapsed, empty ones and repeats dropped, in their order."""
    terms = (" ".join(term.split()).lower() for term in (text or "").split(","))
    return list(dict.fromkeys(term for term in terms if term))


def term_errors(terms: list[str]) -> list[str]:
    """What is wrong with a group's ``terms`` (from ``split_terms``), one sentence each."""
    from .search.query import STOP_WORDS

    if len(terms) < MIN_TERMS:
        return [f"Give at least {MIN_TERMS} words or phrases, separated by commas."]
    errors = []
    if len(terms) > MAX_GROUP_TERMS:
        errors.append(f"Give at most {MAX_GROUP_TERMS} words or phrases in one group (this has {len(terms)}).")
    for term in terms:
        words = term.split()
        if len(words) > MAX_TERM_WORDS or len(term) > MAX_TERM_LENGTH:
            errors.append(
                f"“{term}” is too long: each term is a word or a phrase of up to {MAX_TERM_WORDS} words"
                f" and {MAX_TERM_LENGTH} characters."
            )
        elif not all(_WORD.search(word) for word in words):
            errors.append(f"“{term}” needs letters or digits in each of its words.")
        elif all(word in STOP_WORDS for word in words):
            errors.append(f"“{term}” holds only words that search ignores (such as “of” and “the”).")
    return errors


def build_table(groups: list[str]) -> dict[str, tuple[str, ...]]:
    """Each term of ``groups`` (lines of comma-separated terms) -> the terms of its groups that
    a search needs (``_distinct_forms``). Every term stays a key, so each finds its group."""
    table: dict[str, tuple[str, ...]] = {}
    for line in groups:
        terms = split_terms(line)
        for term in terms:
            table[term] = _distinct_forms((*table.get(term, ()), *terms))
    return table


def _distinct_forms(terms: tuple[str, ...]) -> tuple[str, ...]:
    """The ``terms`` a search needs: the first of those that stem alike, and none holding
    another (what ``cron job`` finds, ``cron`` finds)."""
    first: dict[tuple[str, ...], str] = {}
    for term in terms:
        first.setdefault(stems(term), term)
    return tuple(term for form, term in first.items() if not any(_holds(form, other) for other in first))


def _holds(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    n = len(shorter)
    return n < len(longer) and any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def word_stem(word: str) -> str:
    """A word without the endings both engines' English stemmers take off alike (a plural s,
    -ing, -ed), for telling forms of one word apart from other words, never for searching."""
    if not word.isalpha() or len(word) <= 3:
        return word
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for ending in ("ing", "ed"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def stems(term: str) -> tuple[str, ...]:
    return tuple(map(word_stem, term.split()))


def synonym_table() -> dict[str, tuple[str, ...]]:
    """The synonyms a search applies, by lower-cased term: this process's copy while the
    cache's stamp is the one it read (a warm search reads only the stamp, not the table),
    else the cache's, else the database's (one query, then cached), else ``DEFAULT_SYNONYMS``."""
    stamp = cache.get(STAMP_KEY)
    copy = _PROCESS.get("copy")
    if stamp is None or copy is None or copy[0] != stamp:
        copy = cache.get(CACHE_KEY)
        if copy is None:
            table = _from_database()
            if table is None:  # not migrated yet: the defaults, and the table next time
                return build_table(DEFAULT_SYNONYMS)
            copy = (uuid.uuid4().hex, table)
        cache.set_many({CACHE_KEY: copy, STAMP_KEY: copy[0]}, CACHE_SECONDS)
        _PROCESS["copy"] = copy
    return copy[1]


def _from_database() -> dict[str, tuple[str, ...]] | None:
    from .models import SearchSynonym

    try:
        groups = list(SearchSynonym.objects.values_list("terms", flat=True))
    except DatabaseError:
        return None
    return build_table(groups or DEFAULT_SYNONYMS)


def forget(**kwargs) -> None:
    """Drop the cached table (a signal receiver: a group was saved or deleted). Again after
    commit, in case a search reloaded the old rows meanwhile."""
    cache.delete_many(KEYS)
    transaction.on_commit(lambda: cache.delete_many(KEYS))
