"""Better keyword rules for the seeded failure classes (repeat detection, issue 13).

The rules suggest an incident's failure classes from its text; cross-organisation repeats were missed
when a write-up said the same thing in other words ("a content update sent to all hosts at once",
"an upgrade stalled elections", "rm'd the data directory"), and some rules matched too much (any
"kernel" or "routing", a licence's expiry, any "configuration change"). The classes are editable in
the admin: a class is updated only while its keywords are still those migration 0006 seeded, so an
admin's edit is kept. Reversing restores the seeded rules on the classes that still have these.
"""

from django.db import migrations

# (slug, the keywords 0006 seeded, the keywords now): this migration's own copy, so that later
# edits to ``incidents.repeats.DEFAULT_FAILURE_CLASSES`` do not change history.
KEYWORDS = [
    (
        "expired-credential",
        # before
        (
            "certificat|cert|tls|ssl|x509|x.509|ca|root ca + expir|renew|lapse|not after\n"
            "credential|token|secret|password|key|keys|domain|licen|subscription + expir|renew|lapse\n"
            "expired certificat|expired cert|expired token|expired credential|expired key"
            "|expired domain"
        ),
        # after
        (
            "certificat|cert|tls|ssl|x509|x.509|ca|root ca|intermediate + expir|renew|lapse|not after"
            "|validity\n"
            "credential|token|secret|password|key|keys|domain + expir|renew|lapse\n"
            "expired certificat|expired cert|expired token|expired credential|expired key"
            "|expired domain"
        ),
    ),
    (
        "config-push",
        # before
        (
            "config|setting|feature flag|flag|rule|rules|policy|policies|manifest|allowlist"
            "|blocklist + push|propagat|rolled out|roll out|rollout|global|fleet|every|all region"
            "|all data|deployed|applied\n"
            "configuration change|config change|bad config|invalid config|malformed config"
        ),
        # after
        (
            "config|setting|feature flag|flag|rule|rules|policy|policies|manifest|allowlist|blocklist"
            "|content update|feature file|rule file|data file|template + push|propagat|rolled out"
            "|roll out|rollout|global|fleet|every|all region|all data|deployed|applied|at once"
            "|in one step|in one go|simultaneous|worldwide|everywhere|whole network|entire network"
            "|distributed to|all online|all host|all server|all machine\n"
            "bad config|invalid config|malformed config|config push"
        ),
    ),
    (
        "deploy-regression",
        # before
        (
            "deploy|release|build|version|rollout|shipped|new code|code change + regress|bug|introduc"
            "|broke|defect|rolled back|roll back|rollback|revert\n"
            "regression"
        ),
        # after
        (
            "deploy|release|build|version|rollout|rolled|shipped|new code|code change|upgrad|new binary"
            "|code path + regress|bug|introduc|broke|defect|rolled back|roll back|rollback|revert|crash"
            "|panic|stall|hang|hung|loop|incompatib|renamed|null pointer|nil pointer|segfault\n"
            "regression"
        ),
    ),
    (
        "capacity",
        # before
        (
            "exhaust|saturat|overload|oom|out of memory|ran out|run out|running out|capacity|disk full"
            "|disk space|quota|starv|maxed|max connections|connection limit|limit was reached"
            "|hit the limit|cpu to 100"
        ),
        # after
        (
            "exhaust|saturat|overload|oom|out of memory|ran out|run out|running out|capacity|disk full"
            "|disk space|quota|starv|maxed|max connections|connection limit|limit was reached"
            "|hit the limit|cpu to 100|ceiling|maximum number|max number|too many|overwhelm"
        ),
    ),
    (
        "dependency-outage",
        # before
        (
            "upstream|third-party|third party|vendor|provider|dependency|dependencies|external"
            "|cloud provider|saas + outage|down|unavailab|fail|degrad|incident|error|disrupt"
        ),
        # after
        (
            "upstream|third-party|third party|vendor|provider|dependency|dependencies|external"
            "|cloud provider|saas|payment processor|card processor|payment gateway + outage|down"
            "|unavailab|fail|degrad|incident|error|disrupt\n"
            "package|packages|registry|library|libraries + unpublish|withdr|yank|disappear|removed"
            "|deleted"
        ),
    ),
    (
        "routing-bgp",
        # before
        (
            "bgp|route leak|routing|anycast|backbone|peering|autonomous system|route reflector\n"
            "prefix|prefixes|route|routes + announc|withdr|advertis|leak|hijack|propagat"
        ),
        # after
        (
            "bgp|route leak|anycast|peering|autonomous system|route reflector|as path|as-path"
            "|more-specific|rpki\n"
            "routing|prefix|prefixes|route|routes + announc|withdr|advertis|leak|hijack|propagat|filter"
            "|polic"
        ),
    ),
    (
        "data-deletion",
        # before
        (
            "delet|purg|truncat|wipe|wiped|erase|rm -rf|drop table|dropped the|overwr|removed + data"
            "|table|database|record|rows|bucket|volume|backup|files|director|repositor|account|site"
            "|customer\n"
            "data loss|lost data|deleted data"
        ),
        # after
        (
            "delet|purg|truncat|wipe|wiped|erase|rm|rm -rf|drop table|dropped the|overwr|removed + data"
            "|table|database|record|rows|bucket|volume|backup|files|director|repositor|account|site"
            "|customer|environment|state\n"
            "data loss|lost data|deleted data|destructive command"
        ),
    ),
    (
        "os-kernel-update",
        # before
        (
            "kernel\n"
            "operating system|os|ubuntu|debian|centos|rhel|linux|windows|glibc|systemd|libc|base image"
            "|ami + updat|upgrad|patch|unattended"
        ),
        # after
        (
            "kernel + updat|upgrad|patch|version|regress|bump|new\n"
            "operating system|os|ubuntu|debian|centos|rhel|linux|glibc|systemd|libc|base image"
            "|ami + updat|upgrad|patch|unattended\n"
            "windows update|unattended upgrade|unattended-upgrade|package update|security update"
            "|security patch"
        ),
    ),
]

# The description of expired credentials no longer names a licence (not a credential).
CREDENTIAL_DESCRIPTION = (
    "A certificate, key, token, password, domain or licence expired or was not renewed.",
    "A certificate, key, token, password or domain registration expired or was not renewed.",
)


def _replace(apps, before: int, after: int) -> None:
    FailureClass = apps.get_model("incidents", "FailureClass")
    for slug, *keywords in KEYWORDS:
        FailureClass.objects.filter(slug=slug, keywords=keywords[before]).update(keywords=keywords[after])
    FailureClass.objects.filter(slug="expired-credential", description=CREDENTIAL_DESCRIPTION[before]).update(
        description=CREDENTIAL_DESCRIPTION[after]
    )


def improve(apps, schema_editor):
    _replace(apps, 0, 1)


def restore(apps, schema_editor):
    _replace(apps, 1, 0)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0007_import_ids")]

    operations = [migrations.RunPython(improve, restore)]
