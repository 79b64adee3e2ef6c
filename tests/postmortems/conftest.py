"""Named people around one team, and postmortems in each state, for the postmortem tests."""

from types import SimpleNamespace

import pytest
from django.utils import timezone

from postmortems.models import SECTION_NAMES, Postmortem
from tests.factories import ActionItemFactory, PostmortemFactory, TeamFactory, UserFactory

ORG_SECRET = "Internal: the vendor's failover key expired"


@pytest.fixture
def people(db):
    """facilitator, author, reviewer, member (of the postmortem's team), outsider, admin."""
    team = TeamFactory(name="Payments", slug="payments")
    member = UserFactory(username="member", first_name="Mia")
    team.members.add(member)
    return SimpleNamespace(
        team=team,
        facilitator=UserFactory(username="facilitator", first_name="Fay"),
        author=UserFactory(username="author", first_name="Ava"),
        reviewer=UserFactory(username="reviewer", first_name="Rex"),
        member=member,
        outsider=UserFactory(username="outsider", first_name="Otto"),
        admin=UserFactory(username="admin", is_staff=True, is_superuser=True),
    )


def make_postmortem(people, *, status="draft", visibility="organisation", **fields) -> Postmortem:
    """A postmortem with the named people in their roles, its team, and one complete action item."""
    published = status == Postmortem.Status.PUBLISHED
    postmortem = PostmortemFactory(
        facilitator=people.facilitator,
        status=status,
        visibility=visibility,
        published_at=timezone.now() if published else None,
        submitted_at=timezone.now() if status != "draft" else None,
        **fields,
    )
    postmortem.authors.add(people.author)
    postmortem.reviewers.add(people.reviewer)
    postmortem.teams.add(people.team)
    ActionItemFactory(postmortem=postmortem, owner=people.author, title="Alert on failover key expiry")
    return postmortem


@pytest.fixture
def draft(people):
    return make_postmortem(people)


@pytest.fixture
def in_review(people):
    return make_postmortem(people, status="in_review")


@pytest.fixture
def org_published(people):
    return make_postmortem(people, status="published", root_cause=ORG_SECRET, internal_sections=["root_cause"])


@pytest.fixture
def restricted_published(people):
    return make_postmortem(people, status="published", visibility="restricted")


def editor_data(postmortem: Postmortem, **overrides) -> dict:
    """A complete editor POST for ``postmortem`` as it is now, with ``overrides``."""
    data = {name: getattr(postmortem, name) for name in SECTION_NAMES}
    data.update(
        {
            "version": str(postmortem.version),
            "users_affected": "" if postmortem.users_affected is None else str(postmortem.users_affected),
            "revenue_impact": "" if postmortem.revenue_impact is None else str(postmortem.revenue_impact),
            "visibility": postmortem.visibility,
            "teams": [str(t.pk) for t in postmortem.teams.all()],
            "internal_sections": list(postmortem.internal_sections),
            "authors": [str(u.pk) for u in postmortem.authors.all()],
            "reviewers": [str(u.pk) for u in postmortem.reviewers.all()],
        }
    )
    items = list(postmortem.action_items.order_by("id"))
    data.update(
        {
            "actions-TOTAL_FORMS": str(len(items) + 1),
            "actions-INITIAL_FORMS": str(len(items)),
            "actions-MIN_NUM_FORMS": "0",
            "actions-MAX_NUM_FORMS": "1000",
        }
    )
    for index, item in enumerate(items):
        prefix = f"actions-{index}-"
        data.update(
            {
                f"{prefix}id": str(item.pk),
                f"{prefix}title": item.title,
                f"{prefix}kind": item.kind,
                f"{prefix}owner": str(item.owner_id or ""),
                f"{prefix}team": str(item.team_id or ""),
                f"{prefix}due_date": item.due_date.isoformat() if item.due_date else "",
                f"{prefix}priority": item.priority,
            }
        )
    blank = f"actions-{len(items)}-"
    data.update({f"{blank}title": "", f"{blank}kind": "prevent", f"{blank}priority": "p3"})
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
