"""A realistic demo organisation, built by ``manage.py seed_demo``.

The data is a small fictional company ("Acme") with six teams, their services and a
year of incidents. Each incident is written as a :class:`Scenario` (what happened, how
it was found and fixed, and, for the serious ones, the postmortem and its action
items); :func:`build_demo` turns the scenarios into rows. Times are relative to "now",
so the year always ends today, and every random choice (role rotas, minutes between
timeline steps) comes from one ``random.Random(seed)``, so two runs on the same day
produce the same organisation.

Some scenarios deliberately repeat an earlier class of failure (same service, same
cause category, an earlier preventive action item that never shipped) so that the
repeat-incident features have something true to show.

Running it twice creates nothing the second time: if the demo organisation is already
there (its first persona exists) only the demo login is ensured.
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from actions.models import ActionItem, ActionItemChange
from incidents.models import (
    CauseCategory,
    Incident,
    RepeatLink,
    Service,
    Severity,
    SeverityChange,
    Team,
    TimelineEvent,
)
from postmortems.models import Postmortem, Review

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEFAULT_SEED = 4242
EMAIL_DOMAIN = "acme.example"


class DemoDataError(RuntimeError):
    """The database lacks what the demo builds on (run ``migrate`` first)."""


def _md(text: str) -> str:
    """Dedent a triple-quoted Markdown block."""
    return textwrap.dedent(text).strip()


# ---------------------------------------------------------------------------
# People, teams and services
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    team: str  # team slug

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class TeamSpec:
    slug: str
    name: str
    lead: str  # username


@dataclass(frozen=True)
class ServiceSpec:
    slug: str
    name: str
    team: str
    description: str


TEAMS: list[TeamSpec] = [
    TeamSpec("payments", "Payments", "aisha.khan"),
    TeamSpec("identity", "Identity", "daniel.okafor"),
    TeamSpec("platform", "Platform", "sofia.rossi"),
    TeamSpec("data", "Data", "elena.petrova"),
    TeamSpec("search", "Search", "kenji.tanaka"),
    TeamSpec("mobile", "Mobile", "marcus.johnson"),
]

PEOPLE: list[Person] = [
    Person("aisha.khan", "Aisha", "Khan", "payments"),
    Person("tomas.novak", "Tomás", "Novák", "payments"),
    Person("priya.raman", "Priya", "Raman", "payments"),
    Person("daniel.okafor", "Daniel", "Okafor", "identity"),
    Person("mei.lin", "Mei", "Lin", "identity"),
    Person("lucas.ferreira", "Lucas", "Ferreira", "identity"),
    Person("sofia.rossi", "Sofia", "Rossi", "platform"),
    Person("jonas.weber", "Jonas", "Weber", "platform"),
    Person("fatima.zahra", "Fatima", "Zahra", "platform"),
    Person("ben.carter", "Ben", "Carter", "platform"),
    Person(DEMO_USERNAME, "Demo", "User", "platform"),
    Person("elena.petrova", "Elena", "Petrova", "data"),
    Person("ravi.patel", "Ravi", "Patel", "data"),
    Person("hannah.schmidt", "Hannah", "Schmidt", "data"),
    Person("kenji.tanaka", "Kenji", "Tanaka", "search"),
    Person("olivia.brown", "Olivia", "Brown", "search"),
    Person("noah.williams", "Noah", "Williams", "search"),
    Person("marcus.johnson", "Marcus", "Johnson", "mobile"),
    Person("chloe.dubois", "Chloé", "Dubois", "mobile"),
    Person("samir.haddad", "Samir", "Haddad", "mobile"),
]

# The first persona doubles as the marker that the demo organisation exists.
MARKER_USERNAME = PEOPLE[0].username

# People on the incident-commander rota (trained ICs from several teams).
COMMANDER_ROTA = [
    "aisha.khan",
    "daniel.okafor",
    "sofia.rossi",
    "elena.petrova",
    "kenji.tanaka",
    "marcus.johnson",
    "jonas.weber",
    "mei.lin",
]

SERVICES: list[ServiceSpec] = [
    ServiceSpec(
        "payment-gateway",
        "Payment Gateway",
        "payments",
        "Authorises, captures and refunds card payments through our two payment service providers (PSPs).",
    ),
    ServiceSpec(
        "ledger",
        "Ledger",
        "payments",
        "Double-entry ledger of every money movement; owns the `ledger-db` PostgreSQL cluster.",
    ),
    ServiceSpec(
        "checkout-api",
        "Checkout API",
        "payments",
        "Basket pricing, tax, currency conversion, address lookup and order placement for web and mobile.",
    ),
    ServiceSpec(
        "auth-service",
        "Auth Service",
        "identity",
        "Sign-in, sessions, MFA and OAuth tokens for customers and partner apps.",
    ),
    ServiceSpec(
        "user-profile",
        "User Profile",
        "identity",
        "Customer profiles, preferences and avatar storage.",
    ),
    ServiceSpec(
        "api-gateway",
        "API Gateway",
        "platform",
        "Edge ingress: TLS termination, routing, rate limiting and partner API keys.",
    ),
    ServiceSpec(
        "compute-platform",
        "Compute Platform",
        "platform",
        "The Kubernetes clusters, node pools and cluster DNS every service runs on.",
    ),
    ServiceSpec(
        "deploy-pipeline",
        "Deploy Pipeline",
        "platform",
        "CI runners, build artefacts and progressive rollouts to production.",
    ),
    ServiceSpec(
        "event-pipeline",
        "Event Pipeline",
        "data",
        "Kafka clusters and the consumers that fan events out to analytics and merchant webhooks.",
    ),
    ServiceSpec(
        "data-warehouse",
        "Data Warehouse",
        "data",
        "Nightly and hourly loads into the warehouse; finance and product dashboards.",
    ),
    ServiceSpec(
        "search-api",
        "Search API",
        "search",
        "Query serving, ranking, synonyms and autocomplete.",
    ),
    ServiceSpec(
        "search-indexer",
        "Search Indexer",
        "search",
        "Streams catalogue, price and stock changes into the search cluster.",
    ),
    ServiceSpec(
        "mobile-backend",
        "Mobile Backend",
        "mobile",
        "Backend-for-frontend serving the iOS and Android apps.",
    ),
    ServiceSpec(
        "push-notifications",
        "Push Notifications",
        "mobile",
        "Sends order, delivery and security notifications through APNs and FCM.",
    ),
]


# ---------------------------------------------------------------------------
# Scenario types
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    """One action item. Days are counted from the moment the incident's impact began."""

    title: str
    kind: str
    priority: str
    owner: str
    due: int
    status: str = ActionItem.Status.OPEN
    done: float | None = None  # when it was finished (done) or decided against (wont_do)
    note: str = ""  # resolution note (done, wont_do) or what it is blocked on (blocked)
    url: str = ""
    team: str | None = None  # defaults to the owner's team


@dataclass(frozen=True)
class PostmortemSpec:
    status: str
    facilitator: str
    summary: str = ""
    impact: str = ""
    root_cause: str = ""
    contributing_factors: str = ""
    what_went_well: str = ""
    what_could_be_improved: str = ""
    where_we_got_lucky: str = ""
    lessons: str = ""
    users_affected: int | None = None
    revenue_impact: Decimal | None = None
    restricted_to: tuple[str, ...] = ()  # team slugs; restricts visibility when set
    internal_teams: tuple[str, ...] = ()  # teams that may read internal sections
    internal_sections: tuple[str, ...] = ()
    submitted_after: float = 3  # days after resolution
    published_after: float = 4.5  # days after resolution
    changes_requested: str = ""  # a reviewer asked for changes before approving
    actions: tuple[ActionSpec, ...] = ()


@dataclass(frozen=True)
class RepeatSpec:
    earlier: str  # key of the earlier scenario
    score: float
    state: str
    similarity: str  # what the two root causes share, in words


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    summary: str
    services: tuple[str, ...]
    severity: str
    cause: str | None
    trigger: str
    customer_facing: bool
    tags: tuple[str, ...]
    days_ago: float  # when impact began
    detection: str
    actions: tuple[str, ...]
    mitigation: str = ""
    note: str = ""
    # minutes: started->detected, detected->acknowledged, detected->mitigated, detected->resolved
    minutes: tuple[int, int, int, int] | None = None
    status: str = Incident.Status.RESOLVED
    initial_severity: str | None = None
    severity_reason: str = ""
    postmortem: PostmortemSpec | None = None
    repeats: RepeatSpec | None = None


K = ActionItem.Kind
P = ActionItem.Priority
S = ActionItem.Status
PM = Postmortem.Status
CHANGE = Incident.Trigger.CHANGE
AMBIENT = Incident.Trigger.AMBIENT


# ---------------------------------------------------------------------------
# The year of incidents (oldest first)
# ---------------------------------------------------------------------------

