"""Seed a starter list of failure classes, with the keyword rules that suggest them from text.

They stay editable in the admin; this runs once and never overwrites an edit. A copy of the list
lives in ``incidents.repeats.DEFAULT_FAILURE_CLASSES`` (for scoring without a database); a
migration keeps its own copy so that later edits there do not change history.
"""

from django.db import migrations

FAILURE_CLASSES = [
    (
        "Expired certificate or credential",
        "expired-credential",
        "A certificate, key, token, password, domain or licence expired or was not renewed.",
        "certificat|cert|tls|ssl|x509|x.509|ca|root ca + expir|renew|lapse|not after\n"
        "credential|token|secret|password|key|keys|domain|licen|subscription + expir|renew|lapse\n"
        "expired certificat|expired cert|expired token|expired credential|expired key|expired domain",
    ),
    (
        "Config push",
        "config-push",
        "A configuration, rule, feature flag or policy change pushed to many machines at once.",
        "config|setting|feature flag|flag|rule|rules|policy|policies|manifest|allowlist|blocklist "
        "+ push|propagat|rolled out|roll out|rollout|global|fleet|every|all region|all data|deployed|applied\n"
        "configuration change|config change|bad config|invalid config|malformed config",
    ),
    (
        "Deploy regression",
        "deploy-regression",
        "A release, build or upgrade of our own software introduced a bug.",
        "deploy|release|build|version|rollout|shipped|new code|code change "
        "+ regress|bug|introduc|broke|defect|rolled back|roll back|rollback|revert\n"
        "regression",
    ),
    (
        "Capacity or exhaustion",
        "capacity",
        "A pool, limit, disk, memory, CPU or quota ran out under load.",
        "exhaust|saturat|overload|oom|out of memory|ran out|run out|running out|capacity|disk full|"
        "disk space|quota|starv|maxed|max connections|connection limit|limit was reached|hit the limit|cpu to 100",
    ),
    (
        "Dependency outage",
        "dependency-outage",
        "A third-party or upstream service we rely on failed.",
        "upstream|third-party|third party|vendor|provider|dependency|dependencies|external|cloud provider|saas "
        "+ outage|down|unavailab|fail|degrad|incident|error|disrupt",
    ),
    (
        "DNS",
        "dns",
        "Name resolution failed: resolvers, zones, records, DNSSEC.",
        "dns|dnssec|resolver|nameserver|name server|servfail|nxdomain|ndots|route 53|route53|name resolution|"
        "zone file|ds record|cname",
    ),
    (
        "Routing or BGP",
        "routing-bgp",
        "Routes were withdrawn, leaked or hijacked, or the backbone's routing broke.",
        "bgp|route leak|routing|anycast|backbone|peering|autonomous system|route reflector\n"
        "prefix|prefixes|route|routes + announc|withdr|advertis|leak|hijack|propagat",
    ),
    (
        "Data deletion",
        "data-deletion",
        "Data was deleted, dropped, truncated or overwritten by a person, script or job.",
        "delet|purg|truncat|wipe|wiped|erase|rm -rf|drop table|dropped the|overwr|removed "
        "+ data|table|database|record|rows|bucket|volume|backup|files|director|repositor|account|site|customer\n"
        "data loss|lost data|deleted data",
    ),
    (
        "Time or date bug",
        "time-date",
        "Leap seconds and days, time zones, daylight saving, clocks and date arithmetic.",
        "leap|daylight|dst|time zone|timezone|clock skew|clock drift|ntp|y2k|february 29|feb 29|epoch|"
        "year-end|new year|2038|date calculation|date arithmetic|date handling|date parsing|negative time|"
        "time went backwards|went backwards",
    ),
    (
        "OS or kernel update",
        "os-kernel-update",
        "An operating system, kernel or base image update or patch changed behaviour.",
        "kernel\n"
        "operating system|os|ubuntu|debian|centos|rhel|linux|windows|glibc|systemd|libc|base image|ami "
        "+ updat|upgrad|patch|unattended",
    ),
    (
        "Retry storm",
        "retry-storm",
        "Clients' retries, reconnects or a thundering herd amplified a small failure.",
        "retr|reconnect + storm|amplif|flood|herd|overwhelm|surge|spike|backoff|back off|avalanche|at once\n"
        "thundering herd|stampede|retry storm",
    ),
    (
        "Hardware or power failure",
        "hardware-power",
        "Power, cooling, fibre, disks or other hardware failed.",
        "power|ups|generator|cooling|chiller|fiber|fibre|cable|hardware|psu|line card|data center|datacenter "
        "+ fail|cut|loss|lost|outage|fault|overheat|died",
    ),
    (
        "Failover or replication",
        "failover-replication",
        "A database or cluster failover, split brain or replication lag or breakage.",
        "replica|replication|failover|fail over|failed over|split brain|split-brain|primary|leader election "
        "+ lag|fail|promot|broke|diverg|inconsist|stop|behind|partition",
    ),
]


def seed(apps, schema_editor):
    FailureClass = apps.get_model("incidents", "FailureClass")
    for name, slug, description, keywords in FAILURE_CLASSES:
        FailureClass.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "keywords": keywords}
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0005_failure_classes")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
