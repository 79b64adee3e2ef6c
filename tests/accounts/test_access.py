"""Every rule in accounts/access.py, asked for each kind of person.

The draft postmortem has a facilitator, an author (who owns its action item) and a reviewer;
its incident has a commander. The inactive account is staff, commander, author and item owner
at once: it would hold every right if it were active, so any rule that forgets ``is_active``
shows here. The outsider is signed in and has no part in anything.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from accounts import access
from tests.factories import ActionItemFactory, IncidentFactory, PostmortemFactory, UserFactory

pytestmark = pytest.mark.django_db

PEOPLE = ["inactive", "anonymous", "staff", "superuser", "facilitator", "author", "reviewer", "commander", "outsider"]
ADMINS = {"staff", "superuser"}
POSTMORTEM_EDITORS = ADMINS | {"facilitator", "author"}


@pytest.fixture
def world():
    users = {name: UserFactory(username=name) for name in PEOPLE if name not in {"anonymous", "staff", "superuser"}}
    users["anonymous"] = AnonymousUser()
    users["staff"] = UserFactory(username="staff", is_staff=True)
    users["superuser"] = UserFactory(username="superuser", is_superuser=True)
    inactive = users["inactive"]
    inactive.is_staff, inactive.is_active = True, False
    inactive.save()

    incident = IncidentFactory(commander=users["commander"], scribe=inactive)
    postmortem = PostmortemFactory(incident=incident, facilitator=users["facilitator"], status="draft")
    postmortem.authors.add(users["author"], inactive)
    postmortem.reviewers.add(users["reviewer"], inactive)
    item = ActionItemFactory(postmortem=postmortem, owner=users["author"])
    inactive_item = ActionItemFactory(postmortem=postmortem, owner=inactive)
    return users, {"incident": incident, "postmortem": postmortem, "item": item, "inactive_item": inactive_item}


def allowed(users, predicate, *args) -> set[str]:
    return {name for name, user in users.items() if predicate(user, *args)}


def test_only_active_signed_in_accounts_count_and_only_staff_or_superusers_are_admins(world):
    users, _ = world
    assert allowed(users, access.is_active_user) == set(PEOPLE) - {"inactive", "anonymous"}
    assert allowed(users, access.is_admin) == ADMINS
    assert allowed(users, access.may_read_outbox) == ADMINS


def test_postmortem_rules(world):
    users, rows = world
    postmortem = rows["postmortem"]
    assert allowed(users, access.may_edit_postmortem, postmortem) == POSTMORTEM_EDITORS
    assert allowed(users, access.may_review_postmortem, postmortem) == {"reviewer"}
    assert allowed(users, access.may_publish, postmortem) == ADMINS | {"facilitator"}


def test_incident_rules(world):
    users, rows = world
    incident = rows["incident"]
    assert allowed(users, access.may_edit_incident, incident) == ADMINS | {"commander"}
    assert allowed(users, access.may_start_postmortem, incident) == ADMINS | {"commander"}
    assert allowed(users, access.may_edit_timeline, incident) == POSTMORTEM_EDITORS | {"commander"}
    assert allowed(users, access.may_decide_repeat, incident) == POSTMORTEM_EDITORS | {"commander"}


def test_action_item_rules(world):
    users, rows = world
    item = rows["item"]
    assert allowed(users, access.may_change_action_item, item) == POSTMORTEM_EDITORS  # author owns it
    # The postmortem is a draft: those working on it read its items; the outsider does not.
    assert allowed(users, access.may_read_action_item, item) == POSTMORTEM_EDITORS | {"reviewer"}
    # An inactive owner neither changes nor reads their own item.
    assert "inactive" not in allowed(users, access.may_change_action_item, rows["inactive_item"])
    assert "inactive" not in allowed(users, access.may_read_action_item, rows["inactive_item"])


def test_a_refusal_carries_its_one_message():
    access.require(True, access.EDIT_POSTMORTEM_REFUSED)
    with pytest.raises(PermissionDenied, match="^Only the facilitator, authors and admins edit a postmortem.$"):
        access.require(False, access.EDIT_POSTMORTEM_REFUSED)


def test_the_navigation_follows_the_same_rules(client, world):
    users, _ = world
    assert "Sign out" not in client.get("/accounts/login/").text

    client.force_login(users["outsider"])
    page = client.get("/").text
    assert "Sign out" in page and "Outbox (sent email)" not in page

    client.force_login(users["staff"])
    page = client.get("/").text
    assert "Outbox (sent email)" in page and ">Admin</a>" in page

    # A superuser without the staff flag is an admin here, but Django's admin site turns them
    # away, so the menu does not offer it.
    client.force_login(users["superuser"])
    page = client.get("/").text
    assert "Outbox (sent email)" in page and ">Admin</a>" not in page
    assert client.get("/actions/outbox/").status_code == 200