SCENARIOS: list[Scenario] = [
    Scenario(
        key="kafka-disk-1",
        title="Analytics and merchant webhooks stalled: Kafka broker disks full",
        summary="Three Kafka brokers ran out of disk after a topic without a size limit grew fourfold; "
        "merchant webhooks were delayed by up to 2 h 45 min.",
        services=("event-pipeline",),
        severity="SEV2",
        cause="capacity",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("kafka", "disk", "capacity", "webhooks"),
        days_ago=322,
        minutes=(25, 7, 165, 420),
        detection="Alert: webhook delivery lag above 15 minutes for the merchant-webhooks consumer group.",
        actions=(
            "Three of six Kafka brokers at 100% disk; producers getting NOT_ENOUGH_REPLICAS errors.",
            "Topic clickstream.raw growing at 4x its normal rate since a mobile release began sending "
            "duplicate events; it has retention.ms set but no retention.bytes.",
            "Cut clickstream.raw retention from 7 days to 12 hours and grew broker volumes by 50% (online).",
        ),
        mitigation="Brokers below 70% disk; producers healthy and consumers catching up.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="ravi.patel",
            users_affected=1200,
            summary=_md(
                """
                Three Kafka brokers in the event pipeline ran out of disk. Producers could no longer write
                with the replication we require, so merchant webhooks were delayed by up to 2 hours 45 minutes
                and product analytics stopped updating.

                A mobile release had started emitting every clickstream event twice. The `clickstream.raw`
                topic had a time-based retention limit but no size limit, so its growth consumed the free
                space of every broker hosting its partitions in about nine hours.
                """
            ),
            impact=_md(
                """
                - **Merchants:** about 1,200 merchants received order webhooks up to 2 h 45 min late;
                  14 of them shipped orders a day later than promised.
                - **Internal:** product analytics dashboards were stale for 7 hours.
                - **Data:** no events were lost. Producers buffered and retried as designed, and consumers
                  had caught up by 20:40.
                """
            ),
            root_cause=_md(
                """
                Retention in the event pipeline is configured per topic, by hand, when a topic is created.
                `clickstream.raw` was created with `retention.ms` (7 days) but without `retention.bytes`,
                so its size was bounded only by its input rate. When the mobile release doubled that rate
                (and added fields to each event), the topic roughly quadrupled and filled three brokers.

                Host disk alerts existed, but they were routed to a shared infrastructure channel rather
                than the data team's pager, and their threshold (95%) left under 30 minutes of headroom at
                the new growth rate.
                """
            ),
            contributing_factors=_md(
                """
                - High-volume topics had no size-based retention, and topic configuration is not managed
                  as code, so nothing reviewed it.
                - Disk alerts went to a channel instead of a pager, with a threshold too close to full.
                - The duplication introduced by the mobile release was not visible in any producer metric.
                - Partitions of the topic were unevenly spread, so three brokers filled long before the rest.
                """
            ),
            what_went_well=_md(
                """
                - Producers buffered and retried exactly as designed; no events were lost.
                - The webhook-lag alert described the customer impact clearly.
                - Growing broker volumes is an online operation on our storage class.
                """
            ),
            what_could_be_improved=_md(
                """
                - Topic configuration should be code-reviewed and should enforce a size limit.
                - Broker disk alerts should page the owning team with hours of headroom, not minutes.
                """
            ),
            where_we_got_lucky=_md(
                """
                - Only three brokers filled. With all six full the cluster would have refused every write
                  and producer buffers would eventually have overflowed.
                - It happened on a weekday, with the whole data team available.
                """
            ),
            lessons=_md(
                """
                - A limit in time is not a limit in size.
                - An alert that goes to a channel is a log line, not an alert.
                """
            ),
            actions=(
                ActionSpec(
                    "Page data on-call when any Kafka broker disk is above 75% for 15 minutes",
                    K.DETECT,
                    P.P1,
                    "hannah.schmidt",
                    due=14,
                    status=S.DONE,
                    done=8,
                    note="Alert `KafkaBrokerDiskHigh` pages data on-call; at twice peak ingest the threshold "
                    "leaves about 6 hours of headroom. Fired correctly in a staging fill test.",
                ),
                ActionSpec(
                    "Manage Kafka topic config in Terraform and require retention.bytes on every topic",
                    K.PREVENT,
                    P.P2,
                    "ravi.patel",
                    due=60,
                    url="https://github.com/acme/data-platform/issues/377",
                ),
                ActionSpec(
                    "Rebalance clickstream.raw partitions evenly across all six brokers",
                    K.MITIGATE,
                    P.P3,
                    "hannah.schmidt",
                    due=21,
                    status=S.DONE,
                    done=19,
                    note="Reassignment completed; largest broker now holds 18% of the topic (was 31%).",
                ),
                ActionSpec(
                    "Emit a duplicate-event rate metric from the mobile analytics SDK",
                    K.DETECT,
                    P.P3,
                    "samir.haddad",
                    due=45,
                    status=S.WONT_DO,
                    done=30,
                    note="Deduplication now happens in the ingestion consumer (DATA-233), which also counts "
                    "duplicates; an SDK metric would add app size for no extra signal.",
                ),
            ),
        ),
    ),
    Scenario(
        key="ledger-pool-1",
        title="Card payments failing: ledger-db connection pool exhausted",
        summary="Payment Gateway could not obtain ledger database connections; about 18% of card "
        "authorisations failed for 47 minutes.",
        services=("payment-gateway", "ledger"),
        severity="SEV2",
        cause="capacity",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("database", "postgres", "connection-pool", "payments"),
        days_ago=298,
        minutes=(6, 4, 47, 150),
        detection="Alert: payment-gateway authorisation error rate 17.8% (threshold 2%) for 5 minutes.",
        actions=(
            "ledger-db at max_connections (500/500); gateway pods logging 'timeout acquiring connection from pool'.",
            "Scaled payment-gateway from 60 to 40 pods to lower total connections held; error rate down to 6%.",
            "Paused the settlement batch and terminated 140 idle-in-transaction sessions it had left open.",
        ),
        mitigation="Connections at 310/500; authorisation errors below 0.5%.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="tomas.novak",
            users_affected=21400,
            revenue_impact=Decimal("38500.00"),
            summary=_md(
                """
                On a Friday evening card payments started failing for roughly one customer in five. The
                Payment Gateway could not get connections to the ledger database (`ledger-db`), which had
                reached its `max_connections` limit of 500. Pausing the settlement batch and scaling the
                gateway down freed connections and restored service after 47 minutes.

                Two systems that each behaved as designed — the gateway's autoscaling and the settlement
                batch — drew from one fixed connection budget that had never been sized for both at once.
                """
            ),
            impact=_md(
                """
                - **Customers:** about 21,400 checkout attempts failed with "payment could not be processed";
                  most customers retried successfully after recovery.
                - **Revenue:** an estimated €38,500 of orders were abandoned and not recovered within 24 hours.
                - **Merchants:** payouts ran on time once the settlement batch resumed at 23:10.
                - **Data:** nobody was charged twice and no ledger entries were lost.
                """
            ),
            root_cause=_md(
                """
                Each payment-gateway pod keeps a pool of up to 10 connections to `ledger-db`. Evening traffic
                scaled the gateway from 35 to 60 pods (600 potential connections) while the settlement
                batch held 120 long-lived connections. Postgres refused new sessions at 500, and pods waiting
                for a pool slot timed out after 3 seconds.

                **Five whys**

                1. Why did authorisations fail? Gateway pods could not get a database connection within 3 s.
                2. Why? `ledger-db` was at `max_connections` and refused new sessions.
                3. Why? Autoscaling multiplied per-pod pools with no global limit, while the settlement batch
                   held 120 connections, many of them idle in a transaction.
                4. Why is there no global limit? Pooling happens inside each client; there is no pooler such
                   as PgBouncer in front of the ledger database.
                5. Why did capacity reviews not catch it? They looked at the database's CPU and memory, not at
                   the connection budget shared by its clients.
                """
            ),
            contributing_factors=_md(
                """
                - The settlement batch moved from 02:00 to 21:00 in spring to meet a partner's reporting
                  deadline, so its connections overlapped peak traffic for the first time.
                - The gateway reported pool timeouts as a generic error, so the first ten minutes went on
                  checking the PSPs.
                - No alert watched database connection saturation; the first signal was customer errors.
                """
            ),
            what_went_well=_md(
                """
                - The authorisation error-rate alert fired within 6 minutes and was acknowledged within 4.
                - The ledger dashboard already had a connections panel, which pointed at the database quickly.
                - The settlement batch is restartable, so pausing it was safe.
                """
            ),
            what_could_be_improved=_md(
                """
                - Logs and metrics should tell "no database connection" apart from "PSP declined".
                - Batch jobs sharing a database with customer traffic need a documented connection budget.
                - The payment-gateway runbook did not mention scaling down as a mitigation.
                """
            ),
            where_we_got_lucky=_md(
                """
                - It happened on a Friday evening, not at the lunchtime peak, which is about twice as busy.
                - The settlement batch had not started writing payout files, so pausing it needed no clean-up.
                """
            ),
            lessons=_md(
                """
                - A fixed resource shared by autoscaled clients needs a global limit, not only per-client ones.
                - Moving a batch job's schedule is a capacity change and deserves the review a deploy gets.
                """
            ),
            actions=(
                ActionSpec(
                    "Put PgBouncer (transaction pooling) in front of ledger-db and cap the gateway at 400 connections",
                    K.PREVENT,
                    P.P1,
                    "tomas.novak",
                    due=45,
                    status=S.BLOCKED,
                    note="Blocked on the Postgres 15 upgrade of ledger-db (PLAT-2210); the pooler is planned "
                    "to ship after it.",
                    url="https://acme.atlassian.net/browse/PAY-1187",
                ),
                ActionSpec(
                    "Alert when ledger-db connections exceed 80% of max_connections for 5 minutes",
                    K.DETECT,
                    P.P2,
                    "priya.raman",
                    due=14,
                    status=S.DONE,
                    done=9,
                    note="Alert `LedgerDbConnectionsHigh` is live; verified by lowering the threshold in "
                    "staging. acme/payments-alerts#214.",
                ),
                ActionSpec(
                    "Return a distinct DB_POOL_TIMEOUT error from payment-gateway and chart it",
                    K.MITIGATE,
                    P.P3,
                    "tomas.novak",
                    due=30,
                    status=S.DONE,
                    done=26,
                    note="Pool timeouts are now logged and counted as DB_POOL_TIMEOUT, with their own dashboard panel.",
                ),
                ActionSpec(
                    "Add a per-client connection budget to the ledger-db capacity review template",
                    K.PROCESS,
                    P.P3,
                    "aisha.khan",
                    due=30,
                    status=S.DONE,
                    done=33,
                    note="Template updated; the settlement batch now has a budget of 40 connections.",
                ),
            ),
        ),
    ),
    Scenario(
        key="ci-runners",
        title="CI builds queued for 40 minutes: runner pool exhausted",
        summary="A test-sharding change tripled jobs per pipeline and exhausted the CI runner pool.",
        services=("deploy-pipeline",),
        severity="SEV4",
        cause="capacity",
        trigger=CHANGE,
        customer_facing=False,
        tags=("ci", "capacity"),
        days_ago=280,
        detection="Alert: CI queue wait p90 above 20 minutes.",
        actions=(
            "The monorepo's new test sharding tripled the number of jobs per pipeline.",
            "Raised the runner autoscaler maximum from 60 to 120 runners.",
        ),
        mitigation="Queue wait back under 2 minutes.",
    ),
    Scenario(
        key="cert-1",
        title="Partner API requests rejected: expired TLS certificate on api-gateway",
        summary="The certificate for partners.api.acme.example expired; partner integrations failed TLS "
        "handshakes for about two hours.",
        services=("api-gateway",),
        severity="SEV2",
        cause="certificate-expiry",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("tls", "certificates", "partners"),
        days_ago=262,
        minutes=(52, 6, 73, 140),
        detection="Support escalation: three partners report 'certificate has expired' calling "
        "partners.api.acme.example.",
        actions=(
            "openssl s_client confirms the certificate expired at 00:00 UTC; it was issued by hand 13 months "
            "ago and is not managed by cert-manager.",
            "Requested an emergency certificate from the CA; the DNS validation step took 35 minutes.",
            "Rolled the new certificate out to every edge node through the gateway's secrets rollout.",
        ),
        mitigation="Partner TLS handshakes succeeding; partner API traffic back to normal.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="jonas.weber",
            users_affected=140,
            revenue_impact=Decimal("12000.00"),
            summary=_md(
                """
                The TLS certificate for `partners.api.acme.example`, served by the API Gateway, expired at
                midnight UTC. Partners' API clients refused the connection, so order submissions and stock
                updates from 140 partner integrations failed until a new certificate was issued and deployed
                just over two hours later.

                The certificate was one of three issued by hand before we adopted cert-manager, and no
                inventory or alert covered it.
                """
            ),
            impact=_md(
                """
                - 140 partner integrations could not call the API for 2 h 05 min.
                - About 9,300 partner orders were delayed; most partners retried automatically. Orders that
                  were not retried are estimated at €12,000.
                - Web and mobile traffic was unaffected (different hostname and certificate).
                - We learned of it from partners, 52 minutes after expiry.
                """
            ),
            root_cause=_md(
                """
                cert-manager issues and renews the certificates for our public hostnames, except for three
                legacy hostnames configured before it was adopted. `partners.api.acme.example` is one of
                them: its certificate was bought with a 13-month validity and uploaded as a Kubernetes
                secret. Renewal relied on a calendar reminder owned by a team that has since been
                reorganised, so the reminder no longer reached anyone responsible for the gateway.

                Expiry monitoring only inspected certificates managed by cert-manager, so this one expired
                without any warning.
                """
            ),
            contributing_factors=_md(
                """
                - There is no single inventory of the certificates served at the edge; hand-made
                  certificates are invisible to our tooling.
                - Renewal depended on a personal calendar reminder instead of a team-owned system.
                - External synthetic checks covered the customer hostnames but not the partner hostname.
                - Emergency issuance needed DNS validation by a team with restricted access (+35 minutes).
                """
            ),
            what_went_well=_md(
                """
                - Support recognised the pattern across three partner reports and escalated within minutes.
                - The secrets rollout updated every edge node without restarts.
                """
            ),
            what_could_be_improved=_md(
                """
                - Expiry alerting must cover every certificate the edge serves, not only the managed ones.
                - Synthetic checks should cover every public hostname, including partner and legacy ones.
                - On-call should be able to run emergency issuance alone.
                """
            ),
            where_we_got_lucky=_md(
                """
                - Midnight UTC is a quiet hour for most of our European partners.
                - The CA issued the emergency certificate in minutes; organisation validation can take hours.
                """
            ),
            lessons=_md(
                """
                - Anything that expires needs an owner that is a team and a system, not a person and a calendar.
                - Monitoring that only sees the managed path gives false confidence about the unmanaged one.
                """
            ),
            actions=(
                ActionSpec(
                    "Probe every public hostname daily; alert 21 days before any served certificate expires",
                    K.DETECT,
                    P.P2,
                    "fatima.zahra",
                    due=21,
                    url="https://github.com/acme/platform-infra/issues/812",
                ),
                ActionSpec(
                    "Move partners.api and the two other hand-issued hostnames to cert-manager",
                    K.PREVENT,
                    P.P2,
                    "jonas.weber",
                    due=45,
                    status=S.WONT_DO,
                    done=20,
                    note="Superseded by the edge migration to the new ingress controller, which will manage "
                    "every certificate (EDGE-40).",
                ),
                ActionSpec(
                    "Add partners.api.acme.example to the external synthetic checks",
                    K.DETECT,
                    P.P3,
                    "ben.carter",
                    due=14,
                    status=S.DONE,
                    done=10,
                    note="Check `partners-api-tls` runs every minute from three regions.",
                ),
                ActionSpec(
                    "Document emergency certificate issuance that on-call can run without the DNS team",
                    K.PROCESS,
                    P.P3,
                    "jonas.weber",
                    due=30,
                    status=S.DONE,
                    done=40,
                    note="Runbook updated; validation uses a delegated _acme-challenge zone on-call can write.",
                ),
            ),
        ),
    ),
    Scenario(
        key="session-failover",
        title="Sign-in outage after session-store failover",
        summary="The session store's Redis primary failed; auth-service kept connecting to the old address "
        "and sign-in failed for 52 minutes.",
        services=("auth-service",),
        severity="SEV1",
        cause="hardware-network",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("redis", "failover", "sign-in", "dns"),
        days_ago=240,
        minutes=(2, 2, 52, 160),
        detection="Alert: auth-service sign-in error rate 94% for 2 minutes; synthetic login failing in all regions.",
        actions=(
            "Sentinel promoted sessions-redis-2 to primary 40 s after the host of sessions-redis-1 lost its "
            "network interface.",
            "auth-service pods still connect to the old primary: the Redis client resolves the hostname once "
            "per connection pool and never again.",
            "Rolling restart of auth-service to force re-resolution; sign-ins recovering as pods cycle.",
        ),
        mitigation="All auth-service pods restarted; sign-in success rate 99.7%.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="mei.lin",
            users_affected=310000,
            revenue_impact=Decimal("185000.00"),
            summary=_md(
                """
                The host running the primary Redis node of the session store lost its network interface.
                Redis Sentinel promoted a replica within 40 seconds, as designed, but auth-service kept
                trying to reach the old primary: its Redis client resolved the service name once at start-up
                and never again. Sign-in and session refresh failed for every user for 52 minutes, until all
                auth-service pods had been restarted.
                """
            ),
            impact=_md(
                """
                - **Customers:** nobody could sign in, and sessions older than an hour could not be refreshed,
                  so most active users were signed out — about 310,000 people.
                - **Revenue:** an estimated €185,000 of orders lost across web and mobile.
                - **Partners:** OAuth token refresh failed for partner apps; 23 partners opened tickets.
                """
            ),
            root_cause=_md(
                """
                auth-service uses a Redis client that resolves `sessions-redis.internal` when it creates its
                connection pool and keeps that address for the life of the process. Sentinel failover updates
                the DNS record, but nothing made existing clients resolve it again. Connections to the dead
                host hung until the 30-second socket timeout, then reconnected to the same unreachable address.

                We rehearse failover every quarter, but the drill's runbook restarts auth-service afterwards,
                which hid the client's behaviour every time.
                """
            ),
            contributing_factors=_md(
                """
                - The client library's DNS caching was not mentioned in our Redis guidelines.
                - The failover drill included a restart step that masked the defect.
                - The readiness probe did not check the session store, so traffic kept flowing to pods that
                  could not serve it.
                - A 30-second socket timeout tied up worker threads long before requests failed.
                """
            ),
            what_went_well=_md(
                """
                - Sentinel failover itself completed in 40 seconds.
                - Synthetic login checks and the error-rate alert fired within 2 minutes.
                - Roles were clear: the incident commander kept the restart decision separate from the
                  investigation and from customer communication.
                """
            ),
            what_could_be_improved=_md(
                """
                - Failover drills should prove that clients recover **without** a restart.
                - Readiness probes should reflect whether a pod can serve its critical path.
                """
            ),
            where_we_got_lucky=_md(
                """
                - The host failed at 06:10 UTC, before the European morning peak.
                - The replica was fully in sync, so no sessions were lost.
                """
            ),
            lessons=_md(
                """
                - A failover is only as fast as the slowest client to notice it.
                - A drill that includes a workaround tests the workaround, not the system.
                """
            ),
            actions=(
                ActionSpec(
                    "Switch auth-service to a Sentinel-aware Redis client that follows failovers",
                    K.PREVENT,
                    P.P1,
                    "lucas.ferreira",
                    due=30,
                    status=S.DONE,
                    done=24,
                    note="Migrated (ID-877). Staging failover drill: clients recovered in 4 s with no restart.",
                    url="https://acme.atlassian.net/browse/ID-877",
                ),
                ActionSpec(
                    "Remove the restart step from the failover drill and assert recovery within 60 s",
                    K.PROCESS,
                    P.P2,
                    "daniel.okafor",
                    due=21,
                    status=S.DONE,
                    done=20,
                    note="Drill runbook updated; last drill passed with 4 s recovery.",
                ),
                ActionSpec(
                    "Make the auth-service readiness probe check session-store connectivity",
                    K.MITIGATE,
                    P.P2,
                    "mei.lin",
                    due=30,
                    status=S.DONE,
                    done=35,
                    note="Probe pings the session store with a 200 ms timeout; verified by blocking Redis in staging.",
                ),
                ActionSpec(
                    "Lower the auth-service Redis socket timeout from 30 s to 2 s",
                    K.MITIGATE,
                    P.P3,
                    "lucas.ferreira",
                    due=14,
                    status=S.DONE,
                    done=9,
                    note="Shipped in auth-service 4.12; p99 Redis latency is 4 ms, so 2 s leaves ample margin.",
                ),
            ),
        ),
    ),
    Scenario(
        key="finance-export",
        title="Nightly finance export failed after a source schema change",
        summary="A renamed column in the orders event broke the nightly export to finance.",
        services=("data-warehouse",),
        severity="SEV4",
        cause="data",
        trigger=CHANGE,
        customer_facing=False,
        tags=("data", "schema", "finance"),
        days_ago=228,
        detection="Alert: finance_export DAG failed — column 'vat_rate' not found.",
        actions=(
            "The orders event renamed vat_rate to tax_rate in yesterday's checkout release.",
            "Mapped the new column in the export and re-ran it for the missed day.",
        ),
        mitigation="Export delivered to finance six hours late; figures reconciled.",
    ),
    Scenario(
        key="cluster-dns",
        title="Cluster DNS failures took down most services in eu-west",
        summary="CoreDNS pods were evicted during a node-pool upgrade; DNS lookups failed cluster-wide and "
        "most services returned errors for 31 minutes.",
        services=("compute-platform", "api-gateway", "checkout-api"),
        severity="SEV1",
        cause="hardware-network",
        trigger=CHANGE,
        customer_facing=True,
        tags=("dns", "kubernetes", "upgrade"),
        days_ago=210,
        minutes=(2, 1, 31, 120),
        detection="Alerts: 5xx above 20% on api-gateway, checkout-api, auth-service and search-api within 90 s.",
        actions=(
            "Service logs full of SERVFAIL and 'no such host'; only 1 of 6 CoreDNS pods running.",
            "The node-pool upgrade drained 3 nodes at once; all CoreDNS pods were on them and had no "
            "PodDisruptionBudget.",
            "Paused the upgrade and scaled CoreDNS to 12 replicas with zone anti-affinity.",
        ),
        mitigation="DNS success rate 100%; service error rates at baseline.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="sofia.rossi",
            users_affected=500000,
            revenue_impact=Decimal("240000.00"),
            changes_requested="Please add the us-east exposure to 'where we got lucky' and say why add-ons "
            "were outside the disruption-budget policy; the current text reads as if nobody had thought of it.",
            summary=_md(
                """
                A routine node-pool upgrade in the eu-west cluster drained three nodes at once. All six
                CoreDNS replicas had been scheduled onto those nodes and none had a PodDisruptionBudget, so
                the cluster's DNS capacity fell to a single pod, which was overwhelmed. Nearly every service
                failed to resolve its dependencies, and customer-facing error rates exceeded 20% for 31 minutes.
                """
            ),
            impact=_md(
                """
                - Web, mobile and partner API traffic in eu-west saw 20–60% errors for 31 minutes; about
                  500,000 users were affected.
                - An estimated €240,000 of orders were lost.
                - Batch jobs failed and were retried later without data loss.
                """
            ),
            root_cause=_md(
                """
                CoreDNS is installed by the cluster add-on with provider defaults: no PodDisruptionBudget and
                no anti-affinity. Over months of scaling events the scheduler had packed all replicas onto
                three nodes of one pool. The upgrade's surge settings let three nodes drain together, evicting
                five of six DNS pods within seconds. Services cache DNS answers for 5 seconds, so they felt
                the loss immediately.
                """
            ),
            contributing_factors=_md(
                """
                - Add-ons installed by the provider were excluded from our PodDisruptionBudget policy check,
                  because the policy was written for workloads we deploy ourselves.
                - Upgrades could drain three nodes at once, to keep maintenance windows short.
                - There was no node-local DNS cache to absorb a short CoreDNS outage.
                """
            ),
            what_went_well=_md(
                """
                - Alerts fired across services within 90 seconds, and the commander quickly recognised a
                  shared dependency rather than chasing each service.
                - Pausing the upgrade took one command.
                """
            ),
            what_could_be_improved=_md(
                """
                - Critical add-ons need the same disruption policies as our own services.
                - A node-local DNS cache would have turned this into a non-event.
                """
            ),
            where_we_got_lucky=_md(
                """
                - The us-east upgrade, with the same configuration, was scheduled for the next day.
                """
            ),
            lessons=_md(
                """
                - Defaults chosen by a provider are still our configuration.
                - Shared dependencies such as DNS deserve the strictest availability settings in the cluster.
                """
            ),
            actions=(
                ActionSpec(
                    "Add a PodDisruptionBudget (minAvailable 50%) and zone anti-affinity to CoreDNS in all clusters",
                    K.PREVENT,
                    P.P1,
                    "jonas.weber",
                    due=7,
                    status=S.DONE,
                    done=4,
                    note="Applied to all four clusters via the add-on overlay (acme/platform-infra#1020).",
                ),
                ActionSpec(
                    "Deploy NodeLocal DNSCache on every node pool",
                    K.MITIGATE,
                    P.P2,
                    DEMO_USERNAME,
                    due=60,
                    url="https://github.com/acme/platform-infra/issues/1021",
                ),
                ActionSpec(
                    "Extend the PodDisruptionBudget policy check to cluster add-ons",
                    K.PROCESS,
                    P.P2,
                    "fatima.zahra",
                    due=21,
                    status=S.DONE,
                    done=19,
                    note="Gatekeeper constraint now covers kube-system; 3 other add-ons fixed as a result.",
                ),
                ActionSpec(
                    "Limit node-pool upgrades to one drained node per zone at a time",
                    K.PROCESS,
                    P.P3,
                    "sofia.rossi",
                    due=14,
                    status=S.DONE,
                    done=14,
                    note="maxSurge=1, maxUnavailable=0 set for all pools.",
                ),
            ),
        ),
    ),
    Scenario(
        key="search-config-1",
        title="Search returning empty results after ranking config push",
        summary="A ranking config with a malformed boost expression was pushed to every search-api node; "
        "70% of queries returned no results for 34 minutes.",
        services=("search-api",),
        severity="SEV2",
        cause="config-change",
        trigger=CHANGE,
        customer_facing=True,
        tags=("config", "search", "rollout"),
        days_ago=201,
        minutes=(5, 3, 34, 95),
        detection="Alert: search-api zero-result rate 71% (baseline 4%) for 3 minutes.",
        actions=(
            "Spike lines up with config push #4471 (ranking boosts), completed 4 minutes before the alert.",
            "The new boost divides by a field that is 0 in production data; every score is NaN and is dropped.",
            "Re-pushed the previous config version with the config service's rollback command.",
        ),
        mitigation="Zero-result rate back to 4% once the rollback reached all 48 nodes.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="olivia.brown",
            users_affected=180000,
            revenue_impact=Decimal("64000.00"),
            summary=_md(
                """
                A change to search ranking configuration contained an expression that divided by zero. Every
                document scored `NaN`, and search-api drops non-finite scores, so about 70% of queries
                returned no results for 34 minutes until the previous configuration was restored.

                Search configuration is pushed to every node at once, outside the deploy pipeline's canary
                stages, and is validated only as JSON syntax.
                """
            ),
            impact=_md(
                """
                - About 180,000 searches returned an empty page; browse and category pages kept working.
                - Search conversion fell to near zero during the window: an estimated €64,000 of lost orders.
                - 34 minutes of impact; no data was changed.
                """
            ),
            root_cause=_md(
                """
                Ranking boosts are expressions in a JSON document held by the config service. The push path
                checks that the document parses, then sends it to all 48 search-api nodes within a minute.
                The change used a divisor field that is always zero in production (the test fixture filled
                it in). Scores became `NaN`, and the scorer discards non-finite scores by design, which
                emptied most result sets.

                Because configuration bypasses the deploy pipeline, none of the canary analysis that
                protects code changes applied to it.
                """
            ),
            contributing_factors=_md(
                """
                - Config pushes reach every node at the same time; there is no canary cell.
                - The test fixture populated a field that is always zero in production.
                - The scorer silently drops `NaN` scores rather than failing loudly or using default ranking.
                - The review tool shows a one-line diff, not its effect on real queries.
                """
            ),
            what_went_well=_md(
                """
                - The zero-result-rate alert caught the problem within 5 minutes.
                - Config history made the change obvious, and rollback was one command.
                """
            ),
            what_could_be_improved=_md(
                """
                - Configuration deserves the same progressive rollout as code.
                - Expressions should be evaluated against a sample of production documents before a push.
                """
            ),
            where_we_got_lucky=_md(
                """
                - The push happened at 10:00 on a Tuesday with the search team watching the dashboard.
                - Autocomplete uses separate configuration and kept working, so many users still found products.
                """
            ),
            lessons=_md(
                """
                - Configuration is code that skips the safety net; give it one.
                - A silent fallback (dropping `NaN`) can turn a small bug into a near-total outage.
                """
            ),
            actions=(
                ActionSpec(
                    "Validate search-api ranking config against its schema and 1,000 production documents before push",
                    K.PREVENT,
                    P.P1,
                    "kenji.tanaka",
                    due=30,
                    status=S.BLOCKED,
                    note="Blocked until the config repository moves to the new config service (SRCH-512); "
                    "validation will be built there.",
                    url="https://acme.atlassian.net/browse/SRCH-498",
                ),
                ActionSpec(
                    "Push search-api config to one canary cell for 10 minutes before the rest",
                    K.PREVENT,
                    P.P2,
                    "noah.williams",
                    due=30,
                    status=S.DONE,
                    done=28,
                    note="Config service supports staged pushes; search-api uses cell eu-1a as canary. "
                    "A deliberately bad push in staging stopped at the canary.",
                ),
                ActionSpec(
                    "Fall back to default ranking and emit a metric when a boost is not a finite number",
                    K.MITIGATE,
                    P.P2,
                    "olivia.brown",
                    due=21,
                    status=S.WONT_DO,
                    done=18,
                    note="The ranking team prefers rejecting bad config before it ships; a fallback would "
                    "hide it. Covered by the validation item.",
                ),
            ),
        ),
    ),
    Scenario(
        key="avatar-resizer",
        title="Profile avatars returning 5xx from the image resizer",
        summary="image-resizer 2.3.0 lowered its memory limit; large avatars failed to render.",
        services=("user-profile",),
        severity="SEV3",
        cause="deploy",
        trigger=CHANGE,
        customer_facing=True,
        tags=("images", "deploy"),
        days_ago=190,
        detection="Alert: user-profile 5xx rate 6% on /avatars.",
        actions=(
            "Errors began with image-resizer 2.3.0, which changed the default memory limit to 256 MB.",
            "Rolled image-resizer back to 2.2.4.",
        ),
        mitigation="5xx rate back at baseline.",
    ),
    Scenario(
        key="ci-token",
        title="Leaked deploy-pipeline token used to read a private repository",
        summary="A CI token printed in a public build log was used from an unknown address to clone one "
        "private repository; it was revoked 25 minutes after detection.",
        services=("deploy-pipeline",),
        severity="SEV2",
        initial_severity="SEV3",
        severity_reason="Audit log confirms a private repository was cloned; treating it as a confirmed "
        "exposure of source code.",
        cause="security",
        trigger=CHANGE,
        customer_facing=False,
        tags=("security", "credentials", "ci"),
        days_ago=180,
        minutes=(300, 10, 25, 1440),
        detection="Security alert: GitHub audit log shows a clone of acme/pricing-engine by a deploy token "
        "from outside our address ranges.",
        actions=(
            "Revoked the token and rotated every token issued to the same CI project.",
            "Token found in the log of a public repository's build after shell tracing was enabled.",
            "Audit of every repository the token could read: one private clone, no pushes, nothing else.",
        ),
        mitigation="Token revoked; later attempts with it are rejected.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="sofia.rossi",
            restricted_to=("platform", "identity"),
            summary=_md(
                """
                A deploy token used by the CI system was printed in the log of a public build after shell
                tracing (`set -x`) was turned on to debug a flaky job. Five hours later the token was used
                from an unknown address to clone one private repository, `pricing-engine`. The token was
                revoked 25 minutes after detection; the audit found no writes and no access to other
                repositories.

                This postmortem is restricted to the Platform and Identity teams while the security review
                of the exposed code completes.
                """
            ),
            impact=_md(
                """
                - One private repository (pricing rules; no customer data, and no secrets according to two
                  independent scans) was copied by an unknown party.
                - No customer data was exposed and no system was modified.
                - CI was degraded for 40 minutes while the project's tokens were rotated.
                """
            ),
            root_cause=_md(
                """
                CI jobs for public repositories ran on the same runner pool, with the same token injection,
                as private ones. The token is injected as an environment variable, and shell tracing prints
                every expanded command — including the one that configures git with the token. Our CI masks
                only values registered as secrets, and this token came from a plugin that did not register it.

                The token also had organisation-wide read scope, rather than access to the one repository
                the job needed.
                """
            ),
            contributing_factors=_md(
                """
                - Public and private repositories shared a runner pool and token configuration.
                - Token scope was broader than any job needs (organisation-wide read).
                - CI log output was not scanned for secrets.
                - The audit-log rule for unknown addresses ran every 5 hours, which set detection time.
                """
            ),
            what_went_well=_md(
                """
                - The audit-log rule, added last year, caught a real misuse.
                - Rotating every token of the project was scripted and took minutes.
                - Security and Platform worked from one channel with clear roles.
                """
            ),
            what_could_be_improved=_md(
                """
                - Tokens should be scoped to one repository and expire within the hour.
                - Public repositories' CI should run on isolated runners with no internal credentials.
                - Audit-log anomaly rules should run continuously.
                """
            ),
            where_we_got_lucky=_md(
                """
                - The exposed repository held no credentials or customer data.
                - The token was read-only.
                """
            ),
            lessons=_md(
                """
                - Every place a secret can be printed eventually prints it; mask by default.
                - Scope credentials to the job, not to the organisation.
                """
            ),
            actions=(
                ActionSpec(
                    "Replace organisation-wide CI tokens with per-repository GitHub App tokens valid for 1 hour",
                    K.PREVENT,
                    P.P1,
                    "ben.carter",
                    due=30,
                    status=S.DONE,
                    done=41,
                    note="All 212 pipelines use GitHub App installation tokens (PLAT-1950).",
                    url="https://acme.atlassian.net/browse/PLAT-1950",
                ),
                ActionSpec(
                    "Run public-repository CI on an isolated runner pool with no internal credentials",
                    K.PREVENT,
                    P.P1,
                    "jonas.weber",
                    due=45,
                    status=S.DONE,
                    done=52,
                    note="Pool `public-ci` has no vault access; verified by a job that tries to read a secret.",
                ),
                ActionSpec(
                    "Scan CI log output for secrets and redact matches before storage",
                    K.DETECT,
                    P.P2,
                    "ben.carter",
                    due=60,
                    status=S.IN_PROGRESS,
                    url="https://acme.atlassian.net/browse/PLAT-1961",
                ),
                ActionSpec(
                    "Run the GitHub audit-log anomaly rule every 10 minutes instead of every 5 hours",
                    K.DETECT,
                    P.P2,
                    "lucas.ferreira",
                    due=14,
                    status=S.DONE,
                    done=13,
                    note="Rule moved to the streaming audit-log pipeline; median detection now 6 minutes.",
                ),
            ),
        ),
    ),
    Scenario(
        key="rate-limit",
        title="API gateway throttled most traffic after a rate-limit change",
        summary="A rate-limit change set the global limit in requests per second where the config expects "
        "per minute; about 80% of API requests got HTTP 429 for 18 minutes.",
        services=("api-gateway",),
        severity="SEV1",
        cause="config-change",
        trigger=CHANGE,
        customer_facing=True,
        tags=("rate-limiting", "config", "api-gateway"),
        days_ago=170,
        minutes=(2, 2, 18, 70),
        detection="Alert: api-gateway HTTP 429 rate at 81% of requests.",
        actions=(
            "Config change 'tighten anonymous limits' applied 3 minutes earlier also set the global bucket "
            "to 1,000 — read by the gateway as per minute.",
            "Reverted through the gateway's config rollback.",
            "Confirmed partner API keys have their usual limits again.",
        ),
        mitigation="429 rate back to 0.05%.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="ben.carter",
            users_affected=450000,
            revenue_impact=Decimal("58000.00"),
            summary=_md(
                """
                A change meant to tighten rate limits for anonymous API clients also touched the global
                limit. The gateway's configuration expresses limits per minute, while the capacity document
                used for the change gave requests per second, so the global limit fell sixty-fold. For
                18 minutes the gateway rejected about 80% of all requests — web, mobile and partner — with
                HTTP 429.
                """
            ),
            impact=_md(
                """
                - About 450,000 users saw errors or empty pages for up to 18 minutes.
                - An estimated €58,000 of orders were lost.
                - Partner clients backed off after the 429s; some took up to an hour to return to normal volume.
                """
            ),
            root_cause=_md(
                """
                Rate limits are a YAML map from bucket name to an integer, with the unit implied by a single
                `window: 1m` setting at the top of the file. The change edited two buckets using values from
                a document expressed per second. Neither the format nor its validation states units, and the
                rollout applies to every gateway node at once.
                """
            ),
            contributing_factors=_md(
                """
                - Numbers without units in configuration.
                - No way to see the effect of new limits on recent traffic before rollout.
                - Configuration reaches every node at once.
                """
            ),
            what_went_well=_md(
                """
                - Detection and rollback took under 20 minutes.
                - The config rollback had been practised in a game day the month before.
                """
            ),
            what_could_be_improved=_md(
                """
                - Make units explicit in the format (`1000/s`).
                - Replay the previous hour of traffic against proposed limits during review.
                """
            ),
            where_we_got_lucky=_md(
                """
                - The change went out at 14:00 UTC, not at the evening peak.
                - Health checks bypass the rate limiter, so the load balancers did not eject gateway nodes.
                """
            ),
            lessons=_md(
                """
                - If a number has a unit, write the unit down next to it.
                """
            ),
            actions=(
                ActionSpec(
                    "Require explicit units (e.g. 1000/s) in api-gateway rate-limit config; reject bare integers",
                    K.PREVENT,
                    P.P2,
                    "jonas.weber",
                    due=21,
                    status=S.DONE,
                    done=19,
                    note="Schema updated and all 64 buckets migrated; CI rejects bare integers.",
                ),
                ActionSpec(
                    "Show the expected 429 rate from replaying last hour's traffic in every rate-limit review",
                    K.PREVENT,
                    P.P2,
                    "ben.carter",
                    due=45,
                    status=S.DONE,
                    done=58,
                    note="The review bot comments with the replayed 429 rate per bucket.",
                ),
                ActionSpec(
                    "Roll out api-gateway config to one zone for 5 minutes before the others",
                    K.PREVENT,
                    P.P2,
                    "fatima.zahra",
                    due=60,
                ),
            ),
        ),
    ),
    Scenario(
        key="reset-emails",
        title="Password reset emails delayed by up to 2 hours",
        summary="The email provider throttled our account after a marketing campaign shared the sending domain.",
        services=("auth-service",),
        severity="SEV3",
        cause="dependency",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("email", "third-party"),
        days_ago=160,
        detection="Support: users report password reset emails not arriving.",
        actions=(
            "Provider is throttling the account after a marketing campaign sent from the same domain.",
            "Moved transactional email to a dedicated IP pool and subdomain.",
        ),
        mitigation="Reset emails delivered within a minute again.",
    ),
    Scenario(
        key="duplicate-charges",
        title="Duplicate card charges after payment-gateway retry change",
        summary="A release retried PSP timeouts without reusing the idempotency key; 3,412 customers were "
        "charged twice over 2 h 20 min.",
        services=("payment-gateway",),
        severity="SEV1",
        initial_severity="SEV2",
        severity_reason="Duplicate charges confirmed for thousands of customers; direct financial harm to "
        "customers meets SEV1 criteria.",
        cause="deploy",
        trigger=CHANGE,
        customer_facing=True,
        tags=("payments", "deploy", "idempotency", "refunds"),
        days_ago=150,
        minutes=(95, 3, 45, 540),
        detection="Support escalation: 48 'charged twice' contacts in 30 minutes.",
        actions=(
            "Duplicates match release payment-gateway 2024.18: PSP timeouts now retried by the gateway as "
            "well as by the PSP SDK.",
            "Rolled payment-gateway back to 2024.17.",
        ),
        mitigation="Rollback complete; no new duplicate captures for 15 minutes.",
        note="Finance confirmed refunds can be batched through the PSP's API; no manual refunds needed.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="priya.raman",
            users_affected=3412,
            revenue_impact=Decimal("9800.00"),
            summary=_md(
                """
                Release 2024.18 of the Payment Gateway added a retry on PSP timeouts. The PSP's client SDK
                already retried timeouts internally, and our retry sent a fresh request without the original
                idempotency key. When one PSP's latency rose that evening, many requests timed out on our side
                after the PSP had already captured the payment, and the retry captured it again. 3,412
                customers were charged twice before the release was rolled back; every duplicate was refunded
                within 36 hours.
                """
            ),
            impact=_md(
                """
                - **Customers:** 3,412 duplicate charges totalling €402,118, all refunded within 36 hours;
                  each affected customer received a €5 goodwill credit.
                - **Cost:** about €9,800 in PSP refund fees and goodwill credits.
                - **Support:** 2,100 contacts over two days.
                """
            ),
            root_cause=_md(
                """
                The retry was added to reduce failed checkouts during PSP latency spikes. It wrapped the SDK
                call, which itself retries once on timeout, so one checkout could produce up to four capture
                requests. The idempotency key that makes captures safe to retry is generated inside the SDK
                for each call, so every outer retry carried a new key and the PSP treated it as a new capture.

                The failure needs a capture that succeeds at the PSP while its response is lost or late.
                Our integration tests use a PSP simulator that either succeeds quickly or fails, so they
                could not produce it.
                """
            ),
            contributing_factors=_md(
                """
                - The SDK's built-in retry and key generation were not described in our integration guide.
                - The PSP simulator cannot model "succeeded, but the response timed out".
                - Canary analysis compared error rates, which *improved* with the change; duplicates were
                  not measured.
                - One PSP had elevated latency that day, which amplified the effect.
                """
            ),
            what_went_well=_md(
                """
                - Support spotted the pattern and reached the payments on-call within 30 minutes of the first
                  contacts.
                - Rollback took under 10 minutes.
                - The PSP's settlement report identified every duplicate exactly.
                """
            ),
            what_could_be_improved=_md(
                """
                - Idempotency keys should be generated by us, once per checkout, and reused on every retry.
                - The simulator needs latency and lost-response modes.
                - Duplicate captures should be part of the gateway's canary analysis.
                """
            ),
            where_we_got_lucky=_md(
                """
                - Only one of our two PSPs was slow; the other carried 55% of traffic and was unaffected.
                - Most affected baskets were small; no large business orders were duplicated.
                """
            ),
            lessons=_md(
                """
                - Retries are only safe when idempotency spans every layer that retries.
                - Measure the harm you fear (duplicates), not only the errors you can see.
                """
            ),
            actions=(
                ActionSpec(
                    "Generate the PSP idempotency key once per checkout and reuse it on every retry",
                    K.PREVENT,
                    P.P1,
                    "tomas.novak",
                    due=7,
                    status=S.DONE,
                    done=5,
                    note="Shipped in 2024.19; verified in the PSP sandbox with forced timeouts.",
                ),
                ActionSpec(
                    "Alert when over 5 captures an hour share card, amount and merchant within 10 minutes",
                    K.DETECT,
                    P.P1,
                    "priya.raman",
                    due=14,
                    status=S.DONE,
                    done=15,
                    note="Alert `DuplicateCaptures` live; replaying the incident's data fires it in 4 minutes.",
                    url="https://acme.atlassian.net/browse/PAY-1342",
                ),
                ActionSpec(
                    "Add latency and lost-response modes to the PSP simulator",
                    K.PREVENT,
                    P.P2,
                    "tomas.novak",
                    due=45,
                    url="https://github.com/acme/psp-simulator/issues/41",
                ),
                ActionSpec(
                    "Add duplicate-capture rate to payment-gateway canary analysis",
                    K.DETECT,
                    P.P2,
                    "aisha.khan",
                    due=30,
                    status=S.DONE,
                    done=38,
                    note="Canary fails if the duplicate-capture rate exceeds baseline by 0.01 points.",
                ),
            ),
        ),
    ),
    Scenario(
        key="credential-stuffing",
        title="Credential-stuffing attack against sign-in",
        summary="A credential-stuffing campaign from a residential proxy network drove 40x normal sign-in "
        "attempts; about 1,900 accounts with reused passwords were accessed before it was blocked.",
        services=("auth-service", "api-gateway"),
        severity="SEV2",
        cause="security",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("security", "sign-in", "abuse"),
        days_ago=140,
        minutes=(35, 4, 95, 600),
        detection="Alert: failed sign-ins at 40x the hourly baseline.",
        actions=(
            "Attempts come from about 60,000 residential addresses at a few requests each, below per-IP limits.",
            "Enabled mandatory CAPTCHA for sign-ins without a known device cookie.",
            "Forced password reset and revoked sessions for the 1,900 accounts with successful campaign sign-ins.",
        ),
        mitigation="No successful sign-ins from the campaign for 30 minutes; failures at 2x baseline.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="daniel.okafor",
            users_affected=1900,
            internal_teams=("identity",),
            internal_sections=("root_cause",),
            summary=_md(
                """
                Attackers replayed username and password pairs leaked from other sites against our sign-in
                endpoint, spreading attempts over about 60,000 residential IP addresses. Around 1,900 accounts
                whose owners had reused a password were signed into before mandatory CAPTCHA stopped the
                campaign. We reset those passwords, revoked the sessions and told every owner. Card numbers
                cannot be read from an account, and no fraudulent order was confirmed.

                The root-cause section describes our detection signals in detail and is visible to the
                Identity team only.
                """
            ),
            impact=_md(
                """
                - 1,900 customer accounts were accessed by attackers; all were reset and their owners emailed
                  within 12 hours.
                - 37 orders placed from affected accounts were held for review; none proved fraudulent.
                - Legitimate users saw a CAPTCHA and slower sign-in for 9 hours.
                - The data protection officer assessed the breach as not notifiable to the regulator.
                """
            ),
            root_cause=_md(
                """
                Our rate limits were designed for attacks from few addresses: they count attempts per IP and
                per account. This campaign used each address only a few times and each account once, so
                neither counter crossed its threshold. The signal that did stand out — a sign-in success ratio
                far below normal across many new device fingerprints — was on a dashboard but had no alert.

                The thresholds, fingerprinting features and bot-detection provider are documented in the
                Identity runbook (section 4.3) and deliberately left out of this summary.
                """
            ),
            contributing_factors=_md(
                """
                - No breached-password check at sign-up or password change.
                - Multi-factor authentication is optional and used by 14% of customers.
                - The failed-sign-in alert threshold (40x) had been raised to avoid noise from mobile retries.
                """
            ),
            what_went_well=_md(
                """
                - The CAPTCHA kill switch existed and took effect within a minute of the decision.
                - Support had a prepared reply for account-compromise contacts.
                - Legal and the DPO were involved from the first hour.
                """
            ),
            what_could_be_improved=_md(
                """
                - Alert on aggregate success ratio, not only on volume.
                - Identifying and resetting affected accounts took 4 hours of manual queries; it should be a
                  tested script.
                """
            ),
            where_we_got_lucky=_md(
                """
                - The campaign did not target partner OAuth tokens.
                - Stored cards need the CVC again for a new delivery address, which stopped the fraud
                  attempts we saw.
                """
            ),
            lessons=_md(
                """
                - Limits that count per source miss distributed attacks; watch ratios and outcomes.
                - Account-takeover response must be scripted before it is needed.
                """
            ),
            actions=(
                ActionSpec(
                    "Reject passwords found in known breach corpora at sign-up and password change",
                    K.PREVENT,
                    P.P2,
                    "mei.lin",
                    due=45,
                    status=S.DONE,
                    done=60,
                    note="k-anonymity range check against the breach corpus; 3.1% of new passwords rejected "
                    "in the first week.",
                ),
                ActionSpec(
                    "Alert when sign-in success ratio for new devices is below 40% for 10 minutes",
                    K.DETECT,
                    P.P1,
                    "lucas.ferreira",
                    due=14,
                    status=S.DONE,
                    done=10,
                    note="Alert live; replay of the campaign's traffic fires it after 6 minutes.",
                ),
                ActionSpec(
                    "Script compromised-account handling (revoke sessions, force reset, notify) as an admin job",
                    K.MITIGATE,
                    P.P2,
                    "mei.lin",
                    due=30,
                    status=S.DONE,
                    done=33,
                    note="`manage.py lock_compromised_accounts` with dry-run; rehearsed on 500 test accounts.",
                ),
                ActionSpec(
                    "Offer passkeys to all customers and prompt for one after sign-in",
                    K.PREVENT,
                    P.P3,
                    "daniel.okafor",
                    due=120,
                    status=S.IN_PROGRESS,
                    url="https://acme.atlassian.net/browse/ID-940",
                ),
            ),
        ),
    ),
    Scenario(
        key="autoscaler",
        title="Pods pending for 25 minutes: cluster autoscaler stuck",
        summary="The cluster autoscaler crash-looped on a malformed node-group tag; new pods could not be "
        "scheduled in us-east.",
        services=("compute-platform",),
        severity="SEV3",
        cause="config-change",
        trigger=CHANGE,
        customer_facing=False,
        tags=("kubernetes", "autoscaling"),
        days_ago=132,
        detection="Alert: 140 pods pending for more than 10 minutes in us-east.",
        actions=(
            "Cluster autoscaler crash-looping while parsing a node-group tag added by a Terraform change.",
            "Fixed the tag and restarted the autoscaler; 9 nodes added within 4 minutes.",
        ),
        mitigation="All pending pods scheduled.",
    ),
    Scenario(
        key="hotfix-path",
        title="Untested build promoted to production through the hotfix path",
        summary="The hotfix path skipped integration tests and shipped a backward-incompatible migration; "
        "checkout-api returned errors for 26 minutes.",
        services=("deploy-pipeline", "checkout-api"),
        severity="SEV2",
        cause="process",
        trigger=CHANGE,
        customer_facing=True,
        tags=("deploy", "ci", "migrations", "hotfix"),
        days_ago=125,
        minutes=(3, 2, 26, 110),
        detection="Alert: checkout-api 5xx rate 34% within 3 minutes of release 7.42.1.",
        actions=(
            "7.42.1 went out via the hotfix path (no integration stage); its migration renamed a column the "
            "previous version still reads.",
            "Rollback impossible after the migration; deployed a compatibility view instead.",
            "Checked that failed requests wrote nothing: no orders lost or half-created.",
        ),
        mitigation="Compatibility view in place; checkout-api error rate at baseline.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="ben.carter",
            users_affected=14000,
            revenue_impact=Decimal("22000.00"),
            summary=_md(
                """
                A fix for a tax-rounding bug was shipped through the deploy pipeline's hotfix path, which skips
                integration tests to save 25 minutes. The same release contained a migration renaming a column
                that pods still running the previous version needed during the rolling deploy. About a third
                of checkout requests failed for 26 minutes, and rolling back was not possible because the
                migration had already run.
                """
            ),
            impact=_md(
                """
                - About 14,000 checkout attempts failed: an estimated €22,000 of lost orders.
                - Partners using the checkout API saw the same error rate.
                - No data was corrupted; failing requests wrote nothing.
                """
            ),
            root_cause=_md(
                """
                The hotfix path exists for emergencies but places no limit on what a hotfix contains: any
                commit on the release branch can ride along. The tax fix was merged after a migration commit
                intended for the next scheduled release, so both shipped together. Our guidelines call for
                expand/contract migrations (add the new column, migrate, remove the old one later), but the
                pipeline does not check them; the skipped integration stage would have caught it, because it
                runs the old and new versions against the migrated schema.
                """
            ),
            contributing_factors=_md(
                """
                - The hotfix path accepts any change, without a second approval.
                - Release branches mix commits meant for different releases.
                - Nothing detects backward-incompatible migrations automatically.
                - Wanting a customer-visible tax fix out before the weekend made the faster path attractive.
                """
            ),
            what_went_well=_md(
                """
                - Detection within 3 minutes; the release annotation on the dashboard made the cause obvious.
                - The team knew the compatibility-view technique and applied it in 15 minutes.
                """
            ),
            what_could_be_improved=_md(
                """
                - Restrict the hotfix path to a single cherry-picked commit with a second approver.
                - Lint migrations for renames and drops of columns the previous release still uses.
                """
            ),
            where_we_got_lucky=_md(
                """
                - The rounding fix itself was correct; a faulty fix plus a one-way migration would have been
                  much harder to untangle.
                """
            ),
            lessons=_md(
                """
                - Fast paths need guardrails precisely because they are used under pressure.
                - A migration that cannot be rolled back makes every release containing it a one-way door.
                """
            ),
            actions=(
                ActionSpec(
                    "Restrict the hotfix path to a single cherry-picked commit with a second approver",
                    K.PROCESS,
                    P.P2,
                    "sofia.rossi",
                    due=21,
                    status=S.DONE,
                    done=25,
                    note="Pipeline rule enforced: hotfix jobs fail unless the diff is one commit with two approvals.",
                ),
                ActionSpec(
                    "Fail CI when a migration renames or drops a column the previous release still reads",
                    K.PREVENT,
                    P.P1,
                    DEMO_USERNAME,
                    due=30,
                    status=S.DONE,
                    done=34,
                    note="Migration linter added to CI; it flags the 7.42.1 migration when replayed.",
                    url="https://github.com/acme/platform-infra/pull/1104",
                ),
                ActionSpec(
                    "Run a 5-minute smoke integration test on the hotfix path",
                    K.DETECT,
                    P.P2,
                    "jonas.weber",
                    due=30,
                    status=S.WONT_DO,
                    done=22,
                    note="Replaced by the single-commit restriction; a partial suite would give false "
                    "confidence. Recorded in ADR-031.",
                ),
            ),
        ),
    ),
    Scenario(
        key="kafka-disk-2",
        title="Webhook delays: Kafka disk filled by an unbounded debug topic",
        summary="A new debug topic without a size limit filled two Kafka brokers to 78%; webhooks were "
        "delayed by up to 20 minutes.",
        services=("event-pipeline",),
        severity="SEV3",
        cause="capacity",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("kafka", "disk", "capacity", "webhooks"),
        days_ago=112,
        minutes=(4, 6, 45, 120),
        detection="Alert: KafkaBrokerDiskHigh — broker-4 and broker-5 at 78% disk.",
        actions=(
            "Topic orders.debug was auto-created two days ago by a consumer debugging flag; no retention.bytes.",
            "Deleted orders.debug after the owning team confirmed it held only copies of existing events.",
        ),
        mitigation="Broker disk back to 48%; webhook lag under 30 seconds.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="hannah.schmidt",
            summary=_md(
                """
                A debugging flag created a new Kafka topic, `orders.debug`, with the cluster's default
                retention (no size limit). It grew quickly and two brokers reached 78% disk. The disk alert
                added after the earlier Kafka incident fired long before the brokers filled, so the impact was
                limited to webhook delays of up to 20 minutes.

                The preventive item from that incident — topics as code, with mandatory size retention — is
                still open; it would have rejected this topic.
                """
            ),
            impact=_md(
                """
                - Merchant webhooks were delayed by up to 20 minutes for about 35 minutes.
                - No data was lost; analytics were unaffected.
                """
            ),
            root_cause=_md(
                """
                Clients can still auto-create topics, which get the broker defaults (`retention.ms` of 7 days,
                no `retention.bytes`). The debugging flag wrote a full copy of the order stream to a new topic.
                The guard proposed in the earlier postmortem (topics managed in Terraform, `retention.bytes`
                required, auto-creation disabled) has not been built, so nothing stopped an unbounded topic
                from appearing.
                """
            ),
            contributing_factors=_md(
                """
                - `auto.create.topics.enable` is still true on the cluster.
                - The Terraform topic-management item has been open and overdue for months without a
                  milestone on the data team's roadmap.
                """
            ),
            what_went_well=_md(
                """
                - The 75% disk alert paged data on-call with hours of headroom, exactly as intended.
                - On-call found the new topic within 15 minutes using the topic-size dashboard.
                """
            ),
            what_could_be_improved=_md(
                """
                - Overdue preventive items from SEV2 postmortems should be reviewed in team planning.
                - Broker defaults should be safe: a finite default `retention.bytes`.
                """
            ),
            where_we_got_lucky=_md(
                """
                - The debugging flag was enabled in one region only.
                """
            ),
            lessons=_md(
                """
                - Last time's detection fix turned a SEV2 into a SEV3; the prevention fix would have made it
                  a non-event.
                """
            ),
            actions=(
                ActionSpec(
                    "Disable auto.create.topics.enable on all event-pipeline Kafka clusters",
                    K.PREVENT,
                    P.P2,
                    "ravi.patel",
                    due=14,
                    status=S.DONE,
                    done=12,
                    note="Disabled on all three clusters (acme/data-platform#402); clients get an error "
                    "naming the missing topic.",
                ),
                ActionSpec(
                    "Set a broker default retention.bytes of 50 GB per partition",
                    K.PREVENT,
                    P.P2,
                    "hannah.schmidt",
                    due=21,
                    status=S.IN_PROGRESS,
                ),
            ),
        ),
        repeats=RepeatSpec(
            earlier="kafka-disk-1",
            score=0.66,
            state=RepeatLink.State.SUGGESTED,
            similarity="a Kafka topic without retention.bytes grew until broker disks filled",
        ),
    ),
    Scenario(
        key="runaway-query",
        title="Warehouse queries slow: runaway dashboard query",
        summary="A dashboard tile without a date filter rescanned three years of events every five minutes.",
        services=("data-warehouse",),
        severity="SEV3",
        cause="capacity",
        trigger=AMBIENT,
        customer_facing=False,
        tags=("warehouse", "query-performance"),
        days_ago=104,
        detection="Alert: warehouse query queue time p95 above 10 minutes.",
        actions=(
            "One dashboard tile without a date filter scans three years of events every 5 minutes.",
            "Killed the query, disabled auto-refresh on that dashboard, set a 10-minute timeout for dashboard users.",
        ),
        mitigation="Queue time back under 30 seconds.",
    ),
    Scenario(
        key="warehouse-duplicates",
        title="Revenue dashboard overstated by 18% after warehouse backfill",
        summary="A retried backfill loaded one day of orders twice; finance dashboards showed revenue 18% "
        "too high for three days.",
        services=("data-warehouse",),
        severity="SEV2",
        cause="data",
        trigger=CHANGE,
        customer_facing=False,
        tags=("data-quality", "warehouse", "backfill"),
        days_ago=95,
        minutes=(3990, 20, 180, 600),
        detection="Finance analyst reports quarter revenue on the dashboard 18% above PSP settlement totals.",
        actions=(
            "fact_orders holds two copies of every order row for one day of the backfill window.",
            "The backfill was retried after a timeout and inserted the partition again instead of replacing it.",
            "Deleted the duplicate partition and rebuilt downstream models (revenue, cohorts, LTV).",
        ),
        mitigation="fact_orders row counts match the source for every day; dashboards corrected.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="elena.petrova",
            users_affected=85,
            summary=_md(
                """
                A backfill of the `fact_orders` table was retried after a timeout. The retry inserted one day
                of orders again instead of replacing it. Revenue on the finance dashboards was 18% too high for
                three days, and the figures went into a draft board report before a finance analyst noticed the
                gap with PSP settlements.
                """
            ),
            impact=_md(
                """
                - 85 internal dashboard users saw wrong revenue, order and cohort figures for three days.
                - A draft board report was corrected before distribution.
                - No customer impact; payments and payouts do not read from the warehouse.
                """
            ),
            root_cause=_md(
                """
                The backfill writes each day's partition with `INSERT`, relying on an earlier step that drops
                the partition first. The job timed out after the insert had committed, and the orchestrator
                retried the whole task: the drop step worked from its original plan, found nothing to drop, and
                the insert ran a second time. The job was only idempotent if it succeeded, or failed before
                inserting.

                Row-count tests against the source exist, but they ran only in the nightly load, not after
                ad-hoc backfills.
                """
            ),
            contributing_factors=_md(
                """
                - The task used the orchestrator's default retry policy (3 retries) although it was not
                  idempotent.
                - Data-quality tests were not part of the backfill path.
                - Warehouse revenue was reconciled with PSP settlements only at the monthly close.
                """
            ),
            what_went_well=_md(
                """
                - A finance analyst's cross-check caught the error before the board report went out.
                - The partitioned layout made the fix a single partition swap.
                """
            ),
            what_could_be_improved=_md(
                """
                - Every write to the warehouse should be idempotent (`MERGE` or partition overwrite).
                - Data-quality tests should run after every load, whichever path performs it.
                """
            ),
            where_we_got_lucky=_md(
                """
                - Only one day was duplicated; the backfill covered 30 days and the timeout could have
                  struck several of them.
                """
            ),
            lessons=_md(
                """
                - Retries turn a non-idempotent job into a data-corruption job.
                - Reconcile derived numbers against an independent source, automatically.
                """
            ),
            actions=(
                ActionSpec(
                    "Rewrite the fact_orders backfill to overwrite partitions atomically",
                    K.PREVENT,
                    P.P1,
                    "ravi.patel",
                    due=14,
                    status=S.DONE,
                    done=11,
                    note="Backfill uses INSERT OVERWRITE per partition; running the same day twice gives "
                    "identical row counts.",
                ),
                ActionSpec(
                    "Run dbt tests after every backfill and block dashboard refresh on failure",
                    K.DETECT,
                    P.P2,
                    "hannah.schmidt",
                    due=30,
                    status=S.DONE,
                    done=29,
                    note="Backfill DAG ends with `dbt test`; refresh waits on it.",
                ),
                ActionSpec(
                    "Reconcile daily warehouse revenue with PSP settlements; alert on a gap above 1%",
                    K.DETECT,
                    P.P2,
                    "elena.petrova",
                    due=45,
                    status=S.BLOCKED,
                    note="Waiting for read access to the PSP settlement bucket from Payments (PAY-1611).",
                    url="https://acme.atlassian.net/browse/DATA-301",
                ),
            ),
        ),
    ),
    Scenario(
        key="ios-flag",
        title="iOS app 5.2 crashed on launch after a feature-flag change",
        summary="A layout flag enabled for all app versions sent app 5.2 a layout it cannot render.",
        services=("mobile-backend",),
        severity="SEV3",
        cause="config-change",
        trigger=CHANGE,
        customer_facing=True,
        tags=("mobile", "ios", "feature-flags"),
        days_ago=88,
        detection="Alert: iOS crash-free sessions 91% (threshold 99.5%).",
        actions=(
            "Flag new_home_layout enabled for all versions; app 5.2 has no renderer for it and crashes.",
            "Restricted the flag to app versions 5.3 and later.",
        ),
        mitigation="Crash-free sessions back at 99.8%.",
    ),
    Scenario(
        key="fcm-shutdown",
        title="Android push notifications not delivered after FCM legacy API shutdown",
        summary="FCM's legacy send API was switched off while push-notifications still used it; no Android "
        "pushes were delivered for about 6 hours.",
        services=("push-notifications",),
        severity="SEV2",
        cause="dependency",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("push", "android", "fcm", "third-party"),
        days_ago=75,
        minutes=(310, 8, 150, 300),
        detection="Customer support: no order-status notifications on Android; delivery metric looks normal.",
        actions=(
            "FCM legacy endpoint answers HTTP 404 to every send; the shutdown was announced a year ago.",
            "The HTTP v1 migration branch was 80% done; the team finished it and tested on staging.",
            "Deployed push-notifications with the HTTP v1 client behind a flag: 10%, then 100%.",
        ),
        mitigation="Android delivery success at 98%.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="chloe.dubois",
            users_affected=420000,
            submitted_after=9,
            published_after=14,
            summary=_md(
                """
                Google switched off Firebase Cloud Messaging's legacy send API, which our push-notifications
                service still used for Android. Every Android push failed for about 6 hours, until the service
                moved to the HTTP v1 API in an emergency release. Our delivery metric recorded failed sends as
                successful, so the outage was found through support contacts rather than alerts.
                """
            ),
            impact=_md(
                """
                - About 420,000 Android users received no order, delivery or security notifications for 6 hours.
                - Couriers rely on push to reach customers: 260 same-day deliveries were missed and rebooked.
                - iOS notifications were unaffected.
                """
            ),
            root_cause=_md(
                """
                The deprecation was announced a year in advance and a migration ticket existed, but it sat in
                the backlog behind feature work with no date tied to the shutdown. Deprecation notices from
                providers arrive in a shared mailbox that no team triages.

                The delivery metric counted a send as successful when the HTTP request completed, whatever the
                status code, so 404 responses looked like deliveries and no alert fired.
                """
            ),
            contributing_factors=_md(
                """
                - Third-party deprecation notices had no owner and no tracking.
                - The success metric conflated "request completed" with "message accepted".
                - The migration branch needed a credentials change in another team's vault and was never merged.
                """
            ),
            what_went_well=_md(
                """
                - The nearly finished migration branch let the team ship a fix the same day.
                - A feature flag allowed a staged rollout of an emergency change.
                """
            ),
            what_could_be_improved=_md(
                """
                - Provider deprecations need an owner, a date and a place in planning.
                - Delivery metrics must reflect the provider's response.
                """
            ),
            where_we_got_lucky=_md(
                """
                - Security notifications (new sign-in alerts) are also sent by email, so no security signal
                  was lost.
                """
            ),
            lessons=_md(
                """
                - A known deadline without an owner is an incident with a date on it.
                - Measure outcomes (accepted by the provider), not activity (requests made).
                """
            ),
            actions=(
                ActionSpec(
                    "Count a push as sent only on a 2xx provider response; alert when Android success < 90% for 10 min",
                    K.DETECT,
                    P.P1,
                    "samir.haddad",
                    due=10,
                    status=S.DONE,
                    done=9,
                    note="Metric now keyed on provider status; alert `AndroidPushSuccessLow` tested in staging.",
                ),
                ActionSpec(
                    "Create a deprecation register routing provider notices to owning teams with due dates",
                    K.PROCESS,
                    P.P2,
                    "marcus.johnson",
                    due=45,
                    status=S.DONE,
                    done=70,
                    note="Register lives in the service catalogue; 7 pending deprecations logged with owners.",
                ),
                ActionSpec(
                    "Remove the legacy FCM code path and its credentials",
                    K.PREVENT,
                    P.P3,
                    "samir.haddad",
                    due=30,
                    status=S.DONE,
                    done=28,
                    note="Code removed; legacy server key revoked in the Firebase console.",
                ),
            ),
        ),
    ),
    Scenario(
        key="synthetics-stopped",
        title="Synthetic checks silently stopped for 3 days",
        summary="The synthetic-check runner's API key expired; missing results raised no alert.",
        services=("api-gateway",),
        severity="SEV4",
        cause="monitoring-gap",
        trigger=AMBIENT,
        customer_facing=False,
        tags=("monitoring", "synthetics"),
        days_ago=68,
        minutes=(4320, 30, 60, 90),
        detection="Found in the weekly reliability review: synthetic check graphs flat since Friday.",
        actions=(
            "The runner's API key expired on Friday; failures to run were logged but not alerted.",
            "Rotated the key and added an alert on missing check results.",
        ),
        mitigation="Checks running from all regions again.",
    ),
    Scenario(
        key="ledger-pool-2",
        title="Checkout outage: ledger-db connection pool exhausted during spring sale",
        summary="During the spring sale ledger-db ran out of connections; card payments failed for most "
        "customers for 38 minutes.",
        services=("payment-gateway", "ledger"),
        severity="SEV1",
        initial_severity="SEV2",
        severity_reason="Over half of checkouts failing during the sale; checkout unavailable for most users "
        "meets SEV1 criteria.",
        cause="capacity",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("database", "postgres", "connection-pool", "payments", "sale"),
        days_ago=58,
        minutes=(3, 2, 38, 190),
        detection="Alert: LedgerDbConnectionsHigh (ledger-db at 96% of max_connections), then payment-gateway "
        "error rate above 2%.",
        actions=(
            "Lowered the payment-gateway HPA maximum from 120 to 70 pods to cut connection demand.",
            "Raised ledger-db max_connections from 500 to 800 after confirming memory headroom (reload, no restart).",
        ),
        mitigation="Authorisation success above 99.5%; connections steady at 610/800.",
        note="The PgBouncer action item from the previous ledger-db incident is still blocked; linked in channel.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="aisha.khan",
            users_affected=96000,
            revenue_impact=Decimal("412000.00"),
            changes_requested='The draft says the load test "should have caught this". Please describe what '
            "the test environment could and could not show, rather than implying a missed step, and list the "
            "blocked PgBouncer item under contributing factors.",
            summary=_md(
                """
                In the first hour of the spring sale `ledger-db` reached its connection limit and the Payment
                Gateway failed about 60% of card authorisations for 38 minutes. This is the same class of
                failure as the ledger-db exhaustion ten months earlier: per-pod connection pools multiplied by
                autoscaling, with no global limit in front of the database.

                The alert added after the earlier incident fired two minutes before customers were affected,
                which shortened detection, but the preventive fix — a connection pooler — had been blocked
                behind a database upgrade and had not shipped.
                """
            ),
            impact=_md(
                """
                - **Customers:** about 96,000 failed checkout attempts; conversion in the sale's first hour was
                  41% below forecast.
                - **Revenue:** an estimated €412,000 of orders lost or delayed; the sale was extended by two hours.
                - **Support:** 1,850 contacts in three hours.
                - **Duration:** 38 minutes of customer impact; resolved after 3 h 10 min.
                """
            ),
            root_cause=_md(
                """
                Sale traffic scaled payment-gateway to its maximum of 120 pods. Each pod holds up to 10
                connections to `ledger-db`, so the gateway alone could ask for 1,200 connections against a limit
                of 500. Postgres refused new sessions, and gateway pods timed out waiting for a pool slot.

                The structural fix from the previous incident — PgBouncer in transaction mode with a global cap
                — stayed **blocked** for eight months on the ledger-db Postgres upgrade. When the upgrade slipped
                twice, nothing prompted a second look at the blocked item. The pre-sale load test ran against a
                staging database configured with `max_connections = 2000`, so it could not reach the limit that
                production has.
                """
            ),
            contributing_factors=_md(
                """
                - The blocked PgBouncer item had no review date and no escalation when its blocker slipped.
                - Staging's `max_connections` (2,000) differed from production's (500).
                - The HPA maximum was raised from 80 to 120 pods for the sale without a check against the
                  database's connection budget.
                - A recommendations widget added a second connection consumer to the gateway that quarter.
                """
            ),
            what_went_well=_md(
                """
                - The connection-saturation alert from the previous postmortem fired before customers noticed
                  and cut detection from 6 to 3 minutes.
                - Roles were assigned within five minutes; the status page was updated within ten.
                - Raising `max_connections` was in the runbook and needed no restart.
                """
            ),
            what_could_be_improved=_md(
                """
                - Blocked action items need a review date and escalation when their blocker slips.
                - Load tests must run against production limits, including connection limits.
                - Capacity changes for planned events should be checked against every downstream limit.
                """
            ),
            where_we_got_lucky=_md(
                """
                - `ledger-db` had the memory to raise `max_connections` live; a smaller instance would have
                  needed a failover.
                - The sale started region by region, so Asia-Pacific traffic had not yet arrived.
                """
            ),
            lessons=_md(
                """
                - A detection fix shortens an incident; only a prevention fix stops it recurring. Track both.
                - "Blocked" is not a parking place: a blocked preventive item for a SEV1-class risk needs a date
                  and an escalation path.
                """
            ),
            actions=(
                ActionSpec(
                    "Ship PgBouncer in transaction mode for ledger-db, independent of the Postgres upgrade",
                    K.PREVENT,
                    P.P1,
                    "tomas.novak",
                    due=62,
                    status=S.IN_PROGRESS,
                    url="https://acme.atlassian.net/browse/PAY-1529",
                ),
                ActionSpec(
                    "Set staging ledger-db max_connections to production's 500 and re-run the sale load test",
                    K.PREVENT,
                    P.P2,
                    "priya.raman",
                    due=30,
                    status=S.DONE,
                    done=21,
                    note="Staging mirrors production limits (acme/infra#1893); the load test now reproduces "
                    "the failure at 72 pods without a pooler.",
                ),
                ActionSpec(
                    "Add a pre-event check: HPA maximum × pool size against each database's connection limit",
                    K.PROCESS,
                    P.P2,
                    "aisha.khan",
                    due=21,
                    status=S.DONE,
                    done=18,
                    note="Added to the event-readiness checklist; used for the summer sale.",
                ),
                ActionSpec(
                    "Review every blocked P1/P2 action item weekly in the reliability review",
                    K.PROCESS,
                    P.P2,
                    "sofia.rossi",
                    due=14,
                    status=S.DONE,
                    done=12,
                    note="On the Tuesday reliability review agenda; the first pass found 4 stale blocked items.",
                ),
            ),
        ),
        repeats=RepeatSpec(
            earlier="ledger-pool-1",
            score=0.88,
            state=RepeatLink.State.CONFIRMED,
            similarity="payment-gateway connection pools multiplied by autoscaling exhausted ledger-db's "
            "max_connections, with no pooler in front of the database",
        ),
    ),
    Scenario(
        key="address-lookup",
        title="Checkout address lookup timing out",
        summary="Our address-lookup provider degraded in the UK; checkout's address step timed out.",
        services=("checkout-api",),
        severity="SEV3",
        cause="dependency",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("checkout", "third-party", "timeouts"),
        days_ago=50,
        detection="Alert: address-lookup p99 latency 6 s.",
        actions=(
            "Provider status page reports degraded performance in its UK region.",
            "Enabled the manual address entry fallback after 2 s.",
        ),
        mitigation="Checkout completion back at baseline.",
    ),
    Scenario(
        key="avatars-lifecycle",
        title="Profile photos deleted by a storage lifecycle rule",
        summary="A lifecycle rule meant for temporary uploads applied to the whole avatars bucket and "
        "deleted 1.2 million photos; all were restored from object versions.",
        services=("user-profile",),
        severity="SEV2",
        cause="config-change",
        trigger=CHANGE,
        customer_facing=True,
        tags=("storage", "data-loss", "config", "terraform"),
        days_ago=45,
        minutes=(180, 10, 240, 1200),
        detection="Alert: user-profile avatar 404 rate 22% (baseline 0.1%).",
        actions=(
            "Storage access logs show lifecycle deletions across the whole avatars bucket since 02:00 UTC.",
            "Yesterday's Terraform module refactor moved the 30-day expiry rule from the tmp/ prefix to the "
            "whole bucket.",
            "Disabled the rule and started restoring previous object versions (versioning kept for 90 days).",
        ),
        mitigation="Restore job complete; avatar 404 rate back at baseline.",
        postmortem=PostmortemSpec(
            status=PM.PUBLISHED,
            facilitator="lucas.ferreira",
            users_affected=1200000,
            revenue_impact=Decimal("1300.00"),
            summary=_md(
                """
                A refactor of our storage Terraform module moved a 30-day expiry rule from the `tmp/` prefix of
                the avatars bucket to the whole bucket. When the lifecycle job ran overnight, 1.2 million
                profile photos older than 30 days were deleted. Bucket versioning let us restore every photo;
                users saw default avatars for about 7 hours.
                """
            ),
            impact=_md(
                """
                - 1.2 million users' profile photos showed as default avatars for up to 7 hours.
                - Every photo was restored from a previous version; nothing was permanently lost.
                - The restore cost about €1,300 in storage requests.
                """
            ),
            root_cause=_md(
                """
                The bucket module was refactored to take lifecycle rules as a list. In the conversion the
                avatars rule lost its `prefix` filter, because the new module names that argument differently,
                and Terraform accepted a rule with an empty filter — meaning "every object". The plan showed the
                change as a modification of an existing rule, and the one-line difference (`filter {}`) did not
                stand out in a 400-line plan covering 31 buckets.
                """
            ),
            contributing_factors=_md(
                """
                - One plan applied the refactor to 31 buckets at once, which made review hard.
                - No policy check rejects bucket-wide expiry rules.
                - Staging buckets hold few objects older than 30 days, so the change had no visible effect there.
                """
            ),
            what_went_well=_md(
                """
                - Versioning with 90-day retention, added after a near miss last year, made the loss recoverable.
                - The avatar 404 alert fired as soon as enough users loaded pages.
                """
            ),
            what_could_be_improved=_md(
                """
                - Policy-as-code should reject bucket-wide expiry on buckets holding user data.
                - Large Terraform refactors should be applied bucket by bucket.
                """
            ),
            where_we_got_lucky=_md(
                """
                - Versions were kept for 90 days; with 30 days, recent deletions would have been unrecoverable.
                - Only the avatars bucket used the new module version so far.
                """
            ),
            lessons=_md(
                """
                - A deletion rule deserves the review a data migration gets.
                - Versioning is cheap insurance; keep it on every bucket holding user data.
                """
            ),
            actions=(
                ActionSpec(
                    "Add a policy rejecting expiry rules without a prefix filter on buckets tagged data-class=user",
                    K.PREVENT,
                    P.P1,
                    "fatima.zahra",
                    due=21,
                    status=S.DONE,
                    done=30,
                    note="OPA policy in the Terraform pipeline; replaying the refactor's plan is rejected.",
                ),
                ActionSpec(
                    "Apply storage module refactors one bucket per plan",
                    K.PROCESS,
                    P.P3,
                    "lucas.ferreira",
                    due=14,
                    status=S.DONE,
                    done=14,
                    note="Documented in the Terraform guide; the pipeline warns on plans touching > 3 buckets.",
                ),
                ActionSpec(
                    "Enable versioning with 90-day retention on every bucket tagged data-class=user",
                    K.PREVENT,
                    P.P2,
                    "fatima.zahra",
                    due=30,
                ),
                ActionSpec(
                    "Alert when lifecycle deletions exceed 10,000 objects an hour in any bucket",
                    K.DETECT,
                    P.P2,
                    "ben.carter",
                    due=50,
                    status=S.IN_PROGRESS,
                ),
            ),
        ),
    ),
    Scenario(
        key="reindex-latency",
        title="Search autocomplete slow during full reindex",
        summary="A full reindex shared nodes with query traffic and slowed autocomplete.",
        services=("search-api",),
        severity="SEV3",
        cause="capacity",
        trigger=CHANGE,
        customer_facing=True,
        tags=("search", "latency", "reindex"),
        days_ago=38,
        detection="Alert: autocomplete p99 latency 1.8 s (threshold 500 ms).",
        actions=(
            "A full reindex started at 11:00 on the nodes serving queries.",
            "Throttled the reindex to 2,000 documents a second.",
        ),
        mitigation="Autocomplete p99 back at 180 ms.",
    ),
    Scenario(
        key="staging-cert",
        title="Staging certificate expired, blocking deploys",
        summary="An internal-CA certificate for staging expired; smoke tests failed and deploys stopped.",
        services=("deploy-pipeline",),
        severity="SEV4",
        cause="certificate-expiry",
        trigger=AMBIENT,
        customer_facing=False,
        tags=("tls", "staging", "ci"),
        days_ago=31,
        detection="Deploy pipeline: staging smoke tests failing with certificate errors.",
        actions=(
            "The staging certificate comes from the internal CA, which cert-manager does not manage.",
            "Issued a new certificate and added it to the renewal inventory.",
        ),
        mitigation="Deploys flowing again.",
    ),
    Scenario(
        key="indexer-stalled",
        title="Stale search results for 6 hours: indexer stalled silently",
        summary="search-indexer stopped consuming catalogue changes after a consumer rebalance; prices and "
        "stock in search were up to 6 hours stale.",
        services=("search-indexer", "search-api"),
        severity="SEV2",
        cause="monitoring-gap",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("search", "kafka", "monitoring", "stale-data"),
        days_ago=28,
        minutes=(370, 5, 55, 150),
        detection="Merchandising reports sale prices missing from search results since the morning.",
        actions=(
            "search-indexer consumer lag at 1.9 million messages, growing since 03:40; process looks healthy.",
            "A rebalance at 03:40 left the consumer with no partitions; liveness only checks the HTTP port.",
            "Restarted search-indexer; lag draining at 20,000 messages a second.",
        ),
        mitigation="Lag at zero; prices and stock in search are current.",
        postmortem=PostmortemSpec(
            status=PM.DRAFT,
            facilitator="kenji.tanaka",
            users_affected=260000,
            summary=_md(
                """
                After a Kafka consumer-group rebalance at 03:40, search-indexer kept running but had no
                partitions assigned, so no catalogue, price or stock change reached the search index for six
                hours. Customers saw outdated prices — including missing sale prices — and products shown as in
                stock that were not. Nothing alerted; merchandising noticed the missing sale prices.

                _Draft: timeline and contributing factors still being collected._
                """
            ),
            impact=_md(
                """
                - About 260,000 search sessions saw stale prices or stock for up to 6 hours.
                - 1,140 orders were placed for items out of stock and had to be cancelled.
                - The sale's search traffic converted 22% below forecast in the affected hours.
                """
            ),
            root_cause=_md(
                """
                _(Draft)_ The consumer library can end a rebalance with zero partitions if a member's session
                times out at the wrong moment; it then waits for the next rebalance, which never comes while the
                group is stable. Liveness and readiness only check the HTTP port, and there was no alert on
                consumer lag or on index freshness.
                """
            ),
            contributing_factors=_md(
                """
                - No consumer-lag alert for search-indexer.
                - No index-freshness metric.
                """
            ),
            actions=(
                ActionSpec(
                    "Alert when search-indexer consumer lag exceeds 50,000 messages for 10 minutes",
                    K.DETECT,
                    P.P1,
                    "olivia.brown",
                    due=7,
                    status=S.DONE,
                    done=3,
                    note="Alert `SearchIndexerLagHigh` live; fires within 11 minutes of pausing the consumer "
                    "in staging.",
                ),
                ActionSpec(
                    "Fail search-indexer liveness when it has had no assigned partitions for 5 minutes",
                    K.DETECT,
                    P.P2,
                    "noah.williams",
                    due=21,
                ),
                ActionSpec(
                    "Show index freshness (age of the newest indexed change) on the search dashboard",
                    K.DETECT,
                    P.P3,
                    "kenji.tanaka",
                    due=30,
                    status=S.IN_PROGRESS,
                ),
            ),
        ),
    ),
    Scenario(
        key="stale-fx",
        title="Stale exchange rates shown at checkout for 40 minutes",
        summary="The FX rate feed returned the previous day's rates after the provider changed its response "
        "format; non-euro prices used stale rates.",
        services=("checkout-api",),
        severity="SEV3",
        cause="data",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("fx", "data-quality", "checkout"),
        days_ago=24,
        minutes=(25, 10, 40, 180),
        detection="Alert: FX rate unchanged for 2 hours on the currency dashboard (warning).",
        actions=(
            "The provider moved the 'as of' timestamp into a nested field; our parser fell back to cached rates.",
            "Pinned the provider's previous API version through its version header.",
        ),
        mitigation="Rates refreshed; checkout prices in GBP, USD and SEK correct again.",
        postmortem=PostmortemSpec(
            status=PM.IN_REVIEW,
            facilitator="tomas.novak",
            users_affected=5200,
            revenue_impact=Decimal("3100.00"),
            submitted_after=6,
            summary=_md(
                """
                Our FX provider changed the shape of its response without a version bump. The parser did not
                find the rates' timestamp, treated the response as invalid and kept serving cached rates from
                the previous day. Checkout showed prices in GBP, USD and SEK with a day-old rate for 40 minutes.

                We wrote this postmortem although SEV3 incidents do not require one, because the same silent
                fallback could hide a much longer outage.
                """
            ),
            impact=_md(
                """
                - About 5,200 orders were priced with day-old exchange rates; the largest difference was 1.4%.
                - We honoured the displayed prices: about €3,100 of margin lost.
                """
            ),
            root_cause=_md(
                """
                The FX client falls back to the last good rates when a response fails validation — a sensible
                choice for a brief provider outage, but it had no age limit and raised only a log warning. When
                the provider restructured its response, every refresh failed validation and the fallback held
                indefinitely; the warning threshold on the dashboard was 2 hours.
                """
            ),
            contributing_factors=_md(
                """
                - The fallback had no maximum age.
                - Parse failures were logged at warning level with no metric.
                - We did not pin the provider's API version.
                """
            ),
            what_went_well=_md(
                """
                - The currency dashboard showed the flat rate, and on-call connected it quickly to the parser.
                """
            ),
            what_could_be_improved=_md(
                """
                - Fallbacks need an age limit and an alert when used.
                - Pin third-party API versions explicitly.
                """
            ),
            where_we_got_lucky=_md(
                """
                - Exchange rates barely moved that day; on a volatile day the gap could have been several percent.
                """
            ),
            lessons=_md(
                """
                - A fallback that is never noticed becomes the normal path.
                """
            ),
            actions=(
                ActionSpec(
                    "Refuse FX rates older than 2 hours: fall back to the last validated rates and alert",
                    K.PREVENT,
                    P.P2,
                    "priya.raman",
                    due=21,
                ),
                ActionSpec(
                    "Alert when the FX feed's as-of timestamp is older than 90 minutes",
                    K.DETECT,
                    P.P3,
                    "tomas.novak",
                    due=30,
                    status=S.IN_PROGRESS,
                ),
            ),
        ),
    ),
    Scenario(
        key="search-config-2",
        title="Search relevance collapse after synonyms config push",
        summary="A generated synonyms file mapped thousands of loosely related terms to each other; popular "
        "queries returned irrelevant results for over two hours.",
        services=("search-api",),
        severity="SEV2",
        cause="config-change",
        trigger=CHANGE,
        customer_facing=True,
        tags=("config", "search", "synonyms", "rollout"),
        days_ago=19,
        minutes=(48, 5, 130, 200),
        detection="Alert: search click-through rate 38% below the same hour last week (anomaly detector).",
        actions=(
            "Zero-result rate and latency normal; sampled queries show 'shoes' returning socks and laces first.",
            "Synonyms push #5120, 1 h 50 min earlier, added 2,300 two-way mappings from the merchandising tool.",
            "The canary stage passed: it checks error rate and latency, not relevance.",
        ),
        mitigation="Rolled back to synonyms version #5119; click-through recovered within 10 minutes.",
        postmortem=PostmortemSpec(
            status=PM.DRAFT,
            facilitator="noah.williams",
            users_affected=240000,
            revenue_impact=Decimal("51000.00"),
            summary=_md(
                """
                A synonyms file generated by the merchandising tool was pushed to search-api. It contained about
                2,300 two-way mappings between loosely related terms, so popular queries returned irrelevant
                results for over two hours. The canary stage added after the ranking-config incident passed,
                because it measures errors and latency, not relevance.

                _Draft: timeline and contributing factors still being gathered._
                """
            ),
            impact=_md(
                """
                - Search click-through fell 38% and search conversion 31% for 2 h 10 min.
                - Estimated €51,000 of lost orders (to be confirmed with finance).
                - No errors were returned, so the status page stayed green; support received 120 contacts
                  about "strange results".
                """
            ),
            root_cause=_md(
                """
                _(Draft)_ The synonyms generator exports a mapping table maintained by merchandising. A change in
                the export format turned one-way mappings into two-way ones. The push validates JSON syntax only;
                the schema and sample-query validation proposed after the ranking-config incident (still blocked)
                would have flagged the jump in size — 2,300 new mappings where a normal push has 10 to 20.
                """
            ),
            actions=(
                ActionSpec(
                    "Require a second approval for synonyms pushes that change more than 100 mappings",
                    K.PREVENT,
                    P.P2,
                    "olivia.brown",
                    due=21,
                ),
                ActionSpec(
                    "Add click-through rate to the config canary analysis",
                    K.DETECT,
                    P.P2,
                    "noah.williams",
                    due=30,
                ),
            ),
        ),
        repeats=RepeatSpec(
            earlier="search-config-1",
            score=0.74,
            state=RepeatLink.State.SUGGESTED,
            similarity="a search-api configuration push validated only as JSON syntax reached production "
            "and broke results",
        ),
    ),
    Scenario(
        key="refund-batch",
        title="Refund batch sent twice for 18 refunds",
        summary="The refund scheduler restarted during a deploy and re-sent a batch; 18 refunds were paid twice.",
        services=("payment-gateway",),
        severity="SEV3",
        initial_severity="SEV2",
        severity_reason="Scope confirmed: 18 refunds, all recoverable, no further duplicates possible while "
        "the scheduler is paused.",
        cause="data",
        trigger=CHANGE,
        customer_facing=True,
        tags=("payments", "refunds", "batch"),
        days_ago=15,
        detection="Alert: refunds per merchant above 3x the daily average.",
        actions=(
            "The refund scheduler restarted during a deploy and re-queued a batch it had already sent.",
            "Reversed the 18 duplicate refunds through the PSP's reversal API.",
        ),
        mitigation="Scheduler paused until batch deduplication ships.",
    ),
    Scenario(
        key="apns-latency",
        title="Push notification throughput reduced by APNs latency",
        summary="APNs responded four times slower than usual; the push queue backed up for 40 minutes.",
        services=("push-notifications",),
        severity="SEV4",
        cause="dependency",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("push", "ios", "third-party"),
        days_ago=12,
        detection="Alert: push queue age above 5 minutes.",
        actions=(
            "APNs response times at 4x normal; Apple's status page reports degraded performance.",
            "Raised sender concurrency from 50 to 150 HTTP/2 streams.",
        ),
        mitigation="Queue age under 30 seconds.",
    ),
    Scenario(
        key="shard-storm",
        title="Search shard relocation storm after node replacement",
        summary="A failing disk removed a search data node; 400 shards relocated at once and slowed queries.",
        services=("search-indexer", "search-api"),
        severity="SEV3",
        cause="hardware-network",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("search", "elasticsearch", "hardware"),
        days_ago=9,
        detection="Alert: search cluster status yellow; query p99 1.2 s.",
        actions=(
            "A failing disk took data node es-data-7 out; 400 shards relocating at the same time.",
            "Limited concurrent recoveries to 4 per node.",
        ),
        mitigation="Cluster green; query p99 back to 140 ms.",
    ),
    Scenario(
        key="psp-degraded",
        title="Checkout latency and failures: primary PSP degraded",
        summary="The primary payment provider's authorisation API slowed to 8 s at p99; up to 12% of checkouts "
        "failed until traffic moved to the secondary PSP.",
        services=("payment-gateway", "checkout-api"),
        severity="SEV2",
        cause="dependency",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("payments", "third-party", "latency", "psp"),
        days_ago=6,
        minutes=(9, 3, 41, 180),
        detection="Alert: payment-gateway p99 authorisation latency 8.1 s (threshold 2 s) for 5 minutes.",
        actions=(
            "PSP status page shows degraded performance in its EU region; failover to the secondary PSP is manual.",
            "Moved 50% of card traffic to the secondary PSP with the routing flag; failures down to 5%.",
            "Moved 100% after the secondary PSP's on-call confirmed capacity.",
        ),
        mitigation="All card traffic on the secondary PSP; checkout failure rate 0.4%.",
        postmortem=PostmortemSpec(
            status=PM.IN_REVIEW,
            facilitator="priya.raman",
            users_affected=38000,
            revenue_impact=Decimal("71000.00"),
            submitted_after=3,
            summary=_md(
                """
                Our primary payment service provider (PSP) had a partial outage in its EU region. Authorisation
                latency rose to 8 seconds at p99 and up to 12% of card payments failed or timed out. Moving
                traffic to our secondary PSP restored checkout, but the switch is a manual, two-step flag change
                and took 41 minutes from the first alert.
                """
            ),
            impact=_md(
                """
                - About 38,000 checkout attempts failed or were abandoned.
                - An estimated €71,000 of orders were lost.
                - Merchant payouts were unaffected.
                """
            ),
            root_cause=_md(
                """
                The trigger was outside our systems: the PSP's EU authorisation cluster degraded (their report
                cites a storage failure). Our exposure came from routing. We send all card traffic to the primary
                PSP, and failing over needs a person to confirm the secondary's capacity by phone. The gateway's
                circuit breaker opens on errors only, not on latency, so slow requests kept tying up worker
                threads until they timed out after 10 seconds.
                """
            ),
            contributing_factors=_md(
                """
                - No automatic, latency-based failover between PSPs.
                - The secondary PSP's contract requires notice above 50% of our volume.
                - A 10-second client timeout, far beyond the ~3 seconds customers wait.
                """
            ),
            what_went_well=_md(
                """
                - The latency alert fired within 9 minutes.
                - The routing flag worked as designed, and the secondary PSP absorbed all traffic.
                - The communications lead updated the status page every 20 minutes.
                """
            ),
            what_could_be_improved=_md(
                """
                - Failover between PSPs should be automatic on latency and error thresholds.
                - Gateway timeouts should match what customers tolerate.
                """
            ),
            where_we_got_lucky=_md(
                """
                - The secondary PSP's on-call answered within minutes and accepted full volume without notice.
                """
            ),
            lessons=_md(
                """
                - A manual failover that needs a phone call is a plan, not a capability.
                """
            ),
            actions=(
                ActionSpec(
                    "Fail over to the secondary PSP automatically when p99 authorisation latency > 2 s for 5 min",
                    K.MITIGATE,
                    P.P1,
                    "tomas.novak",
                    due=12,
                    status=S.IN_PROGRESS,
                    url="https://acme.atlassian.net/browse/PAY-1702",
                ),
                ActionSpec(
                    "Open the payment-gateway circuit breaker on latency as well as on errors",
                    K.MITIGATE,
                    P.P2,
                    "priya.raman",
                    due=20,
                ),
                ActionSpec(
                    "Agree a 100%-volume failover clause with the secondary PSP",
                    K.PROCESS,
                    P.P2,
                    "aisha.khan",
                    due=30,
                ),
                ActionSpec(
                    "Lower the payment-gateway PSP client timeout from 10 s to 4 s",
                    K.MITIGATE,
                    P.P2,
                    "tomas.novak",
                    due=9,
                    status=S.DONE,
                    done=4,
                    note="Timeout lowered; no increase in timeouts at normal PSP latency over two days.",
                ),
            ),
        ),
    ),
    Scenario(
        key="cert-2",
        title="Android sign-in failing: expired intermediate certificate on api-gateway",
        summary="An intermediate certificate in the chain served for api.acme.example expired; Android 7–9 "
        "devices failed TLS and could not sign in for 1 h 40 min.",
        services=("api-gateway", "auth-service", "mobile-backend"),
        severity="SEV1",
        cause="certificate-expiry",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("tls", "certificates", "mobile", "sign-in"),
        days_ago=4,
        minutes=(14, 3, 100, 210),
        detection="Alert: Android sign-in success rate down from 99% to 61%.",
        actions=(
            "TLS handshake failures only from Android 7–9; newer clients build an alternative chain.",
            "api-gateway serves a hand-built chain bundle with an intermediate that expired at 09:00 UTC; "
            "cert-manager renews only the leaf.",
            "Rebuilt the bundle with the current intermediate and rolled it out region by region.",
        ),
        mitigation="Android sign-in success back at 99%; handshake errors at baseline.",
        postmortem=PostmortemSpec(
            status=PM.IN_REVIEW,
            facilitator="fatima.zahra",
            users_affected=52000,
            revenue_impact=Decimal("27000.00"),
            submitted_after=2.5,
            summary=_md(
                """
                An intermediate CA certificate in the chain the API Gateway serves for `api.acme.example`
                expired. Android devices on versions 7–9, which cannot build an alternative chain, failed the
                TLS handshake, so about 38% of Android users could not sign in or load their feed for 1 hour
                40 minutes.

                This repeats the class of the partner-certificate expiry eight months ago: a certificate artefact
                at the edge outside automated renewal, and expiry monitoring that did not see it. The action item
                to probe every served certificate for expiry was still open.
                """
            ),
            impact=_md(
                """
                - **Customers:** about 52,000 Android users saw sign-in failures or an empty feed; iOS and web
                  were unaffected.
                - **Support:** 640 contacts; the app-store rating dipped from 4.5 to 4.3 over two days.
                - **Revenue:** an estimated €27,000 of mobile orders lost.
                """
            ),
            root_cause=_md(
                """
                cert-manager renews our leaf certificates, but the API Gateway's configuration pins a **chain
                bundle** file assembled by hand when the gateway was migrated two years ago. The bundle included
                an intermediate that expired this week; the CA had published its replacement months earlier.
                Newer Android and iOS versions fetch or cache the new intermediate and build a valid chain
                anyway, which hid the problem in testing. Android 7–9 do not, and failed.

                Our expiry probes read the leaf certificate's `notAfter` only. The action item from the previous
                certificate incident — probe every served hostname and alert 21 days before **any** certificate
                in the chain expires — was open and overdue, so nothing warned us.
                """
            ),
            contributing_factors=_md(
                """
                - The chain bundle was a static file in the gateway repository with no owner or renewal process.
                - Test devices and synthetic checks run recent OS versions that tolerate a broken chain.
                - The earlier detection item lost priority when the edge migration meant to replace it was
                  postponed.
                - TLS error metrics are not broken down by client OS, which slowed diagnosis.
                """
            ),
            what_went_well=_md(
                """
                - The per-platform sign-in alert fired within 14 minutes.
                - The regional rollout of the corrected bundle took under 20 minutes and could be reversed.
                - Communications updated the status page and app-store replies every 30 minutes.
                """
            ),
            what_could_be_improved=_md(
                """
                - Certificate monitoring must validate the whole chain the way an old client would.
                - When an item is closed as superseded and the superseding plan slips, reopen the item.
                - Synthetic checks should include the oldest supported OS versions.
                """
            ),
            where_we_got_lucky=_md(
                """
                - The intermediate expired on a weekday morning in Europe, with the platform team online.
                - Only older Android versions were affected; an expired leaf would have hit every client.
                """
            ),
            lessons=_md(
                """
                - "The certificate" is really a chain, and every link can expire.
                - Work that supersedes an action item inherits its deadline.
                """
            ),
            actions=(
                ActionSpec(
                    "Probe every public hostname daily and alert 21 days before any certificate in its chain expires",
                    K.DETECT,
                    P.P1,
                    "fatima.zahra",
                    due=10,
                    status=S.IN_PROGRESS,
                    url="https://github.com/acme/platform-infra/issues/812",
                ),
                ActionSpec(
                    "Generate the api-gateway chain bundle from cert-manager instead of a static file",
                    K.PREVENT,
                    P.P1,
                    "jonas.weber",
                    due=21,
                ),
                ActionSpec(
                    "Add an Android 7 emulator to the synthetic sign-in check matrix",
                    K.DETECT,
                    P.P2,
                    "chloe.dubois",
                    due=14,
                ),
                ActionSpec(
                    "Break down api-gateway TLS handshake errors by client OS family",
                    K.DETECT,
                    P.P3,
                    DEMO_USERNAME,
                    due=20,
                ),
            ),
        ),
        repeats=RepeatSpec(
            earlier="cert-1",
            score=0.82,
            state=RepeatLink.State.SUGGESTED,
            similarity="a certificate served by api-gateway outside cert-manager renewal expired, and expiry "
            "monitoring did not cover it",
        ),
    ),
    Scenario(
        key="feed-crashloop",
        title="Mobile app feed unavailable: mobile-backend crash loop after deploy",
        summary="mobile-backend 3.18 crashed on start because a required config key was missing in "
        "production; the app feed failed for 22 minutes.",
        services=("mobile-backend",),
        severity="SEV2",
        cause="deploy",
        trigger=CHANGE,
        customer_facing=True,
        tags=("deploy", "kubernetes", "config", "mobile"),
        days_ago=3,
        minutes=(4, 2, 22, 65),
        detection="Alert: mobile-backend available replicas 0/24; app feed error rate 100%.",
        actions=(
            "Pods in CrashLoopBackOff with KeyError: RECOMMENDER_URL at start-up.",
            "maxUnavailable of 50% let half the old pods stop before the new ones failed; readiness passed "
            "before config loaded.",
            "Rolled back to 3.17.4.",
        ),
        mitigation="Rollback complete; feed error rate back at 0.2%.",
        postmortem=PostmortemSpec(
            status=PM.DRAFT,
            facilitator=DEMO_USERNAME,
            users_affected=61000,
            summary=_md(
                """
                Release 3.18 of mobile-backend read a new configuration key, `RECOMMENDER_URL`, that had been
                added in staging but not in production. New pods crashed at start-up; because the readiness probe
                passed before configuration was loaded, the rolling update removed half of the old pods before
                the new ones failed. The app feed was unavailable for 22 minutes until the release was rolled back.
                """
            ),
            impact=_md(
                """
                - About 61,000 app users saw an error instead of their feed for up to 22 minutes.
                - Checkout in the app kept working through its own endpoint.
                """
            ),
            actions=(
                ActionSpec(
                    "Fail the deploy when a config key the release reads is missing in the target environment",
                    K.PREVENT,
                    P.P2,
                    "chloe.dubois",
                    due=14,
                ),
                ActionSpec(
                    "Make mobile-backend report ready only after configuration has loaded",
                    K.PREVENT,
                    P.P2,
                    "samir.haddad",
                    due=7,
                ),
            ),
        ),
    ),
    Scenario(
        key="webhook-kms",
        title="Merchant webhooks delayed up to 50 minutes: KMS request quota exceeded",
        summary="The webhook signer hit its KMS request quota after a merchant bulk import; deliveries queued "
        "for up to 50 minutes.",
        services=("event-pipeline",),
        severity="SEV2",
        cause="dependency",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("webhooks", "kms", "quota"),
        days_ago=2,
        minutes=(8, 4, 50, 140),
        detection="Alert: webhook delivery lag above 15 minutes.",
        actions=(
            "Webhook signer logs ThrottlingException from KMS; request rate 2.4x normal after a merchant bulk import.",
            "Requested a quota increase from the cloud provider (approved after 25 minutes).",
            "Enabled data-key caching in the signer, cutting KMS calls by 95%.",
        ),
        mitigation="Queue drained; delivery latency under 5 seconds.",
    ),
    Scenario(
        key="lb-502",
        title="Intermittent 502s from api-gateway for some partner integrations",
        summary="One load balancer node in eu-west-1b reset connections; about 1% of partner API calls got 502s.",
        services=("api-gateway",),
        severity="SEV3",
        cause="hardware-network",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("partners", "load-balancer"),
        days_ago=0.85,
        minutes=(12, 6, 70, 0),
        status=Incident.Status.MONITORING,
        detection="Alert: api-gateway 502 rate 1.2% on partners.api.acme.example.",
        actions=(
            "502s traced to one of three load balancer nodes in eu-west-1b resetting connections.",
            "Drained the faulty node and opened a case with the cloud provider.",
        ),
        mitigation="502 rate back to 0.01%; monitoring for 24 hours before resolving.",
        note="Cloud provider confirmed a host fault under the load balancer node; replacement scheduled.",
    ),
    Scenario(
        key="push-delays",
        title="Android push notifications delayed by up to 30 minutes",
        summary="FCM is rejecting about 40% of sends with quota errors since a topic fan-out job started; "
        "Android notifications are arriving late.",
        services=("push-notifications",),
        severity="SEV2",
        initial_severity="SEV3",
        severity_reason="Order-status and courier notifications delayed for most Android users; a major "
        "feature degraded for many users (SEV2).",
        cause="dependency",
        trigger=AMBIENT,
        customer_facing=True,
        tags=("push", "android", "fcm", "quota"),
        days_ago=0.2,
        minutes=(11, 4, 0, 0),
        status=Incident.Status.MITIGATING,
        detection="Alert: Android push delivery p95 latency 28 minutes.",
        actions=(
            "FCM returns 429 quota errors on about 40% of sends since the marketing topic fan-out job began.",
            "Paused the marketing fan-out job; retry queue draining slowly.",
            "Opened a quota case with Google support and asked for a temporary increase.",
        ),
    ),
    Scenario(
        key="signin-latency",
        title="Elevated sign-in latency in eu-west",
        summary="Sign-in p99 latency in eu-west is 2.4 s; cause under investigation.",
        services=("auth-service",),
        severity="SEV3",
        cause=None,
        trigger=Incident.Trigger.UNKNOWN,
        customer_facing=True,
        tags=("sign-in", "latency"),
        days_ago=0.035,
        minutes=(7, 3, 0, 0),
        status=Incident.Status.INVESTIGATING,
        detection="Alert: auth-service p99 sign-in latency 2.4 s in eu-west (threshold 1 s).",
        actions=(
            "Latency confined to eu-west; password-hashing CPU at 95% on 6 of 18 pods.",
            "Scaled auth-service in eu-west from 18 to 30 pods while investigating; p99 down to 1.6 s.",
        ),
    ),
]


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------

