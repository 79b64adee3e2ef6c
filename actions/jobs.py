"""The periodic jobs: chase overdue items, weekly digests, postmortem-due reminders.

Each job is a service the Celery task (and ``manage.py run_job``) calls. They share
three rules:

- **Local time.** Each recipient has a time zone (``NotificationPreference``, else
  ``settings.TIME_ZONE``). Jobs run hourly and act for the users for whom it is now the
  right local day and hour: chasing on ``ACTION_CHASE_WEEKDAYS`` from
  ``ACTION_CHASE_HOUR``, digests on ``ACTION_DIGEST_WEEKDAY`` from ``ACTION_DIGEST_HOUR``
  to the end of that day (a missed hour catches up). Days overdue count calendar days
  in the owner's zone: an item due Friday is one day overdue on Saturday.
- **Exactly once.** Every message is claimed in the ledger under a period key: a
  reminder step ("2026-03-06+4d": the due date and the step, so moving the due date
  starts the steps again), an escalation per due date ("2026-03-06+escalation"), a digest
  per ISO week ("2026-W11"). A step reached while no reminder could go out (a weekend,
  the job down) is sent once at the next run; steps skipped over are not sent.
- **Bounded work.** Rows are read in keyset-paginated chunks (or a streaming iterator),
  recipients and visibility are looked up once per chunk, and messages are claimed in
  bulk: queries grow with chunks, never with items.

What an email shows: an item's reference, title, due date, status and link to
everyone it goes to; its incident's reference and title only when every signed-in
user may read the postmortem (see ``visible_to_everyone``). No email carries an item's
description or any postmortem section text: the linked page shows those, to those
who may read them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from itertools import groupby
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from incidents.models import Team
from postmortems.models import Postmortem

from .models import ActionItem, Notification, NotificationPreference
from .notifications import Message, absolute_url, claim_many

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000
# Owners per digest batch.
DIGEST_BATCH = 500
# At most this many items listed per group in one email; the counts stay exact.
LIST_LIMIT = 50
TEAM_LIST_LIMIT = 10
ORG_LIST_LIMIT = 20

ITEM_FIELDS = (
    "pk",
    "reference",
    "title",
    "due_date",
    "priority",
    "status",
    "owner_id",
    "team_id",
    "team__name",
    "team__slug",
    "team__lead_id",
    "postmortem_id",
    "postmortem__facilitator_id",
    "postmortem__incident__reference",
    "postmortem__incident__title",
)


# ---------------------------------------------------------------- time and steps


def reminder_step(days_overdue: int) -> int | None:
    """The latest reminder step reached after ``days_overdue`` days (None before the first).

    Past the last configured step the interval keeps doubling: 64, 128, 256, ...
    """
    steps = settings.ACTION_REMINDER_STEPS
    if days_overdue < steps[0]:
        return None
    step = [step for step in steps if step <= days_overdue][-1]
    if step == steps[-1]:
        while step * 2 <= days_overdue:
            step *= 2
    return step


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def time_zones() -> list[str]:
    """Every time zone some user has chosen, plus the default."""
    chosen = NotificationPreference.objects.order_by().values_list("time_zone", flat=True).distinct()
    return sorted(set(chosen) | {settings.TIME_ZONE})


def in_zone(prefix: str, zone: str) -> Q:
    """Rows whose user (the foreign key ``prefix``) lives in ``zone``; no preference (or no user) means the default.

    Written as (NOT) IN subqueries rather than a join, so the database hashes the few
    preference rows instead of joining every item to them.
    """
    chosen = NotificationPreference.objects.filter(time_zone=zone).values("user_id")
    if zone != settings.TIME_ZONE:
        return Q(**{f"{prefix}_id__in": chosen})
    elsewhere = NotificationPreference.objects.exclude(time_zone=zone).values("user_id")
    return Q(**{f"{prefix}__isnull": True}) | ~Q(**{f"{prefix}_id__in": elsewhere})


def opted_out(prefix: str) -> Q:
    return Q(**{f"{prefix}_id__in": NotificationPreference.objects.filter(digest_opt_out=True).values("user_id")})


def is_chase_time(local: datetime) -> bool:
    return local.weekday() in settings.ACTION_CHASE_WEEKDAYS and local.hour >= settings.ACTION_CHASE_HOUR


def is_digest_time(local: datetime) -> bool:
    return local.weekday() == settings.ACTION_DIGEST_WEEKDAY and local.hour >= settings.ACTION_DIGEST_HOUR


def _zones_at(now: datetime, is_time) -> Iterator[tuple[str, date]]:
    """(zone, local date) for each zone where ``is_time`` holds now."""
    for zone in time_zones():
        local = now.astimezone(ZoneInfo(zone))
        if is_time(local):
            yield zone, local.date()


# ---------------------------------------------------------------- lookups per chunk


def _users(ids: Iterable[int | None]) -> dict[int, object]:
    """Users by id, with only what messages and visibility need (one query)."""
    wanted = {pk for pk in ids if pk}
    if not wanted:
        return {}
    fields = ("pk", "username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser")
    return get_user_model().objects.only(*fields).in_bulk(wanted)


def _nobody():
    """An active, signed-in user who belongs to no team and works on no postmortem (never saved)."""
    return get_user_model()(pk=0, username="", is_active=True)


def visible_to_everyone(postmortem_ids: set[int]) -> set[int]:
    """Those of ``postmortem_ids`` that every signed-in user may read (one query).

    Asked of ``Postmortem.objects.visible_to`` for a user with no teams and no part in any
    postmortem: whatever they may read, everyone may. Emails show an item's incident only
    for these; for the rest (restricted, or not yet published) they leave it out, for
    insiders too, and the link leads to the page, which applies the full rule per reader.
    This keeps the rule in one place and the jobs at one question per chunk.
    """
    if not postmortem_ids:
        return set()
    return set(Postmortem.objects.visible_to(_nobody()).filter(pk__in=postmortem_ids).values_list("pk", flat=True))


class PageLinks:
    """Absolute links to one kind of page (``viewname`` taking one argument, e.g. an item's
    reference or a team's slug) without a URL resolver call per row."""

    def __init__(self, viewname: str, placeholder: str):
        self.before, _, self.after = absolute_url(reverse(viewname, args=[placeholder])).rpartition(placeholder)

    def __call__(self, key: str) -> str:
        return f"{self.before}{key}{self.after}" if key else ""


class ItemLinks(PageLinks):
    """Links to item pages, and to the team pages of the teams the emails name."""

    def __init__(self):
        super().__init__("actions:detail", "AI-0")
        self.team = PageLinks("metrics:team", "team-0")


def _postmortem_url(postmortem_id: int) -> str:
    try:
        return absolute_url(Postmortem(pk=postmortem_id).get_absolute_url())
    except NoReverseMatch:  # the postmortem pages are not mounted
        return ""


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _item_context(row: dict, today: date, show_incident: bool, links: ItemLinks, *, show_title: bool = True) -> dict:
    """What an email says about one item (see the module docstring for what is left out).
    ``show_title`` is false for a reader who may not read the item (a list address)."""
    due = row["due_date"]
    overdue = max(0, (today - due).days) if due else 0
    return {
        "reference": row["reference"],
        "title": row["title"] if show_title else "",
        "due": f"{due:%a} {due.day} {due:%b %Y}" if due else "",
        "days_overdue": overdue,
        "overdue": _days(overdue),
        "priority": ActionItem.Priority(row["priority"]).label,
        "status": ActionItem.Status(row["status"]).label,
        "team": row.get("team__name") or "",
        "team_url": links.team(row.get("team__slug") or ""),
        "url": links(row["reference"]),
        "incident": (
            {"reference": row["postmortem__incident__reference"], "title": row["postmortem__incident__title"]}
            if show_incident
            else None
        ),
    }


def _name(user) -> str:
    return user.get_full_name() or user.username


# ---------------------------------------------------------------- chase overdue


def _chunks(queryset, size: int = CHUNK_SIZE) -> Iterator[list[dict]]:
    """Keyset pagination by primary key: each chunk is one query, memory is one chunk."""
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk").values(*ITEM_FIELDS)[:size])
        if not rows:
            return
        yield rows
        last = rows[-1]["pk"]


def _owner_team_leads(owner_ids: set[int]) -> dict[int, set[int]]:
    """Leads of the teams each owner belongs to (one query), for items filed under no team."""
    leads: dict[int, set[int]] = defaultdict(set)
    rows = Team.objects.filter(members__in=owner_ids, lead__isnull=False).values_list("members", "lead_id")
    for owner_id, lead_id in rows:
        leads[owner_id].add(lead_id)
    return leads


@dataclass
class ChaseCounts:
    reminders: int = 0
    escalations: int = 0


def chase_overdue_items(*, now: datetime | None = None, enqueue: bool = True, chunk_size: int = CHUNK_SIZE) -> dict:
    """Remind owners of overdue items at growing intervals and escalate long-overdue ones.

    Every open item is chased, whatever state its incident or postmortem is in.
    Returns how many reminders and escalations this run claimed.
    """
    now = now or timezone.now()
    counts = ChaseCounts()
    for zone, today in _zones_at(now, is_chase_time):
        # An imported item whose due date had passed joins the chase once its due date moves.
        items = (
            ActionItem.objects.overdue(today).filter(in_zone("owner", zone)).exclude(unchased_due_date=F("due_date"))
        )
        for rows in _chunks(items, chunk_size):
            _chase_chunk(rows, today, counts, enqueue)
    logger.info("Chase claimed %s reminders and %s escalations", counts.reminders, counts.escalations)
    return {"reminders": counts.reminders, "escalations": counts.escalations}


def _chase_chunk(rows: list[dict], today: date, counts: ChaseCounts, enqueue: bool) -> None:
    escalate_after = settings.ACTION_ESCALATE_AFTER_DAYS
    teamless_owners = {r["owner_id"] for r in rows if r["owner_id"] and not r["team__lead_id"]}
    owner_leads = _owner_team_leads(teamless_owners) if teamless_owners else {}
    plan: list[tuple[str, int, dict]] = []  # (kind, recipient id, row)
    for row in rows:
        days = (today - row["due_date"]).days
        if row["owner_id"] and reminder_step(days):
            plan.append((Notification.Kind.REMINDER, row["owner_id"], row))
        if days >= escalate_after:
            leads = {row["team__lead_id"]} if row["team__lead_id"] else owner_leads.get(row["owner_id"], set())
            for recipient_id in leads | {row["postmortem__facilitator_id"]}:
                if recipient_id and recipient_id != row["owner_id"]:
                    plan.append((Notification.Kind.ESCALATION, recipient_id, row))
    users = _users([recipient for _, recipient, _ in plan] + [row["owner_id"] for row in rows])
    visible, links = visible_to_everyone({row["postmortem_id"] for row in rows}), ItemLinks()
    messages = []
    for kind, recipient_id, row in plan:
        user = users.get(recipient_id)
        if not (user and user.is_active and user.email):
            continue
        messages.append(_chase_message(kind, user, users.get(row["owner_id"]), row, today, visible, links))
    ids = claim_many(messages, enqueue=enqueue)
    created = set(ids)
    if created:
        kinds = dict(Notification.objects.filter(pk__in=created).values_list("pk", "kind"))
        counts.reminders += sum(1 for kind in kinds.values() if kind == Notification.Kind.REMINDER)
        counts.escalations += sum(1 for kind in kinds.values() if kind == Notification.Kind.ESCALATION)


def _chase_message(kind: str, user, owner, row: dict, today: date, visible: set, links: ItemLinks) -> Message:
    days = (today - row["due_date"]).days
    if kind == Notification.Kind.REMINDER:
        period, template = f"{row['due_date'].isoformat()}+{reminder_step(days)}d", "emails/reminder"
    else:
        period, template = f"{row['due_date'].isoformat()}+escalation", "emails/escalation"

    def context() -> dict:
        return {
            "recipient_name": _name(user),
            "owner_name": _name(owner) if owner else "nobody",
            "item": _item_context(row, today, row["postmortem_id"] in visible, links),
            "escalate_after": settings.ACTION_ESCALATE_AFTER_DAYS,
        }

    return Message(
        kind=kind,
        recipient_email=user.email,
        recipient_id=user.pk,
        period_key=period,
        subject_key=row["reference"],
        item_id=row["pk"],
        template=template,
        context=context,
    )


# ---------------------------------------------------------------- weekly digests


def overdue_bucket(days: int) -> str:
    if days <= 7:
        return "days"
    if days <= 28:
        return "weeks"
    return "older"


def send_digests(*, now: datetime | None = None, enqueue: bool = True) -> dict:
    """Claim the weekly digests due now: owners', team leads', and the organisation's.

    Each goes once per ISO week (of the recipient's local date). Owners and leads who
    opted out of digests get none; the org digest goes to ``settings.ORG_DIGEST_EMAIL``.
    """
    now = now or timezone.now()
    counts = {"digests": 0, "team_digests": 0, "org_digests": 0}
    for zone, today in _zones_at(now, is_digest_time):
        counts["digests"] += _owner_digests(zone, today, enqueue)
        counts["team_digests"] += _team_digests(zone, today, enqueue)
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    if settings.ORG_DIGEST_EMAIL and is_digest_time(local):
        counts["org_digests"] += _org_digest(local.date(), enqueue)
    logger.info("Digests claimed: %s", counts)
    return counts


def _owner_digests(zone: str, today: date, enqueue: bool) -> int:
    soon = today + timedelta(days=settings.ACTION_DUE_SOON_DAYS)
    rows = (
        ActionItem.objects.open()
        .filter(in_zone("owner", zone), owner__is_active=True, due_date__lte=soon)
        .exclude(owner__email="")
        .exclude(opted_out("owner"))
        .order_by("owner_id", "due_date", "pk")
        .values(*ITEM_FIELDS)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    claimed = 0
    batch: list[tuple[int, list[dict]]] = []
    for owner_id, items in groupby(rows, key=lambda row: row["owner_id"]):
        batch.append((owner_id, list(items)))
        if len(batch) >= DIGEST_BATCH:
            claimed += _claim_owner_digests(batch, today, enqueue)
            batch = []
    if batch:
        claimed += _claim_owner_digests(batch, today, enqueue)
    return claimed


def _claim_owner_digests(batch: list[tuple[int, list[dict]]], today: date, enqueue: bool) -> int:
    users = _users(owner_id for owner_id, _ in batch)
    visible = visible_to_everyone({row["postmortem_id"] for _, items in batch for row in items})
    links = ItemLinks()
    messages = []
    for owner_id, items in batch:
        user = users.get(owner_id)
        if user is None:
            continue
        context = partial(_owner_digest_context, user, items, today, visible, links)
        messages.append(
            Message(
                kind=Notification.Kind.DIGEST,
                recipient_email=user.email,
                recipient_id=user.pk,
                period_key=iso_week(today),
                template="emails/digest",
                context=context,
            )
        )
    return len(claim_many(messages, enqueue=enqueue))


def _owner_digest_context(user, items: list[dict], today: date, visible: set, links: ItemLinks) -> dict:
    groups: dict[str, list[dict]] = {"days": [], "weeks": [], "older": [], "soon": []}
    totals = dict.fromkeys(groups, 0)
    for row in items:
        days = (today - row["due_date"]).days
        group = overdue_bucket(days) if days > 0 else "soon"
        totals[group] += 1
        if len(groups[group]) < LIST_LIMIT:
            groups[group].append(_item_context(row, today, row["postmortem_id"] in visible, links))
    overdue = [
        {"label": label, "items": groups[key], "total": totals[key]}
        for key, label in (
            ("older", "Over 4 weeks overdue"),
            ("weeks", "1–4 weeks overdue"),
            ("days", "1–7 days overdue"),
        )
        if totals[key]
    ]
    return {
        "recipient_name": _name(user),
        "week": iso_week(today),
        "overdue_groups": overdue,
        "overdue_total": totals["days"] + totals["weeks"] + totals["older"],
        "due_soon": groups["soon"],
        "due_soon_total": totals["soon"],
        "due_soon_days": settings.ACTION_DUE_SOON_DAYS,
        "mine_url": absolute_url(reverse("actions:mine")),
        "preferences_url": absolute_url(reverse("actions:preferences")),
    }


def _summary_counts(items, today: date, *group_by: str):
    """Open, overdue (by age) and due-soon counts per ``group_by``, aggregated in the database."""
    soon = today + timedelta(days=settings.ACTION_DUE_SOON_DAYS)
    week, month = today - timedelta(days=7), today - timedelta(days=28)
    return (
        items.order_by()
        .values(*group_by)
        .annotate(
            open=Count("pk"),
            overdue=Count("pk", filter=Q(due_date__lt=today)),
            overdue_days=Count("pk", filter=Q(due_date__lt=today, due_date__gte=week)),
            overdue_weeks=Count("pk", filter=Q(due_date__lt=week, due_date__gte=month)),
            overdue_older=Count("pk", filter=Q(due_date__lt=month)),
            due_soon=Count("pk", filter=Q(due_date__gte=today, due_date__lte=soon)),
        )
    )


def _oldest_overdue(items, today: date, per_team: int) -> dict[int, list[dict]]:
    """The ``per_team`` longest-overdue items of each team (one query, a window function)."""
    ranked = (
        items.overdue(today)
        .annotate(rank=Window(RowNumber(), partition_by=[F("team_id")], order_by=[F("due_date").asc(), F("pk").asc()]))
        .filter(rank__lte=per_team)
        .order_by("team_id", "rank")
        .values(*ITEM_FIELDS, "owner__username", "owner__first_name", "owner__last_name")
    )
    oldest: dict[int, list[dict]] = defaultdict(list)
    for row in ranked:
        oldest[row["team_id"]].append(row)
    return oldest


def _team_digests(zone: str, today: date, enqueue: bool) -> int:
    teams = list(
        Team.objects.filter(Q(lead__isnull=False) | ~Q(digest_email=""))
        .filter(in_zone("lead", zone))
        .select_related("lead__notification_preference")
        .order_by("pk")
    )
    claimed = 0
    for start in range(0, len(teams), DIGEST_BATCH):
        claimed += _claim_team_digests(teams[start : start + DIGEST_BATCH], today, enqueue)
    return claimed


def _claim_team_digests(teams: list[Team], today: date, enqueue: bool) -> int:
    items = ActionItem.objects.open().filter(team__in=teams)
    counts = {row["team"]: row for row in _summary_counts(items, today, "team")}
    oldest = _oldest_overdue(items, today, TEAM_LIST_LIMIT)
    visible = visible_to_everyone({row["postmortem_id"] for rows in oldest.values() for row in rows})
    links = ItemLinks()
    messages = []
    for team in teams:
        if not counts.get(team.pk, {}).get("open"):
            continue
        for user, address in _team_recipients(team):
            context = {
                "recipient_name": _name(user) if user else team.name,
                "team": team.name,
                "team_page_url": links.team(team.slug),
                "team_url": absolute_url(reverse("actions:team", args=[team.slug])),
                "week": iso_week(today),
                "counts": counts[team.pk],
                "oldest": [
                    {
                        # The team's own address (no user) is a list: titles as for the org digest.
                        **_item_context(
                            row,
                            today,
                            row["postmortem_id"] in visible,
                            links,
                            show_title=user is not None or row["postmortem_id"] in visible,
                        ),
                        "owner": " ".join(filter(None, [row["owner__first_name"], row["owner__last_name"]]))
                        or row["owner__username"]
                        or "nobody",
                    }
                    for row in oldest.get(team.pk, [])
                ],
            }
            messages.append(
                Message(
                    kind=Notification.Kind.TEAM_DIGEST,
                    recipient_email=address,
                    recipient_id=user.pk if user else None,
                    subject_key=team.slug[:40],
                    period_key=iso_week(today),
                    template="emails/team_digest",
                    context=context,
                )
            )
    return len(claim_many(messages, enqueue=enqueue))


def _team_recipients(team: Team) -> list[tuple[object | None, str]]:
    """The lead (unless they opted out of digests) and the team's digest address."""
    recipients = []
    lead = team.lead
    if lead and lead.is_active and lead.email:
        preference = getattr(lead, "notification_preference", None)
        if not (preference and preference.digest_opt_out):
            recipients.append((lead, lead.email))
    if team.digest_email:
        recipients.append((None, team.digest_email))
    return recipients


def _org_digest(today: date, enqueue: bool) -> int:
    items, links = ActionItem.objects.open(), ItemLinks()
    # Items of no team come last, on every database.
    by_team = _summary_counts(items, today, "team__name", "team__slug").order_by(F("team__name").asc(nulls_last=True))
    teams = list(by_team)
    for row in teams:
        row["team_url"] = links.team(row["team__slug"] or "")
    totals = {key: sum(row[key] for row in teams) for key in ("open", "overdue", "due_soon")}
    rows = list(items.overdue(today).order_by("due_date", "pk").values(*ITEM_FIELDS)[:ORG_LIST_LIMIT])
    # The organisation's address reaches people who may read no restricted or unpublished
    # postmortem: an item of one shows its reference and link only, by the rule that decides
    # every email's incident line (``visible_to_everyone``).
    public = visible_to_everyone({row["postmortem_id"] for row in rows})
    oldest = [
        _item_context(row, today, row["postmortem_id"] in public, links, show_title=row["postmortem_id"] in public)
        for row in rows
    ]
    context = {
        "week": iso_week(today),
        "teams": teams,
        "totals": totals,
        "oldest": oldest,
        "board_url": absolute_url(reverse("actions:board")),
    }
    message = Message(
        kind=Notification.Kind.ORG_DIGEST,
        recipient_email=settings.ORG_DIGEST_EMAIL,
        period_key=iso_week(today),
        template="emails/org_digest",
        context=context,
    )
    return len(claim_many([message], enqueue=enqueue))


# ---------------------------------------------------------------- postmortems due


def remind_postmortems_due(*, now: datetime | None = None, enqueue: bool = True) -> int:
    """Remind facilitators whose required postmortem is past due and unpublished, at the reminder steps."""
    now = now or timezone.now()
    claimed = 0
    for zone, today in _zones_at(now, is_chase_time):
        late = (
            Postmortem.objects.exclude(status=Postmortem.Status.PUBLISHED)
            .filter(due_date__lt=today, incident__severity__requires_postmortem=True, facilitator__is_active=True)
            .filter(in_zone("facilitator", zone))
            .exclude(facilitator__email="")
        )
        last = 0
        while rows := list(
            late.filter(pk__gt=last)
            .order_by("pk")
            .values("pk", "due_date", "status", "facilitator_id", "incident__reference", "incident__title")[:CHUNK_SIZE]
        ):
            last = rows[-1]["pk"]
            claimed += _claim_postmortems_due(rows, today, enqueue)
    return claimed


def _claim_postmortems_due(rows: list[dict], today: date, enqueue: bool) -> int:
    users = _users(row["facilitator_id"] for row in rows)
    messages = []
    for row in rows:
        days = (today - row["due_date"]).days
        step, user = reminder_step(days), users.get(row["facilitator_id"])
        if not (step and user):
            continue
        context = {
            "recipient_name": _name(user),
            "incident": {"reference": row["incident__reference"], "title": row["incident__title"]},
            "status": Postmortem.Status(row["status"]).label,
            "due_date": row["due_date"],
            "days_overdue": days,
            "url": _postmortem_url(row["pk"]),
        }
        messages.append(
            Message(
                kind=Notification.Kind.POSTMORTEM_DUE,
                recipient_email=user.email,
                recipient_id=user.pk,
                subject_key=row["incident__reference"],
                postmortem_id=row["pk"],
                period_key=f"{row['due_date'].isoformat()}+{step}d",
                template="emails/postmortem_due",
                context=context,
            )
        )
    return len(claim_many(messages, enqueue=enqueue))
