"""Writes on postmortems: start, save (with optimistic locking), and the review workflow.

Every function runs in one transaction and checks the caller's rights through
``accounts.access`` (whose rules ask ``querysets.py``). State changes are conditional UPDATEs
(``filter(pk=..., status=expected).update(...)``), so a double click or two people
acting at once move a postmortem only once; the loser gets a ``WorkflowError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts import access
from actions.models import ActionItem, Notification
from actions.notifications import Message, absolute_url, claim_many, notify
from actions.services import EDITABLE_FIELDS, action_item_write, preferences_for
from incidents.models import Incident
from incidents.services import schedule_repeat_detection

from .models import SECTION_NAMES, SECTIONS, Postmortem, PostmortemEvent, Review

Status = Postmortem.Status
Kind = PostmortemEvent.Kind

# Fields ``postmortem_update`` writes with the version check (many-to-many ones apart).
PLAIN_FIELDS = [*SECTION_NAMES, "users_affected", "revenue_impact", "visibility", "internal_sections"]
M2M_FIELDS = ["authors", "reviewers", "teams"]
# The item fields the editor and the API's single addition offer.
ACTION_ITEM_FIELDS = ["title", "kind", "owner", "team", "due_date", "priority"]
# Fields only the admin sets (``postmortem_set_up``), which ``postmortem_update`` does not write.
SETUP_FIELDS = ["facilitator", "due_date"]
# Publishing needs these sections written.
REQUIRED_TO_PUBLISH = ["summary", "root_cause"]


class WorkflowError(ValidationError):
    """A transition that is not allowed now (wrong state, missing approval, ...)."""


class StaleVersion(Exception):
    """Someone saved the postmortem after the editor loaded ``expected_version``."""

    def __init__(self, current: Postmortem):
        self.current = current
        super().__init__(f"The postmortem is at version {current.version}.")


def _record(postmortem, user, kind, *, from_status="", to_status="", note="", version=None) -> PostmortemEvent:
    return PostmortemEvent.objects.create(
        postmortem=postmortem,
        actor=user,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        note=note,
        postmortem_version=version if version is not None else postmortem.version,
    )


def _require_edit(postmortem: Postmortem, user) -> None:
    access.require(access.may_edit_postmortem(user, postmortem), access.EDIT_POSTMORTEM_REFUSED)


def _transition(postmortem: Postmortem, *, expected: str, version: int | None = None, **changes) -> None:
    """Move ``postmortem`` out of ``expected`` (at ``version``, if given) with one conditional
    UPDATE, or raise."""
    row = Postmortem.objects.filter(pk=postmortem.pk, status=expected)
    if version is not None:
        row = row.filter(version=version)
    moved = row.update(updated_at=timezone.now(), **changes)
    if moved != 1:
        raise WorkflowError("This postmortem has already moved on; reload the page to see its current state.")
    postmortem.refresh_from_db()


@transaction.atomic
def postmortem_start(*, incident: Incident, user) -> Postmortem:
    """Create the incident's postmortem from the standard template: empty sections (the
    editor shows each section's prompt), ``user`` as facilitator and first author.

    Starting it is an edit of the incident (its visibility then decides who sees the
    incident): only those who may edit the incident start it, or ``PermissionDenied``.
    Raises ``WorkflowError`` when the incident already has one.
    """
    access.require(access.may_start_postmortem(user, incident), access.START_POSTMORTEM_REFUSED)
    if Postmortem.objects.filter(incident=incident).exists():
        raise WorkflowError("This incident already has a postmortem.")
    try:
        with transaction.atomic():
            postmortem = Postmortem.objects.create(incident=incident, facilitator=user)
    except IntegrityError as exc:  # someone started it at the same moment
        raise WorkflowError("This incident already has a postmortem.") from exc
    postmortem.authors.add(user)
    _record(postmortem, user, Kind.CREATED, to_status=Status.DRAFT)
    return postmortem


def validate_postmortem_data(data: Mapping[str, Any]) -> None:
    """Raise ``ValidationError`` when the editor's (or the admin's) values break a rule: a
    restricted postmortem names its teams; internal sections are sections."""
    errors = {}
    if data.get("visibility") == Postmortem.Visibility.RESTRICTED and not data.get("teams"):
        errors["teams"] = "Choose the teams that may read a restricted postmortem."
    unknown = [name for name in data.get("internal_sections") or [] if name not in SECTION_NAMES]
    if unknown:
        errors["internal_sections"] = f"Unknown section(s): {', '.join(map(str, unknown))}."
    if errors:
        raise ValidationError(errors)


def _save_action_items(postmortem: Postmortem, user, items: Iterable[Mapping[str, Any]]) -> None:
    """Create, update or delete action items; ``items`` are dicts with ``id`` (None for a new
    item), ``delete``, item fields (``EDITABLE_FIELDS``) and ``note``, the reason a due date
    moves. Each item is written by ``actions.services.action_item_write`` (the caller's right to
    edit the postmortem is the right to change its items); its errors name the item."""
    items = list(items)
    ids = [item["id"] for item in items if item.get("id")]
    # Locked in one query, as action_item_write would lock each.
    existing = {obj.pk: obj for obj in postmortem.action_items.select_for_update().filter(pk__in=ids)}
    if len(existing) != len(set(ids)):
        raise ValidationError("An action item in the form no longer belongs to this postmortem.")
    for data in items:
        current = existing.get(data.get("id"))
        if data.get("delete"):
            if current:
                current.delete()
            continue
        fields = {name: data[name] for name in EDITABLE_FIELDS if name in data}
        try:
            action_item_write(
                item=current, postmortem=postmortem, user=user, data=fields, note=data.get("note") or "", locked=True
            )
        except ValidationError as error:
            label = f"{current.reference} “{current.title}”" if current else f"New item “{fields.get('title', '')}”"
            raise ValidationError([f"{label}: {message}" for message in error.messages]) from error


def _request_reviews(postmortem: Postmortem, reviewers, requested_by) -> None:
    """Email each reviewer once per version of the postmortem, through the ledger."""
    link = absolute_url(postmortem.get_absolute_url())
    for reviewer in reviewers:
        notify(
            kind=Notification.Kind.REVIEW_REQUEST,
            recipient=reviewer,
            recipient_email=reviewer.email,
            subject_key=f"PM-{postmortem.pk}",
            period_key=f"v{postmortem.version}",
            template="emails/review_request",
            context={"postmortem": postmortem, "reviewer": reviewer, "requested_by": requested_by, "link": link},
            postmortem=postmortem,
        )


def _notify_review_decision(postmortem: Postmortem, review: Review) -> None:
    """Email the facilitator a reviewer's decision (unless they reviewed it or opted out)."""
    facilitator = postmortem.facilitator
    if facilitator is None or facilitator.pk == review.reviewer_id or not facilitator.is_active:
        return
    if not preferences_for(facilitator).email_review:
        return
    notify(
        kind=Notification.Kind.REVIEW_DECISION,
        recipient=facilitator,
        recipient_email=facilitator.email,
        subject_key=f"PM-{postmortem.pk}",
        period_key=f"review-{review.pk}",
        template="emails/review_decision",
        context={
            "postmortem": postmortem,
            "review": review,
            "facilitator": facilitator,
            "problems": publish_problems(postmortem),
            "link": absolute_url(postmortem.get_absolute_url()),
        },
        postmortem=postmortem,
    )