# Default minute spreads by severity when a scenario gives none:
# (started->detected, detected->acknowledged, detected->mitigated, extra until resolved)
DEFAULT_MINUTES: dict[str, tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]] = {
    "SEV1": ((2, 8), (1, 5), (30, 150), (60, 360)),
    "SEV2": ((3, 20), (2, 10), (30, 240), (60, 600)),
    "SEV3": ((5, 60), (5, 30), (20, 300), (30, 1440)),
    "SEV4": ((10, 240), (15, 120), (30, 600), (60, 2880)),
}


@dataclass
class DemoResult:
    """What :func:`build_demo` did, for the command's summary."""

    created: bool
    username: str = DEMO_USERNAME
    password: str = DEMO_PASSWORD
    counts: dict[str, int] = field(default_factory=dict)
    personas: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Roles:
    commander: AbstractBaseUser
    operations_lead: AbstractBaseUser
    communications_lead: AbstractBaseUser
    scribe: AbstractBaseUser


class _Builder:
    """Turns the module's specs into rows; one instance per run."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.users: dict[str, AbstractBaseUser] = {}
        self.person = {p.username: p for p in PEOPLE}
        self.teams: dict[str, Team] = {}
        self.services: dict[str, Service] = {}
        self.severities = {s.name: s for s in Severity.objects.all()}
        self.causes = {c.slug: c for c in CauseCategory.objects.all()}
        self.incidents: dict[str, Incident] = {}
        self.items_by_incident: dict[str, list[ActionItem]] = {}
        self.events: list[TimelineEvent] = []
        self.item_changes: list[ActionItemChange] = []
        self._check_taxonomies()

    # -- reference data -------------------------------------------------------

    def _check_taxonomies(self) -> None:
        missing = [name for name in ("SEV1", "SEV2", "SEV3", "SEV4") if name not in self.severities]
        missing += [s.cause for s in SCENARIOS if s.cause and s.cause not in self.causes]
        if missing:
            raise DemoDataError(
                f"Missing severities or cause categories: {', '.join(sorted(set(missing)))}. "
                "Run `manage.py migrate` first (a data migration seeds them)."
            )

    def build_people(self) -> None:
        user_model = get_user_model()
        wanted = [p.username for p in PEOPLE if p.username != DEMO_USERNAME]
        existing = {u.username: u for u in user_model.objects.filter(username__in=wanted)}
        new = []
        for p in PEOPLE:
            if p.username == DEMO_USERNAME or p.username in existing:
                continue
            user = user_model(
                username=p.username,
                first_name=p.first_name,
                last_name=p.last_name,
                email=f"{p.username}@{EMAIL_DOMAIN}",
            )
            user.set_unusable_password()  # a few personas get the demo password: ensure_persona_logins
            new.append(user)
        user_model.objects.bulk_create(new)
        self.users = {u.username: u for u in user_model.objects.filter(username__in=wanted)}
        self.users[DEMO_USERNAME] = ensure_demo_login()

    def build_teams_and_services(self) -> None:
        for spec in TEAMS:
            team, _ = Team.objects.get_or_create(
                slug=spec.slug,
                defaults={
                    "name": spec.name,
                    "lead": self.users[spec.lead],
                    "digest_email": f"{spec.slug}-team@{EMAIL_DOMAIN}",
                },
            )
            team.members.add(*(self.users[p.username] for p in PEOPLE if p.team == spec.slug))
            self.teams[spec.slug] = team
        for spec in SERVICES:
            service, _ = Service.objects.get_or_create(
                slug=spec.slug,
                defaults={
                    "name": spec.name,
                    "team": self.teams[spec.team],
                    "description": spec.description,
                    "runbook_url": f"https://runbooks.{EMAIL_DOMAIN}/{spec.team}/{spec.slug}",
                },
            )
            self.services[spec.slug] = service

    # -- helpers --------------------------------------------------------------

    def _past(self, when: datetime, margin_minutes: int = 30) -> datetime:
        """``when``, or a little before now if it would be in the future."""
        return min(when, self.now - timedelta(minutes=margin_minutes))

    def _name(self, user: AbstractBaseUser) -> str:
        person = self.person.get(user.get_username())
        return person.full_name if person else user.get_username()

    def _members(self, team: str) -> list[str]:
        return [p.username for p in PEOPLE if p.team == team]

    def _pick_roles(self, scenario: Scenario) -> _Roles:
        owning_team = self.services[scenario.services[0]].team.slug
        lead = next(t.lead for t in TEAMS if t.slug == owning_team)
        operators = [u for u in self._members(owning_team) if u != lead]
        operations = self.rng.choice(operators)
        commander = self.rng.choice([u for u in COMMANDER_ROTA if u != operations])
        taken = {operations, commander}
        communications = self.rng.choice([p.username for p in PEOPLE if p.username not in taken])
        taken.add(communications)
        scribes = [u for u in self._members(owning_team) if u not in taken] or [
            p.username for p in PEOPLE if p.username not in taken
        ]
        scribe = self.rng.choice(scribes)
        return _Roles(
            commander=self.users[commander],
            operations_lead=self.users[operations],
            communications_lead=self.users[communications],
            scribe=self.users[scribe],
        )

    def _minutes(self, scenario: Scenario) -> tuple[int, int, int, int]:
        if scenario.minutes:
            return scenario.minutes
        ttd, tta, ttm, extra = DEFAULT_MINUTES[scenario.severity]
        mitigate = self.rng.randint(*ttm)
        return (
            self.rng.randint(*ttd),
            self.rng.randint(*tta),
            mitigate,
            mitigate + self.rng.randint(*extra),
        )

    # -- incidents ------------------------------------------------------------

    def build_incident(self, scenario: Scenario) -> Incident:
        rng = self.rng
        ttd, tta, ttm, ttr = self._minutes(scenario)
        started = self.now - timedelta(days=scenario.days_ago)
        if scenario.days_ago >= 2:  # spread older incidents over the day; recent ones stay exact
            started += timedelta(minutes=rng.randint(-360, 360))
        detected = started + timedelta(minutes=ttd)
        acknowledged = detected + timedelta(minutes=tta)
        declared = acknowledged + timedelta(minutes=rng.randint(2, 9))
        status = scenario.status
        mitigated = resolved = None
        if status in (Incident.Status.RESOLVED, Incident.Status.MONITORING):
            mitigated = detected + timedelta(minutes=ttm)
            declared = min(declared, mitigated)
        if status == Incident.Status.RESOLVED:
            resolved = max(mitigated, self._past(detected + timedelta(minutes=ttr), margin_minutes=60))
        roles = self._pick_roles(scenario)
        severity = self.severities[scenario.severity]
        incident = Incident.objects.create(
            title=scenario.title,
            summary=scenario.summary,
            severity=severity,
            status=status,
            cause_category=self.causes[scenario.cause] if scenario.cause else None,
            trigger=scenario.trigger,
            customer_facing=scenario.customer_facing,
            started_at=started,
            detected_at=detected,
            acknowledged_at=acknowledged,
            declared_at=declared,
            mitigated_at=mitigated,
            resolved_at=resolved,
            commander=roles.commander,
            operations_lead=roles.operations_lead,
            communications_lead=roles.communications_lead,
            scribe=roles.scribe,
            created_by=roles.commander,
        )
        incident.services.add(*(self.services[slug] for slug in scenario.services))
        incident.tags.add(*scenario.tags)
        Incident.objects.filter(pk=incident.pk).update(created_at=declared, updated_at=resolved or self.now)
        self.incidents[scenario.key] = incident

        severity_change = None
        if scenario.initial_severity:
            end = mitigated or self.now - timedelta(minutes=5)
            changed_at = declared + (end - declared) * rng.uniform(0.2, 0.45)
            severity_change = SeverityChange.objects.create(
                incident=incident,
                from_severity=self.severities[scenario.initial_severity],
                to_severity=severity,
                changed_by=roles.commander,
                changed_at=changed_at,
                reason=scenario.severity_reason,
            )
        self._timeline(scenario, incident, roles, severity_change)
        return incident

    def _timeline(
        self,
        scenario: Scenario,
        incident: Incident,
        roles: _Roles,
        severity_change: SeverityChange | None,
    ) -> None:
        rng = self.rng
        kind = TimelineEvent.Kind
        events: list[tuple[datetime, str, str, AbstractBaseUser]] = []
        declared_as = scenario.initial_severity or scenario.severity
        events.append((incident.detected_at, kind.DETECTION, scenario.detection, roles.operations_lead))
        events.append(
            (
                incident.declared_at,
                kind.ESCALATION,
                f"Declared {declared_as}. Commander: {self._name(roles.commander)}; operations: "
                f"{self._name(roles.operations_lead)}; communications: {self._name(roles.communications_lead)}; "
                f"scribe: {self._name(roles.scribe)}.",
                roles.commander,
            )
        )
        services = ", ".join(self.services[s].name for s in scenario.services)
        if scenario.customer_facing:
            update = f'Status page: "We are investigating problems affecting {services}. Next update in 30 minutes."'
        else:
            update = f"Stakeholder update posted in #incidents: {services} affected, no customer impact so far."
        first_update = incident.declared_at + timedelta(minutes=rng.randint(3, 8))
        end = incident.mitigated_at or self.now - timedelta(minutes=2)
        first_update = min(first_update, end)
        events.append((first_update, kind.COMMUNICATION, update, roles.communications_lead))

        steps = list(scenario.actions)
        span = end - first_update
        for index, text in enumerate(steps, start=1):
            position = (index - 0.5 + rng.uniform(-0.25, 0.25)) / (len(steps) + 0.5)
            events.append((first_update + span * position, kind.ACTION, text, roles.operations_lead))
        if severity_change:
            old, new = severity_change.from_severity.name, severity_change.to_severity.name
            events.append(
                (
                    severity_change.changed_at,
                    kind.ESCALATION,
                    f"Severity changed from {old} to {new}: {severity_change.reason}",
                    roles.commander,
                )
            )
        if incident.mitigated_at and scenario.mitigation:
            events.append((incident.mitigated_at, kind.MITIGATION, scenario.mitigation, roles.operations_lead))
        if scenario.note:
            note_end = incident.resolved_at or self.now - timedelta(minutes=1)
            note_at = end + (note_end - end) * 0.5 if incident.mitigated_at else first_update + span * 0.9
            events.append((note_at, kind.NOTE, scenario.note, roles.scribe))
        if incident.resolved_at:
            after = incident.resolved_at - (incident.mitigated_at or incident.detected_at)
            hours = max(1, round(after.total_seconds() / 3600))
            text = f"Resolved after {hours} h of monitoring at baseline."
            if incident.severity.requires_postmortem:
                text += " Postmortem required."
            events.append((incident.resolved_at, kind.RESOLUTION, text, roles.commander))
        if not 5 <= len(events) <= 9:
            raise ValueError(f"{scenario.key}: {len(events)} timeline events; keep between 5 and 9")
        for occurred_at, event_kind, text, author in sorted(events, key=lambda e: e[0]):
            self.events.append(
                TimelineEvent(incident=incident, occurred_at=occurred_at, kind=event_kind, text=text, author=author)
            )

    # -- postmortems ----------------------------------------------------------

    def build_postmortem(self, scenario: Scenario, spec: PostmortemSpec) -> Postmortem:
        rng = self.rng
        incident = self.incidents[scenario.key]
        resolved = incident.resolved_at
        assert resolved is not None, f"{scenario.key}: only resolved incidents get a postmortem"
        facilitator = self.users[spec.facilitator]
        owning_team = self.services[scenario.services[0]].team.slug
        lead = self.users[next(t.lead for t in TEAMS if t.slug == owning_team)]
        other_leads = [self.users[t.lead] for t in TEAMS if t.slug != owning_team and t.lead != spec.facilitator]
        reviewers = [u for u in (lead, rng.choice(other_leads)) if u != facilitator][:2]
        if len(reviewers) < 2:
            reviewers.append(next(u for u in other_leads if u not in reviewers))
        authors = [facilitator] + [u for u in (incident.operations_lead, incident.scribe) if u != facilitator]

        created = self._past(resolved + timedelta(hours=rng.uniform(3, 20)), margin_minutes=120)
        submitted = published = None
        version = {PM.DRAFT: 2, PM.IN_REVIEW: 4, PM.PUBLISHED: 6}[spec.status]
        if spec.status in (PM.IN_REVIEW, PM.PUBLISHED):
            submitted = self._past(resolved + timedelta(days=spec.submitted_after), margin_minutes=90)
        if spec.status == PM.PUBLISHED:
            published = self._past(resolved + timedelta(days=spec.published_after), margin_minutes=60)
            if spec.changes_requested:
                version += 2
        restricted = bool(spec.restricted_to)
        postmortem = Postmortem.objects.create(
            incident=incident,
            status=spec.status,
            facilitator=facilitator,
            summary=spec.summary,
            impact=spec.impact,
            root_cause=spec.root_cause,
            contributing_factors=spec.contributing_factors,
            what_went_well=spec.what_went_well,
            what_could_be_improved=spec.what_could_be_improved,
            where_we_got_lucky=spec.where_we_got_lucky,
            lessons=spec.lessons,
            users_affected=spec.users_affected,
            revenue_impact=spec.revenue_impact,
            visibility=Postmortem.Visibility.RESTRICTED if restricted else Postmortem.Visibility.ORGANISATION,
            internal_sections=list(spec.internal_sections),
            version=version,
            submitted_at=submitted,
            published_at=published,
        )
        postmortem.authors.set(authors)
        postmortem.reviewers.set(reviewers)
        teams = spec.restricted_to or spec.internal_teams
        if teams:
            postmortem.teams.set([self.teams[slug] for slug in teams])
        Postmortem.objects.filter(pk=postmortem.pk).update(
            created_at=created, updated_at=published or submitted or self._past(created + timedelta(days=1))
        )
        self._reviews(spec, postmortem, reviewers, submitted, published)
        self.items_by_incident[scenario.key] = [
            self._action_item(scenario, postmortem, item, created) for item in spec.actions
        ]
        return postmortem

    def _reviews(
        self,
        spec: PostmortemSpec,
        postmortem: Postmortem,
        reviewers: list[AbstractBaseUser],
        submitted: datetime | None,
        published: datetime | None,
    ) -> None:
        if submitted is None:
            return
        first, second = reviewers[0], reviewers[1]
        rows: list[tuple[AbstractBaseUser, str, str, int, datetime]] = []
        if published is None:  # in review: one reviewer has approved, the other has not answered yet
            when = self._past(submitted + timedelta(hours=20), margin_minutes=45)
            rows.append((first, Review.Decision.APPROVE, "Clear and blameless; happy with the actions.", 4, when))
        else:
            gap = published - submitted
            if spec.changes_requested:
                rows.append((first, Review.Decision.REQUEST_CHANGES, spec.changes_requested, 4, submitted + gap * 0.2))
                rows.append((first, Review.Decision.APPROVE, "Thanks — reads well now.", 6, submitted + gap * 0.75))
            else:
                rows.append(
                    (first, Review.Decision.APPROVE, "Good analysis; actions are specific.", 6, submitted + gap * 0.4)
                )
            rows.append((second, Review.Decision.APPROVE, "", postmortem.version, submitted + gap * 0.85))
        for reviewer, decision, comment, version, when in rows:
            review = Review.objects.create(
                postmortem=postmortem,
                reviewer=reviewer,
                decision=decision,
                comment=comment,
                postmortem_version=min(version, postmortem.version),
            )
            Review.objects.filter(pk=review.pk).update(created_at=when, updated_at=when)

    # -- action items ---------------------------------------------------------

    def _action_item(
        self, scenario: Scenario, postmortem: Postmortem, spec: ActionSpec, created: datetime
    ) -> ActionItem:
        incident = postmortem.incident
        start = incident.started_at
        owner = self.users[spec.owner]
        team = self.teams[spec.team or self.person[spec.owner].team]
        due = timezone.localtime(start + timedelta(days=spec.due)).date()
        created = created + timedelta(minutes=self.rng.randint(5, 90))
        item = ActionItem.objects.create(
            postmortem=postmortem,
            title=spec.title,
            description=(
                f"From the postmortem of {incident.reference} ({incident.title})."
                + (f"\n\n**Blocked:** {spec.note}" if spec.status == S.BLOCKED else "")
            ),
            kind=spec.kind,
            priority=spec.priority,
            owner=owner,
            team=team,
            due_date=due,
            status=spec.status,
            resolution_note=spec.note if spec.status in (S.DONE, S.WONT_DO) else "",
            external_url=spec.url,
        )
        # History: who moved it, when. Times stay between creation and now.
        lead = self.users[next(t.lead for t in TEAMS if t.slug == team.slug)]
        finished = self._past(start + timedelta(days=spec.done), 240) if spec.done is not None else None
        started_work = self._past(created + (((finished or self.now) - created) * 0.35), 300)
        history: list[tuple[str, str, AbstractBaseUser, datetime, str]] = []
        if spec.status in (S.IN_PROGRESS, S.BLOCKED, S.DONE):
            history.append((S.OPEN, S.IN_PROGRESS, owner, started_work, ""))
        if spec.status == S.BLOCKED:
            blocked_at = self._past(started_work + (self.now - started_work) * 0.3, 200)
            history.append((S.IN_PROGRESS, S.BLOCKED, owner, blocked_at, spec.note))
        if spec.status == S.DONE:
            history.append((S.IN_PROGRESS, S.DONE, owner, finished or self.now, ""))
        if spec.status == S.WONT_DO:
            history.append((S.OPEN, S.WONT_DO, lead, finished or started_work, spec.note))
        for old, new, who, when, note in history:
            self.item_changes.append(
                ActionItemChange(item=item, changed_by=who, changed_at=when, changes={"status": [old, new]}, note=note)
            )
        last_change = history[-1][3] if history else created
        fields = {"created_at": created, "updated_at": last_change}
        if spec.status == S.DONE:
            # save() stamped completed_at with "now"; record when it was really finished.
            fields["completed_at"] = finished or last_change
        ActionItem.objects.filter(pk=item.pk).update(**fields)
        return item

    # -- repeats --------------------------------------------------------------

    def build_repeat(self, scenario: Scenario, spec: RepeatSpec) -> RepeatLink:
        incident = self.incidents[scenario.key]
        earlier = self.incidents[spec.earlier]
        earlier_scenario = next(s for s in SCENARIOS if s.key == spec.earlier)
        unfinished = [i for i in self.items_by_incident.get(spec.earlier, []) if i.status != S.DONE]
        prevent = [i for i in unfinished if i.kind in (K.PREVENT, K.DETECT)] or unfinished
        services = ", ".join(sorted(set(scenario.services) & set(earlier_scenario.services)))
        cause = self.causes[scenario.cause].name if scenario.cause else "unknown cause"
        reason = (
            f"Same service ({services}) and cause category ({cause}); in both, {spec.similarity}. "
            f"{earlier.reference} was {(incident.started_at - earlier.started_at).days} days earlier."
        )
        if prevent:
            listed = "; ".join(f'{i.reference} "{i.title}" ({i.get_status_display().lower()})' for i in prevent)
            reason += f" Its action items never completed: {listed}."
        decided = spec.state != RepeatLink.State.SUGGESTED
        postmortem = getattr(incident, "postmortem", None)
        decider = postmortem.facilitator if postmortem else incident.commander
        decided_at = None
        if decided:
            decided_at = (postmortem.published_at if postmortem and postmortem.published_at else None) or self._past(
                incident.resolved_at + timedelta(days=2) if incident.resolved_at else self.now
            )
        return RepeatLink.objects.create(
            incident=incident,
            earlier=earlier,
            score=spec.score,
            reason=reason,
            state=spec.state,
            decided_by=decider if decided else None,
            decided_at=decided_at,
        )

    # -- everything -----------------------------------------------------------

    def build(self) -> None:
        self.build_people()
        self.build_teams_and_services()
        ordered = sorted(SCENARIOS, key=lambda s: -s.days_ago)
        for scenario in ordered:
            self.build_incident(scenario)
            if scenario.postmortem:
                self.build_postmortem(scenario, scenario.postmortem)
        TimelineEvent.objects.bulk_create(self.events)
        ActionItemChange.objects.bulk_create(self.item_changes)
        for scenario in ordered:
            if scenario.repeats:
                self.build_repeat(scenario, scenario.repeats)


def ensure_demo_login() -> AbstractBaseUser:
    """Create or repair the ``demo`` superuser (password ``demo``) and put it in the Platform team."""
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=DEMO_USERNAME)
    user.first_name, user.last_name = "Demo", "User"
    user.email = f"{DEMO_USERNAME}@{EMAIL_DOMAIN}"
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(DEMO_PASSWORD)
    user.save()
    team = Team.objects.filter(slug="platform").first()
    if team:
        team.members.add(user)
    return user


def ensure_persona_logins() -> list[tuple[str, str]]:
    """Give the demo password to one persona per role, so each journey can be walked as
    the person who makes it: (role, username) pairs, in the order the README lists them."""
    user_model = get_user_model()
    people = {p.username for p in PEOPLE if p.username != DEMO_USERNAME}
    open_work = ~Q(status=Postmortem.Status.PUBLISHED)
    facilitator = (
        Postmortem.objects.filter(open_work, facilitator__username__in=people)
        .order_by("status", "due_date", "pk")
        .values_list("facilitator__username", flat=True)
        .first()
    )
    reviewer = None
    in_review = Postmortem.objects.filter(status=Postmortem.Status.IN_REVIEW).order_by("pk")
    for postmortem in in_review.prefetch_related("reviewers", "reviews__reviewer"):
        approved = {r.reviewer.username for r in postmortem.reviews.all() if r.decision == Review.Decision.APPROVE}
        waiting = sorted(u.username for u in postmortem.reviewers.all() if u.username not in approved)
        reviewer = next((u for u in waiting if u in people and u != facilitator), None)
        if reviewer:
            break
    taken = {facilitator, reviewer}
    owner = (
        ActionItem.objects.open()
        .filter(owner__username__in=people - taken)
        .values("owner__username")
        .annotate(n=Count("id"))
        .order_by("-n", "owner__username")
        .values_list("owner__username", flat=True)
        .first()
    )
    taken.add(owner)
    lead = next((t.lead for t in TEAMS if t.lead not in taken), None)
    roles = [("facilitator", facilitator), ("reviewer", reviewer), ("item owner", owner), ("team lead", lead)]
    logins = [(role, username) for role, username in roles if username]
    for user in user_model.objects.filter(username__in=[username for _, username in logins]):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return logins


def demo_data_present() -> bool:
    """Whether the demo organisation has already been created (its first persona exists)."""
    return get_user_model().objects.filter(username=MARKER_USERNAME).exists()


def demo_counts() -> dict[str, int]:
    """Row counts worth reporting after a run."""
    counts = {
        "teams": Team.objects.count(),
        "users": get_user_model().objects.count(),
        "services": Service.objects.count(),
        "incidents": Incident.objects.count(),
        "open incidents": Incident.objects.open().count(),
        "timeline events": TimelineEvent.objects.count(),
        "severity changes": SeverityChange.objects.count(),
        "postmortems": Postmortem.objects.count(),
        "reviews": Review.objects.count(),
        "action items": ActionItem.objects.count(),
        "overdue action items": ActionItem.objects.overdue().count(),
        "action item changes": ActionItemChange.objects.count(),
        "repeat links": RepeatLink.objects.count(),
    }
    for row in Postmortem.objects.values("status").annotate(n=Count("id")).order_by("status"):
        counts[f"postmortems {row['status']}"] = row["n"]
    for row in ActionItem.objects.values("status").annotate(n=Count("id")).order_by("status"):
        counts[f"action items {row['status']}"] = row["n"]
    return counts


def build_demo(seed: int = DEFAULT_SEED, now: datetime | None = None) -> DemoResult:
    """Create the demo organisation unless it exists; always ensure the demo login.

    Everything is written in one transaction, so a failure leaves nothing behind.
    ``now`` anchors the year of incidents (default: the current time).
    """
    with transaction.atomic():
        created = not demo_data_present()
        if created:
            _Builder(random.Random(seed), now or timezone.now()).build()
        else:
            ensure_demo_login()
        personas = ensure_persona_logins()
    return DemoResult(created=created, counts=demo_counts(), personas=personas)
