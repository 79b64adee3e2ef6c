"""Action items in GitHub Issues and Jira, both directions.

Out: ``tracker_issue_request`` claims an item's issue (one ``TrackerIssue`` row per item)
and enqueues ``create_issue`` after commit; publishing a postmortem does the same for the
items of teams that asked for it. ``create_issue`` takes a lease with a conditional UPDATE,
calls the tracker outside any transaction and records the result; a failure is kept on
the row and on the connection, raised for the task to retry with backoff, and swept up by
the reconcile job. Like the email ledger, a worker killed between the tracker's "created"
and our record can create one issue twice; nothing else repeats.

Changes made here (done, won't do, reopened, retitled, due date moved) reach the issue:
``action_item_write`` calls ``item_written``, which after commit enqueues ``push_issue`` when
the item differs from what its issue last got. The push compares again under the lease, so a
task delivered twice sends one request; a close or reopen that came from the tracker is
recorded as agreed (``synced_closed``) in the same transaction as the item's change, so it
sends nothing back.

Back: webhooks and the reconcile job call ``apply_remote_state``, which closes or reopens
the item through ``actions.services`` (history, rules and rights are theirs) as the
connection's acting user. A close in the tracker while the item was reopened here is
recorded in the item's history as a conflict, never applied silently.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from accounts import access
from actions import services as actions
from actions.models import ActionItem
from actions.notifications import absolute_url

from .clients import (
    IssueChange,
    IssueGone,
    NewIssue,
    RemoteIssue,
    TrackerError,
    TrackerUnavailable,
    client_for,
    parse_issue_url,
)
from .models import TrackerConnection, TrackerIssue

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
# A create or sync left by a lost task is picked up by the reconcile job after this.
SWEEP_GRACE = timedelta(minutes=5)

# The reconcile job claims issues publishing missed for postmortems published this recently.
MISSING_CLAIMS_WITHIN = timedelta(days=7)

NO_CONNECTION = "No issue tracker is connected for this item's team (an admin adds one under Trackers)."


def connection_for(item: ActionItem) -> TrackerConnection | None:
    """The item's team's tracker, else that of one of its postmortem's teams."""
    return connections_for(item.postmortem, [item])[item.pk]


def connections_for(postmortem, items: list[ActionItem]) -> dict[int, TrackerConnection | None]:
    """The tracker each of ``postmortem``'s ``items`` goes to, by item id: its team's, else that of
    the postmortem's first connected team. Two queries at most, whatever the number of items."""
    team_ids = {item.team_id for item in items if item.team_id}
    by_team = {c.team_id: c for c in TrackerConnection.objects.filter(team_id__in=team_ids)} if team_ids else {}
    fallback = None
    if any(item.team_id not in by_team for item in items):
        fallback = TrackerConnection.objects.filter(team__in=postmortem.teams.all()).order_by("pk").first()
    return {item.pk: by_team.get(item.team_id, fallback) for item in items}


def creatable_in_editor(postmortem, user) -> dict[ActionItem, TrackerConnection]:
    """For the postmortem editor's "Create … issue" buttons: the postmortem's items ``user`` may
    change (the rule of ``accounts.access.may_change_action_item``, asked once for all of them)
    that have no issue yet and whose team has a tracker, each with that tracker."""
    items = list(
        ActionItem.objects.filter(postmortem=postmortem, tracker_issue__isnull=True)
        .editable_by(user)
        .only("pk", "reference", "team_id", "postmortem_id")
    )
    connections = connections_for(postmortem, items) if items else {}
    return {item: connections[item.pk] for item in items if connections[item.pk]}


def _require_edit(item: ActionItem, user) -> None:
    access.require(access.may_change_action_item(user, item), access.CHANGE_ACTION_ITEM_REFUSED)


