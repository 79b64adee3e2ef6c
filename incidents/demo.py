"""The demo organisation (``manage.py seed_demo``): six teams, their people and services, and a year
of incidents in every state, so every page has something real to show.

The data are files in ``demo_data/``: ``organisation.json`` (teams, people, services) and
``incidents.jsonl`` (incidents, timelines, postmortems, reviews, action items with their history,
severity changes and repeat links, in the archive format of docs/import.md). The organisation is
created here; the incidents go in through the archive importer, moved from the day the files
were written (``anchor``) to today, so overdue items stay overdue whatever the day of the run,
and renumbered (references in texts too) to follow on from those already taken in the years the
incidents move to.
The import runs in archive mode: no email, no review request, no reminder.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Q
from django.utils.dateparse import parse_datetime

from actions.models import ActionItem, ActionItemChange
from incidents.models import (
    Incident,
    ReferenceSequence,
    RepeatLink,
    Service,
    Severity,
    SeverityChange,
    Team,
    TimelineEvent,
)
from postmortems.importer import Shift, import_archive
from postmortems.models import Postmortem, Review

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
EMAIL_DOMAIN = "acme.example"
DATA = Path(__file__).resolve().parent / "demo_data"
ORGANISATION = DATA / "organisation.json"
INCIDENTS = DATA / "incidents.jsonl"
REFERENCE = re.compile(r"\b(?:INC-\d{4}-\d{4,}|AI-\d{4,})\b")


class DemoDataError(RuntimeError):
    """The demo cannot be built (e.g. the migrations that seed the taxonomies were not run)."""


@cache
def organisation() -> dict[str, Any]:
    """The demo's teams, people and services, and when its incidents were written (``anchor``)."""
    return json.loads(ORGANISATION.read_text(encoding="utf-8"))


def _people() -> list[dict[str, str]]:
    return organisation()["people"]


def _teams() -> list[dict[str, str]]:
    return organisation()["teams"]


@dataclass
class DemoResult:
    """What :func:`build_demo` did, for the command's summary."""

    created: bool
    username: str = DEMO_USERNAME
    password: str = DEMO_PASSWORD
    counts: dict[str, int] = field(default_factory=dict)
    personas: list[tuple[str, str]] = field(default_factory=list)


def build_organisation() -> None:
    """The people (no password: the personas get theirs from :func:`ensure_persona_logins`),
    the teams with their leads and members, and the services."""
    user_model = get_user_model()
    people = [p for p in _people() if p["username"] != DEMO_USERNAME]
    existing = set(
        user_model.objects.filter(username__in=[p["username"] for p in people]).values_list("username", flat=True)
    )
    new = []
    for p in people:
        if p["username"] in existing:
            continue
        user = user_model(
            username=p["username"],
            first_name=p["first_name"],
            last_name=p["last_name"],
            email=f"{p['username']}@{EMAIL_DOMAIN}",
        )
        user.set_unusable_password()
        new.append(user)
    user_model.objects.bulk_create(new)
    users = {u.username: u for u in user_model.objects.filter(username__in=[p["username"] for p in people])}
    users[DEMO_USERNAME] = ensure_demo_login()
    teams = {}
    for spec in _teams():
        team, _ = Team.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "lead": users[spec["lead"]],
                "digest_email": f"{spec['slug']}-team@{EMAIL_DOMAIN}",
            },
        )
        team.members.add(*(users[p["username"]] for p in _people() if p["team"] == spec["slug"]))
        teams[spec["slug"]] = team
    for spec in organisation()["services"]:
        Service.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "team": teams[spec["team"]],
                "description": spec["description"],
                "runbook_url": f"https://runbooks.{EMAIL_DOMAIN}/{spec['team']}/{spec['slug']}",
            },
        )


def import_incidents() -> None:
    """The year of incidents, moved to today, through the archive importer (archive mode)."""
    missing = {"SEV1", "SEV2", "SEV3", "SEV4"} - set(Severity.objects.values_list("name", flat=True))
    if missing:
        raise DemoDataError(
            f"Missing severities: {', '.join(sorted(missing))}. "
            "Run `manage.py migrate` first (a data migration seeds them)."
        )
    anchor = parse_datetime(organisation()["anchor"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / INCIDENTS.name
        path.write_text(_renumbered(INCIDENTS.read_text(encoding="utf-8"), Shift.since(anchor)), encoding="utf-8")
        # chase: the demo's overdue items are chased like any others; repeats: the links are in the file.
        report = import_archive([path], shift_from=anchor, chase=True, repeats=False)
    if report.refused:
        raise DemoDataError("The demo data were refused: " + "; ".join(report.refused))


def _renumbered(text: str, shift: Shift) -> str:
    """The demo file with its references (``INC-2025-0007``, ``AI-0012``), wherever they appear,
    given the numbers they get today: incidents numbered within the year they move to, both
    following on from the numbers already taken."""
    renamed: dict[str, str] = {}
    taken = dict(ReferenceSequence.objects.values_list("name", "last_value"))
    numbers: Counter[str] = Counter()
    for line in text.splitlines():
        record = json.loads(line)
        incident = record["incident"]
        sequence = f"INC-{(parse_datetime(incident['declared_at']) + shift.by).year}"
        numbers[sequence] += 1
        renamed[incident["reference"]] = f"{sequence}-{taken.get(sequence, 0) + numbers[sequence]:04d}"
        for item in record.get("action_items") or []:
            numbers["AI"] += 1
            renamed[item["reference"]] = f"AI-{taken.get('AI', 0) + numbers['AI']:04d}"
    return REFERENCE.sub(lambda match: renamed.get(match[0], match[0]), text)


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
    people = {p["username"] for p in _people() if p["username"] != DEMO_USERNAME}
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
    lead = next((t["lead"] for t in _teams() if t["lead"] not in taken), None)
    roles = [("facilitator", facilitator), ("reviewer", reviewer), ("item owner", owner), ("team lead", lead)]
    logins = [(role, username) for role, username in roles if username]
    for user in user_model.objects.filter(username__in=[username for _, username in logins]):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return logins


def demo_data_present() -> bool:
    """Whether the demo organisation has already been created (its first person exists)."""
    return get_user_model().objects.filter(username=_people()[0]["username"]).exists()


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


def build_demo() -> DemoResult:
    """Create the demo organisation unless it exists; always ensure the demo login.

    Everything is written in one transaction, so a failure leaves nothing behind.
    """
    with transaction.atomic():
        created = not demo_data_present()
        if created:
            build_organisation()
            import_incidents()
        else:
            ensure_demo_login()
        personas = ensure_persona_logins()
    return DemoResult(created=created, counts=demo_counts(), personas=personas)
