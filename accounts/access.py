"""Who may do what: every "may this user do X to Y" rule and every refusal message.

Pages, the API, the admin, search, feeds, exports, emails and jobs ask these
functions; nothing else tests ``is_authenticated``, ``is_active`` or staff flags.
Row-level reading rules (which postmortems, incidents and items a user may see)
are querysets (``visible_to``, ``editable_by``, ``reviewable_by``), and they too
start from here: a predicate below about one row asks its queryset, so the page,
the API and the list filter can never disagree.

The models import this module (through their querysets), so model imports stay
inside the functions.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

# What a refused user reads: one sentence per rule, shown by pages, the API and the admin alike.
EDIT_POSTMORTEM_REFUSED = "Only the facilitator, authors and admins edit a postmortem."
REVIEW_POSTMORTEM_REFUSED = "Only the postmortem's reviewers review it."
PUBLISH_POSTMORTEM_REFUSED = "Only the facilitator or an admin publishes."
START_POSTMORTEM_REFUSED = "Only the incident's responders, its teams and admins start its postmortem."
EDIT_INCIDENT_REFUSED = "Only the incident's responders, its services' teams and admins edit it."
EDIT_TIMELINE_REFUSED = "You may not edit this incident's timeline."
CHANGE_ACTION_ITEM_REFUSED = "Only the owner, the facilitator, the owner's team lead and admins change an item."
READ_ACTION_ITEM_REFUSED = "You cannot see this action item."
DECIDE_REPEAT_REFUSED = "Only the postmortem's editors, the incident commander and admins decide repeats."
READ_OUTBOX_REFUSED = "Only admins read other people's mail."
ADMIN_ONLY_REFUSED = "Only admins do this."
DELETE_REFUSED = "Only admins delete incidents and postmortems."
HISTORICAL_REFUSED = "Only admins set this (to record history); otherwise the server sets it."


def require(allowed: bool, refusal: str) -> None:
    """Raise ``PermissionDenied(refusal)`` unless ``allowed``: ``require(may_x(user, y), X_REFUSED)``."""
    if not allowed:
        raise PermissionDenied(refusal)


def is_active_user(user) -> bool:
    """A signed-in account that is not disabled: the least any rule asks."""
    return bool(user and user.is_authenticated and user.is_active)


def is_admin(user) -> bool:
    """An active staff member or superuser: reads and edits everything."""
    return is_active_user(user) and bool(user.is_superuser or user.is_staff)


def may_edit_postmortem(user, postmortem) -> bool:
    """The facilitator, the authors and admins edit a postmortem (``editable_by``)."""
    return type(postmortem).objects.filter(pk=postmortem.pk).editable_by(user).exists()


def may_review_postmortem(user, postmortem) -> bool:
    """The postmortem's reviewers review it (``reviewable_by``)."""
    return type(postmortem).objects.filter(pk=postmortem.pk).reviewable_by(user).exists()


def may_publish(user, postmortem) -> bool:
    """The facilitator or an admin publishes."""
    return is_active_user(user) and (postmortem.facilitator_id == user.pk or is_admin(user))


def may_edit_incident(user, incident) -> bool:
    """The incident's own people (``IncidentQuerySet.responder_ids``) and admins edit it."""
    return type(incident).objects.filter(pk=incident.pk).editable_by(user).exists()


def may_start_postmortem(user, incident) -> bool:
    """Starting an incident's postmortem is an edit of the incident."""
    return may_edit_incident(user, incident)


def may_edit_timeline(user, incident) -> bool:
    """Those who may edit the incident or its postmortem edit its timeline (``timeline_editable_by``)."""
    return type(incident).objects.filter(pk=incident.pk).timeline_editable_by(user).exists()


def may_change_action_item(user, item) -> bool:
    """The owner, the facilitator, the owner's team lead and admins change (and close) an item."""
    return type(item).objects.filter(pk=item.pk).editable_by(user).exists()


def may_read_action_item(user, item) -> bool:
    """Whoever may read the item's postmortem, or change the item, reads (and comments on) it."""
    return type(item).objects.filter(pk=item.pk).visible_to(user).exists()


def may_decide_repeat(user, incident) -> bool:
    """Who may confirm or dismiss a suggestion that ``incident`` repeats an earlier one: the editors
    of its postmortem (facilitator, authors), its commander and admins."""
    from postmortems.models import Postmortem  # the models import this module

    if not is_active_user(user):
        return False
    if is_admin(user) or (incident.commander_id and incident.commander_id == user.pk):
        return True
    return Postmortem.objects.editable_by(user).filter(incident=incident).exists()


def may_read_outbox(user) -> bool:
    """Admins read the outbox: every email the tracker sent or tried to send."""
    return is_admin(user)


def template_context(request) -> dict:
    """Context processor: ``signed_in`` and ``signed_in_admin`` for templates, so they ask
    these rules instead of ``user.is_authenticated`` or ``user.is_staff``; and
    ``may_open_admin_site``, Django's own rule for its admin site (active staff: a superuser
    without the staff flag is an admin here but is turned away there)."""
    from django.contrib import admin
    from django.utils.functional import SimpleLazyObject

    user = getattr(request, "user", None)
    return {
        "signed_in": SimpleLazyObject(lambda: is_active_user(user)),
        "signed_in_admin": SimpleLazyObject(lambda: is_admin(user)),
        "may_open_admin_site": SimpleLazyObject(lambda: user is not None and admin.site.has_permission(request)),
    }