@transaction.atomic
def tracker_issue_request(*, item: ActionItem, user) -> TrackerIssue:
    """Ask for ``item``'s issue to be created in its team's tracker (after commit, by a task).

    Asking again while it is being created, or after it failed, retries at once.
    """
    _require_edit(item, user)
    connection = connection_for(item)
    if connection is None:
        raise ValidationError(NO_CONNECTION)
    issue, created = TrackerIssue.objects.get_or_create(
        item=item, defaults={"connection": connection, "requested_by": user}
    )
    if issue.state == TrackerIssue.State.LINKED and not created:
        raise ValidationError(f"{item.reference} is linked to {issue.key} already.")
    # A deleted issue's item gets a new one; a pending or failing create is tried again now.
    TrackerIssue.objects.filter(pk=issue.pk).update(
        state=TrackerIssue.State.PENDING if issue.state == TrackerIssue.State.GONE else issue.state,
        key="" if issue.state == TrackerIssue.State.GONE else issue.key,
        retry_at=timezone.now() + SWEEP_GRACE,
    )
    _enqueue_create([issue.pk])
    return issue


def _enqueue_create(ids: list[int]) -> None:
    from .tasks import create_tracker_issue

    transaction.on_commit(lambda: [create_tracker_issue.delay(pk) for pk in ids])


@transaction.atomic
def tracker_issue_link(*, item: ActionItem, user, url: str) -> TrackerIssue:
    """Link ``item`` to an issue that exists already, given its web address."""
    _require_edit(item, user)
    connection = connection_for(item)
    if connection is None:
        raise ValidationError(NO_CONNECTION)
    remote = parse_issue_url(connection, url)
    if remote is None:
        where = (
            connection.repository
            if connection.is_github
            else f"project {connection.project_key} on {connection.site_url}"
        )
        raise ValidationError({"url": f"Paste the address of an issue in {where}."})
    taken = TrackerIssue.objects.filter(connection=connection, key=remote.key).exclude(item=item).first()
    if taken:
        raise ValidationError({"url": f"{remote.key} is linked to {taken.item.reference} already."})
    issue, _ = TrackerIssue.objects.update_or_create(
        item=item,
        defaults={
            "connection": connection,
            "requested_by": user,
            "state": TrackerIssue.State.LINKED,
            "key": remote.key,
            "remote_id": remote.remote_id,
            "url": remote.url,
            "remote_closed": None,
            "synced_closed": None,
            "last_error": "",
            "retry_at": None,
            "synced_title": issue_title(item),
            "synced_due_date": item.due_date,
            "push_error": "",
        },
    )
    _show_on_item(issue, user)
    _enqueue_sync([issue.pk])
    return issue


def _enqueue_sync(ids: list[int]) -> None:
    from .tasks import sync_tracker_issue

    transaction.on_commit(lambda: [sync_tracker_issue.delay(pk) for pk in ids])


def _show_on_item(issue: TrackerIssue, user) -> None:
    """Put the issue's address in the item's tracker field, through the item rules, so every
    page, export and the API show it. Someone who may not change the item leaves it as is."""
    item = issue.item
    if item.external_url == issue.url or user is None:
        return
    try:
        actions.action_item_update(item=item, user=user, data={"external_url": issue.url})
    except (PermissionDenied, ValidationError) as exc:
        logger.info("Not setting %s's tracker URL: %s", item.reference, exc)


def claim_on_publish(postmortem, published_by, *, published_after_connection: bool = False) -> list[int]:
    """Claim an issue for each of ``postmortem``'s items whose team's tracker creates on
    publish; enqueue them after commit. Returns the pending rows' ids. Called inside the
    publish transaction, so the claims and the publication commit together (and by the
    reconcile job, which keeps to trackers connected before the postmortem was published)."""
    items = list(postmortem.action_items.filter(tracker_issue__isnull=True))
    connections = connections_for(postmortem, items) if items else {}
    rows = []
    for item in items:
        connection = connections[item.pk]
        if connection is None or not connection.create_on_publish:
            continue
        if not published_after_connection or connection.created_at <= postmortem.published_at:
            rows.append(
                TrackerIssue(
                    item=item, connection=connection, requested_by=published_by, retry_at=timezone.now() + SWEEP_GRACE
                )
            )
    TrackerIssue.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        TrackerIssue.objects.filter(item__postmortem=postmortem, state=TrackerIssue.State.PENDING).values_list(
            "pk", flat=True
        )
    )
    _enqueue_create(ids)
    return ids


def _take_lease(issue_id: int, states) -> bool:
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    taken = TrackerIssue.objects.filter(free, pk=issue_id, state__in=states).update(
        claimed_until=now + LEASE, attempts=F("attempts") + 1
    )
    return taken == 1