def _notify_published(postmortem: Postmortem, published_by) -> None:
    """Email the members of the postmortem's teams who asked to hear of publications."""
    members = (
        get_user_model()
        .objects.filter(teams__in=postmortem.teams.all(), is_active=True, notification_preference__email_published=True)
        .exclude(pk=published_by.pk)
        .exclude(email="")
        .distinct()
    )
    link = absolute_url(postmortem.get_absolute_url())
    context = {"postmortem": postmortem, "published_by": published_by, "link": link}
    claim_many(
        Message(
            kind=Notification.Kind.PUBLISHED,
            recipient_email=member.email,
            recipient_id=member.pk,
            subject_key=f"PM-{postmortem.pk}",
            period_key="published",
            template="emails/published",
            context={**context, "recipient": member},
            postmortem_id=postmortem.pk,
        )
        for member in members
    )


def _changes_anything(postmortem: Postmortem, data: Mapping[str, Any], items: list[Mapping[str, Any]]) -> bool:
    """Whether saving ``data`` and ``items`` would change the postmortem as stored (the
    caller's instance may already hold a form's values, so the row is read again)."""
    stored = Postmortem.objects.get(pk=postmortem.pk)
    if any(getattr(stored, name) != data[name] for name in PLAIN_FIELDS if name in data):
        return True
    for name in M2M_FIELDS:
        if name in data and {obj.pk for obj in data[name]} != set(getattr(stored, name).values_list("pk", flat=True)):
            return True
    existing = {obj.pk: obj for obj in stored.action_items.filter(pk__in=[item.get("id") for item in items])}
    for item in items:
        current = existing.get(item.get("id"))
        if current is None or item.get("delete"):
            return True
        for field in EDITABLE_FIELDS:
            if field not in item:
                continue
            value = item[field].pk if hasattr(item[field], "_meta") else item[field]
            if getattr(current, ActionItem._meta.get_field(field).attname) != value:
                return True
    return False