def _record_failure(issue: TrackerIssue, exc: TrackerError, *, retry_in: timedelta | None, state=None) -> None:
    now = timezone.now()
    message = str(exc)[:2000]
    TrackerIssue.objects.filter(pk=issue.pk).update(
        state=state or issue.state,
        last_error=message,
        last_error_at=now,
        claimed_until=None,
        retry_at=now + (retry_in or timedelta(0)) + SWEEP_GRACE,
    )
    TrackerConnection.objects.filter(pk=issue.connection_id).update(last_error=message, last_error_at=now)
    logger.warning("Tracker call for %s failed: %s", issue.item.reference, message)


def _record_success(connection_id: int) -> None:
    TrackerConnection.objects.filter(pk=connection_id).update(last_success_at=timezone.now(), last_error="")


def issue_title(item: ActionItem) -> str:
    """The issue's title: the item's, followed by its reference."""
    return f"{item.title} [{item.reference}]"


def new_issue_for(item: ActionItem) -> NewIssue:
    """What the issue says: the title, a link back, the postmortem and incident references,
    the due date and the priority. The tracker's readers are not our readers: a restricted
    postmortem's incident goes by its reference alone, without its title."""
    incident = item.postmortem.incident
    restricted = item.postmortem.visibility == item.postmortem.Visibility.RESTRICTED
    about = incident.reference if restricted else f"{incident.reference} ({incident.title})"
    lines = [
        f"Action item {item.reference} from the postmortem of {about}.",
        f"Track it here: {absolute_url(item.get_absolute_url())}",
        f"Postmortem: {absolute_url(item.postmortem.get_absolute_url())}",
        f"Priority: {item.get_priority_display()}",
        f"Due: {item.due_date.isoformat() if item.due_date else 'not set'}",
        "Closing this issue marks the item done, with the closing comment as its resolution note.",
    ]
    return NewIssue(title=issue_title(item), body="\n".join(lines), priority=item.priority, due_date=item.due_date)


def create_issue(issue_id: int, *, retry_in: timedelta | None = None) -> bool:
    """Create the tracker issue of one claimed row if nobody has; True when this call did.

    A tracker failure is recorded (on the row, shown on the item, and on the connection,
    shown in the admin) and raised for the caller to retry.
    """
    if not _take_lease(issue_id, [TrackerIssue.State.PENDING, TrackerIssue.State.FAILED]):
        return False
    issue = TrackerIssue.objects.select_related("connection", "item__postmortem__incident", "requested_by").get(
        pk=issue_id
    )
    new = new_issue_for(issue.item)
    try:
        remote = client_for(issue.connection).create(new)
    except TrackerError as exc:
        _record_failure(issue, exc, retry_in=retry_in, state=TrackerIssue.State.FAILED)
        raise
    _record_created(issue, remote, new)
    return True


def _record_created(issue: TrackerIssue, remote: RemoteIssue, new: NewIssue) -> None:
    if TrackerIssue.objects.filter(connection_id=issue.connection_id, key=remote.key).exclude(pk=issue.pk).exists():
        _record_failure(
            issue,
            TrackerError(f"The tracker answered with {remote.key}, linked to another item."),
            retry_in=None,
            state=TrackerIssue.State.FAILED,
        )
        return
    TrackerIssue.objects.filter(pk=issue.pk).update(
        state=TrackerIssue.State.LINKED,
        key=remote.key,
        remote_id=remote.remote_id,
        url=remote.url,
        remote_closed=remote.closed,
        last_error="",
        claimed_until=None,
        retry_at=None,
        synced_at=timezone.now(),
        synced_title=new.title,
        synced_due_date=new.due_date,
        synced_closed=remote.closed,
    )
    _record_success(issue.connection_id)
    issue.refresh_from_db()
    _show_on_item(issue, issue.requested_by or issue.connection.acting_user)


def sync_issue(issue_id: int) -> bool:
    """Read one linked issue's state from its tracker and bring the item in step; True when
    the item changed. A deleted issue marks the link gone; other failures are recorded and raised."""
    if not _take_lease(issue_id, [TrackerIssue.State.LINKED]):
        return False
    issue = TrackerIssue.objects.select_related("connection", "item").get(pk=issue_id)
    client = client_for(issue.connection)
    try:
        remote = client.get(issue.remote_id)
    except IssueGone as exc:
        _record_failure(issue, exc, retry_in=None, state=TrackerIssue.State.GONE)
        return False
    except TrackerError as exc:
        _record_failure(issue, exc, retry_in=None)
        raise
    _record_success(issue.connection_id)
    TrackerIssue.objects.filter(pk=issue.pk).update(
        remote_closed=remote.closed, synced_at=timezone.now(), claimed_until=None, last_error="", retry_at=None
    )
    return apply_remote_state(issue=issue, closed=remote.closed, not_planned=remote.not_planned, client=client)


PUSHED_FIELDS = {"title", "due_date", "status"}


class LeaseBusy(Exception):
    """Another job holds the issue (a read-back or a push): try again once its lease ends."""


def item_written(*, item: ActionItem, changed: set[str]) -> None:
    """Called by ``actions.services.action_item_write`` for every change: after commit, when
    the title, due date or status changed, push the item to its issue if it has one. The look-up
    happens after commit, so a write costs no query here."""
    if changed & PUSHED_FIELDS:
        transaction.on_commit(lambda: _enqueue_push_if_needed(item.pk))


def _enqueue_push_if_needed(item_id: int) -> None:
    from .tasks import push_tracker_issue

    issue = TrackerIssue.objects.select_related("item").filter(item_id=item_id, state=TrackerIssue.State.LINKED).first()
    if issue is None or not change_for(issue, issue.item):
        return  # no issue, or it has this already (a change that came from the tracker)
    if issue.push_error:
        TrackerIssue.objects.filter(pk=issue.pk).update(push_error="", push_error_at=None)
    push_tracker_issue.delay(issue.pk)


def change_for(issue: TrackerIssue, item: ActionItem) -> IssueChange:
    """What ``item`` has that its issue has not, as far as we know. A state never agreed (an issue
    linked and not read back yet) is not pushed: reopening an issue we never saw would be a guess.
    A close in the tracker that could not be recorded here (no acting user) is not undone either:
    ``synced_closed`` moves only when both sides agree."""
    change = IssueChange()
    if issue_title(item) != issue.synced_title:
        change.title = issue_title(item)
    if item.due_date != issue.synced_due_date:
        change.due_date, change.due_changed = item.due_date, True
    closed = not item.is_open
    if issue.synced_closed is not None and issue.synced_closed != closed:
        change.closed, change.not_planned = closed, item.status == ActionItem.Status.WONT_DO
    return change


def push_issue(issue_id: int) -> bool:
    """Send one linked issue what its item changed here; True when a request went out.

    Under the lease the change is worked out again, so a second delivery of the same job finds
    nothing to send. A refusal (4xx) is kept on the row for the item's editors and not retried;
    a deleted issue marks the link gone; a tracker that is down is recorded and raised to retry.
    """
    if not _take_lease(issue_id, [TrackerIssue.State.LINKED]):
        if TrackerIssue.objects.filter(pk=issue_id, state=TrackerIssue.State.LINKED).exists():
            raise LeaseBusy(issue_id)
        return False
    issue = TrackerIssue.objects.select_related("connection", "item").get(pk=issue_id)
    change = change_for(issue, issue.item)
    if not change:
        TrackerIssue.objects.filter(pk=issue.pk).update(claimed_until=None)
        return False
    try:
        client_for(issue.connection).update(issue.remote_id, change)
    except IssueGone as exc:
        _record_failure(issue, exc, retry_in=None, state=TrackerIssue.State.GONE)
        return False
    except TrackerUnavailable as exc:
        _record_failure(issue, exc, retry_in=None)  # shown as "GitHub failed at …"; retried
        raise
    except TrackerError as exc:
        _record_push_failure(issue, exc)
        return False
    _record_pushed(issue, change)
    return True


def _record_push_failure(issue: TrackerIssue, exc: TrackerError) -> None:
    now = timezone.now()
    message = str(exc)[:2000]
    TrackerIssue.objects.filter(pk=issue.pk).update(push_error=message, push_error_at=now, claimed_until=None)
    TrackerConnection.objects.filter(pk=issue.connection_id).update(last_error=message, last_error_at=now)
    logger.warning("Pushing %s to its tracker failed: %s", issue.item.reference, message)