def amendment_problem(postmortem: Postmortem, note: str) -> str | None:
    """What is wrong with changing ``postmortem`` with ``note``: a published one is amended,
    and says what changed and why (the note is shown on its page)."""
    if postmortem.status == Status.PUBLISHED and not note.strip():
        return "Say what you changed and why; the note is shown on the page."
    return None


@transaction.atomic
def postmortem_update(
    *,
    postmortem: Postmortem,
    user,
    data: Mapping[str, Any],
    expected_version: int,
    action_items: Iterable[Mapping[str, Any]] = (),
    amendment_note: str = "",
) -> Postmortem:
    """Save the editor's fields and action items if nobody saved since ``expected_version``.

    ``data`` holds any of ``PLAIN_FIELDS`` and ``M2M_FIELDS`` (lists of users or teams).
    The version check is one ``UPDATE ... WHERE version = expected`` that also raises the
    version; on a miss nothing is written and ``StaleVersion`` carries the saved row.
    A published postmortem is amended: ``amendment_note`` is required and recorded.
    Reviewers added while it is in review are asked for their review by email.
    """
    _require_edit(postmortem, user)
    action_items = list(action_items)
    if not _changes_anything(postmortem, data, action_items):
        return postmortem  # a save that changes nothing writes nothing: no version, no history
    if problem := amendment_problem(postmortem, amendment_note):
        raise ValidationError({"amendment_note": problem})
    validate_postmortem_data(data)
    fields = {name: data[name] for name in PLAIN_FIELDS if name in data}
    updated = Postmortem.objects.filter(pk=postmortem.pk, version=expected_version).update(
        **fields, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated != 1:
        raise StaleVersion(Postmortem.objects.select_related("incident").get(pk=postmortem.pk))
    previous_reviewers = set(postmortem.reviewers.values_list("pk", flat=True))
    postmortem.refresh_from_db()
    for name in M2M_FIELDS:
        if name in data:
            getattr(postmortem, name).set(data[name])
    _save_action_items(postmortem, user, action_items)
    if postmortem.status == Status.PUBLISHED:
        _record(
            postmortem,
            user,
            Kind.AMENDED,
            from_status=Status.PUBLISHED,
            to_status=Status.PUBLISHED,
            note=amendment_note.strip(),
        )
    else:
        _record(postmortem, user, Kind.EDITED)
    if postmortem.status == Status.IN_REVIEW:
        _request_reviews(postmortem, postmortem.reviewers.exclude(pk__in=previous_reviewers), user)
    return postmortem


@transaction.atomic
def postmortem_set_up(*, postmortem: Postmortem, user, values: Mapping[str, Any]) -> Postmortem:
    """Change who facilitates ``postmortem`` and when it is due (any of ``SETUP_FIELDS``), as an
    admin: one UPDATE that raises the version (so an editor holding an older copy is told) and
    an EDITED event naming what changed. Values equal to the stored ones write nothing."""
    access.require(access.is_admin(user), access.ADMIN_ONLY_REFUSED)
    unknown = set(values) - set(SETUP_FIELDS)
    if unknown:
        raise ValueError(f"Not set up here: {', '.join(sorted(unknown))}")
    stored = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    changes = {name: value for name, value in values.items() if getattr(stored, name) != value}
    if not changes:
        return postmortem
    Postmortem.objects.filter(pk=postmortem.pk).update(**changes, version=F("version") + 1, updated_at=timezone.now())
    postmortem.refresh_from_db()
    labels = {"facilitator": "facilitator", "due_date": "due date"}
    _record(postmortem, user, Kind.EDITED, note="Changed the " + " and ".join(labels[name] for name in changes) + ".")
    return postmortem


@transaction.atomic
def postmortem_submit(*, postmortem: Postmortem, user) -> Postmortem:
    """Draft → in review; needs at least one reviewer, who is emailed a link."""
    _require_edit(postmortem, user)
    if postmortem.status != Status.DRAFT:
        raise WorkflowError("Only a draft can be submitted for review.")
    reviewers = list(postmortem.reviewers.all())
    if not reviewers:
        raise WorkflowError("Add at least one reviewer before submitting for review.")
    _transition(postmortem, expected=Status.DRAFT, status=Status.IN_REVIEW, submitted_at=timezone.now())
    _record(postmortem, user, Kind.SUBMITTED, from_status=Status.DRAFT, to_status=Status.IN_REVIEW)
    _request_reviews(postmortem, reviewers, user)
    return postmortem


@transaction.atomic
def postmortem_review(*, postmortem: Postmortem, user, decision: str, comment: str = "") -> Review:
    """A reviewer approves the current version or requests changes (with a comment)."""
    access.require(access.may_review_postmortem(user, postmortem), access.REVIEW_POSTMORTEM_REFUSED)
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    if locked.status != Status.IN_REVIEW:
        raise WorkflowError("Only a postmortem in review can be reviewed.")
    if decision not in Review.Decision.values:
        raise ValidationError({"decision": "Choose approve or request changes."})
    review = Review(
        postmortem=locked, reviewer=user, decision=decision, comment=comment.strip(), postmortem_version=locked.version
    )
    review.full_clean()
    review.save()
    kind = Kind.APPROVED if decision == Review.Decision.APPROVE else Kind.CHANGES_REQUESTED
    _record(locked, user, kind, from_status=locked.status, to_status=locked.status, note=review.comment)
    _notify_review_decision(locked, review)
    return review


def current_decisions(postmortem: Postmortem) -> dict[int, str]:
    """Each reviewer's latest decision on the postmortem's current version."""
    decisions: dict[int, str] = {}
    reviews = postmortem.reviews.filter(postmortem_version=postmortem.version).order_by("created_at", "id")
    for reviewer_id, decision in reviews.values_list("reviewer_id", "decision"):
        decisions[reviewer_id] = decision
    return decisions


def publish_problems(postmortem: Postmortem) -> list[str]:
    """What stops ``postmortem`` from being published now; empty when nothing does."""
    problems = []
    if postmortem.status != Status.IN_REVIEW:
        problems.append("Only a postmortem in review can be published.")
    decisions = current_decisions(postmortem).values()
    if Review.Decision.REQUEST_CHANGES in decisions:
        problems.append("A reviewer has requested changes to this version.")
    elif Review.Decision.APPROVE not in decisions:
        problems.append(f"No reviewer has approved this version (v{postmortem.version}) yet.")
    titles = dict(SECTIONS)
    missing_sections = [titles[name] for name in REQUIRED_TO_PUBLISH if not getattr(postmortem, name).strip()]
    if missing_sections:
        problems.append(f"Write these sections first: {', '.join(missing_sections)}.")
    incomplete = [
        f"{item.reference} “{item.title}” (needs {' and '.join(need)})"
        for item in postmortem.action_items.order_by("id")
        if (need := [w for w, ok in (("an owner", item.owner_id), ("a due date", item.due_date)) if not ok])
    ]
    if incomplete:
        problems.append("Every action item needs an owner and a due date: " + "; ".join(incomplete) + ".")
    return problems


@transaction.atomic
def postmortem_publish(*, postmortem: Postmortem, user) -> Postmortem:
    """In review → published, by the facilitator or an admin, once the current version is
    approved, nobody asks for changes, and every action item has an owner and a due date."""
    access.require(access.may_publish(user, postmortem), access.PUBLISH_POSTMORTEM_REFUSED)
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    problems = publish_problems(locked)
    if problems:
        raise WorkflowError(problems)
    _transition(
        postmortem,
        expected=Status.IN_REVIEW,
        version=locked.version,
        status=Status.PUBLISHED,
        published_at=timezone.now(),
    )
    _record(postmortem, user, Kind.PUBLISHED, from_status=Status.IN_REVIEW, to_status=Status.PUBLISHED)
    _notify_published(postmortem, user)
    # Now the whole write-up exists: look again for earlier incidents of the same class.
    schedule_repeat_detection(postmortem.incident)
    return postmortem


# Action items added and removed one at a time (the API, the admin), as the editor does it: one
# postmortem_update call, so the same rights, history, new-owner email and amendment rule (a
# published postmortem needs a note saying what changed) apply. The editor sends the version it
# loaded; a single addition has no edit to lose, so these lock the row and use its version.
def _update_items(*, postmortem: Postmortem, user, items: list[dict], amendment_note: str) -> Postmortem:
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    return postmortem_update(
        postmortem=locked,
        user=user,
        data={},
        expected_version=locked.version,
        action_items=items,
        amendment_note=amendment_note,
    )


@transaction.atomic
def action_item_add(*, postmortem: Postmortem, user, fields: Mapping[str, Any], amendment_note: str = "") -> ActionItem:
    """Add an action item with ``fields`` (any of ``actions.services.EDITABLE_FIELDS``) to
    ``postmortem`` as ``user``; return it. Raises PermissionDenied or ValidationError as
    ``postmortem_update`` does."""
    item = {"id": None, **{name: fields[name] for name in EDITABLE_FIELDS if name in fields}}
    _update_items(postmortem=postmortem, user=user, items=[item], amendment_note=amendment_note)
    # The postmortem's row stays locked until commit, so the newest item is the one just added.
    return postmortem.action_items.order_by("-pk").first()


@transaction.atomic
def action_item_remove(*, item: ActionItem, user, amendment_note: str = "") -> None:
    """Delete ``item`` from its postmortem as ``user`` (one of the postmortem's editors)."""
    items = [{"id": item.pk, "delete": True}]
    _update_items(postmortem=item.postmortem, user=user, items=items, amendment_note=amendment_note)