def _record_pushed(issue: TrackerIssue, change: IssueChange) -> None:
    values: dict = {"push_error": "", "push_error_at": None, "claimed_until": None, "last_error": ""}
    if change.title is not None:
        values["synced_title"] = change.title
    if change.due_changed:
        values["synced_due_date"] = change.due_date
    if change.closed is not None:
        # Agreed as closed from now on: a reopen in the tracker later is a fresh decision there.
        values.update(remote_closed=change.closed, synced_closed=change.closed, conflict_recorded_at=None)
        values["closed_from_tracker_at"] = timezone.now() if change.closed else None
    TrackerIssue.objects.filter(pk=issue.pk).update(**values)
    _record_success(issue.connection_id)


@transaction.atomic
def tracker_issue_push_retry(*, item: ActionItem, user) -> TrackerIssue:
    """The item page's "Try again" after the tracker refused a push: clear the error and push now."""
    _require_edit(item, user)
    issue = TrackerIssue.objects.filter(item=item, state=TrackerIssue.State.LINKED).first()
    if issue is None:
        raise ValidationError(f"{item.reference} has no linked issue.")
    TrackerIssue.objects.filter(pk=issue.pk).update(push_error="", push_error_at=None)
    transaction.on_commit(lambda: _enqueue_push_if_needed(item.pk))
    return issue


def _actor(issue: TrackerIssue):
    """Who a change from the tracker is recorded as: the connection's acting user, else whoever linked it."""
    for user in (issue.connection.acting_user, issue.requested_by):
        if user is not None and access.may_change_action_item(user, issue.item):
            return user
    return None


def apply_remote_state(
    *, issue: TrackerIssue, closed: bool, not_planned: bool = False, client=None, explicit: bool = False
) -> bool:
    """Bring ``issue``'s item in step with the tracker; True when the item changed.

    ``explicit`` is a webhook's "closed" or "reopened": a fresh decision in the tracker.
    Without it (the reconcile job) a closed issue whose item was reopened here after the
    tracker closed it is a conflict: recorded once in the item's history, the item stays open.
    """
    item = ActionItem.objects.get(pk=issue.item_id)
    issue.item = item
    if closed == (not item.is_open):
        if issue.synced_closed != closed:  # in step, whoever moved last: nothing to push
            TrackerIssue.objects.filter(pk=issue.pk).update(synced_closed=closed)
        return False
    if closed and issue.closed_from_tracker_at and not explicit:
        return _record_conflict(issue)
    if not closed and not explicit and not issue.closed_from_tracker_at:
        if issue.synced_closed is None:  # first seen open (a linked issue): the close here goes to it
            TrackerIssue.objects.filter(pk=issue.pk).update(synced_closed=False)
        return False  # closed here while the issue stays open: our decision stands
    actor = _actor(issue)
    if actor is None:
        _record_failure(issue, TrackerError(_NO_ACTOR), retry_in=None)
        return False
    if closed:
        _close(issue, item, actor, not_planned, client or client_for(issue.connection))
    else:
        with transaction.atomic():  # in step before the write's after-commit push looks: nothing goes back
            actions.action_item_reopen(item=item, user=actor, note=f"Reopened in {issue.tracker_name}: {issue.url}")
            TrackerIssue.objects.filter(pk=issue.pk).update(
                closed_from_tracker_at=None, conflict_recorded_at=None, synced_closed=False
            )
    return True


_NO_ACTOR = (
    "Nobody may record the tracker's change on this item: set the connection's acting user "
    "to someone who may change the team's items."
)


def _close(issue: TrackerIssue, item: ActionItem, actor, not_planned: bool, client) -> None:
    try:
        comment = client.last_comment(issue.remote_id)
    except TrackerError:
        comment = ""  # the close still counts; the note says where to read more
    note = "\n\n".join(part for part in (comment.strip(), f"Closed in {issue.tracker_name}: {issue.url}") if part)
    with transaction.atomic():  # in step before the write's after-commit push looks: nothing goes back
        if not_planned:
            actions.action_item_wont_do(item=item, user=actor, reason=note)
        else:
            actions.action_item_complete(item=item, user=actor, resolution_note=note, evidence_url=issue.url)
        TrackerIssue.objects.filter(pk=issue.pk).update(
            closed_from_tracker_at=timezone.now(), conflict_recorded_at=None, remote_closed=True, synced_closed=True
        )


def _record_conflict(issue: TrackerIssue) -> bool:
    if issue.conflict_recorded_at:
        return False
    item = issue.item
    note = (
        f"Conflict: {issue.key} is closed in {issue.tracker_name} ({issue.url}), but this item was reopened here "
        "after that. It stays open; close or reopen one of them to settle it."
    )
    actions.action_item_record_changes(item=item, before=item, user=None, note=note)
    TrackerIssue.objects.filter(pk=issue.pk).update(conflict_recorded_at=timezone.now())
    return True


def due_for_reconcile(*, after_id: int, limit: int, older_than: timedelta) -> list[int]:
    """The next chunk of linked issues not read for ``older_than``, by id after ``after_id``."""
    stale = Q(synced_at__isnull=True) | Q(synced_at__lt=timezone.now() - older_than)
    return list(
        TrackerIssue.objects.filter(stale, pk__gt=after_id, state=TrackerIssue.State.LINKED)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def take_creates_for_sweep(limit: int) -> list[int]:
    """Claimed creates whose task is overdue (lost, or retries run out): pushed on and returned."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            TrackerIssue.objects.select_for_update(skip_locked=True)
            .filter(state__in=[TrackerIssue.State.PENDING, TrackerIssue.State.FAILED])
            .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        TrackerIssue.objects.filter(pk__in=ids).update(retry_at=now + SWEEP_GRACE)
    return ids


def _out_of_step() -> Q:
    """Linked issues whose item differs from what the issue last got (``change_for`` in SQL)."""
    title = Concat(F("item__title"), Value(" ["), F("item__reference"), Value("]"), output_field=CharField())
    due = (
        Q(synced_due_date__isnull=False, item__due_date__isnull=False) & ~Q(synced_due_date=F("item__due_date"))
        | Q(synced_due_date__isnull=True, item__due_date__isnull=False)
        | Q(synced_due_date__isnull=False, item__due_date__isnull=True)
    )
    closed = (ActionItem.Status.DONE, ActionItem.Status.WONT_DO)
    state = Q(synced_closed=True) & ~Q(item__status__in=closed) | Q(synced_closed=False, item__status__in=closed)
    return ~Q(synced_title=title) | due | state


def take_pushes_for_sweep(*, after_id: int, limit: int) -> list[int]:
    """The next chunk of linked issues whose push was lost (a task that never ran, or a worker
    gone between commit and enqueue): out of step, not refused, not being worked on."""
    now = timezone.now()
    return list(
        TrackerIssue.objects.filter(_out_of_step(), pk__gt=after_id, state=TrackerIssue.State.LINKED, push_error="")
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def claim_missing_on_publish(*, since: timedelta) -> list[int]:
    """Claim the issues that publishing should have claimed and did not (its claim hit a database
    error, which never stops a publication): items of postmortems published within ``since``,
    after their tracker was connected, whose team's tracker creates on publish and which have
    no issue row. Returns the ids enqueued (the new claims, and any still pending there)."""
    from postmortems.models import Postmortem

    now = timezone.now()
    postmortems = (
        Postmortem.objects.filter(
            status=Postmortem.Status.PUBLISHED,
            published_at__gte=now - since,
            action_items__tracker_issue__isnull=True,
        )
        .filter(
            Q(action_items__team__tracker_connection__create_on_publish=True)
            | Q(teams__tracker_connection__create_on_publish=True)
        )
        .distinct()
    )
    ids: list[int] = []
    for postmortem in postmortems:
        with transaction.atomic():
            ids += claim_on_publish(postmortem, None, published_after_connection=True)
    return ids


def connection_save_secrets(*, connection: TrackerConnection, token: str = "", webhook_secret: str = "") -> None:
    """Store new credentials encrypted; a blank value keeps the stored one."""
    if token:
        connection.token = token
    if webhook_secret:
        connection.webhook_secret = webhook_secret
