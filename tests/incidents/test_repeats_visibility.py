"""The "earlier incidents of the same class" panel and email say only what their reader may read:
the explanation never quotes an internal section or an unreadable postmortem, and the action
items listed are those the reader may open."""

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from actions.models import Notification
from incidents import services
from tests.factories import (
    T0,
    ActionItemFactory,
    IncidentFactory,
    PostmortemFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
    cause,
)

pytestmark = pytest.mark.django_db

# The mechanism both root causes share: what the explanation used to quote.
EARLIER_ROOT = "The zebraquartz keystore rotation expired the vault certificates of payments-api."
LATER_ROOT = "Zebraquartz keystore rotation expired the vault certificates again."


@pytest.fixture
def people():
    """owner (facilitates both postmortems, in Payments), teammate (in Payments), outsider, admin."""
    team = TeamFactory(name="Payments", slug="payments")
    users = {name: UserFactory(username=name) for name in ["owner", "teammate", "outsider"]}
    users["admin"] = UserFactory(username="admin", is_staff=True, is_superuser=True)
    team.members.add(users["owner"], users["teammate"])
    return team, users


def _incident(service, *, title, started, root_cause, owner, team, **postmortem):
    incident = IncidentFactory(
        title=title,
        cause_category=cause("capacity"),
        started_at=started,
        detected_at=started + timedelta(minutes=5),
        acknowledged_at=started + timedelta(minutes=8),
        declared_at=started + timedelta(minutes=10),
        mitigated_at=started + timedelta(minutes=45),
        resolved_at=started + timedelta(hours=2),
    )
    incident.services.add(service)
    pm = PostmortemFactory(incident=incident, facilitator=owner, root_cause=root_cause, summary="", **postmortem)
    pm.teams.add(team)
    return incident


def _pair(people, **earlier_postmortem):
    team, users = people
    service = ServiceFactory(name="payments-api", slug="payments-api", team=team)
    earlier = _incident(
        service,
        title="Card payments failing",
        started=T0,
        root_cause=EARLIER_ROOT,
        owner=users["owner"],
        team=team,
        **earlier_postmortem,
    )
    later = _incident(
        service,
        title="Card payments failing again",
        started=T0 + timedelta(days=60),
        root_cause=LATER_ROOT,
        owner=users["owner"],
        team=team,
        status="published",
        published_at=timezone.now(),
    )
    return earlier, later


def _panel(incident, user) -> str:
    request = RequestFactory().get(incident.get_absolute_url())
    request.user = user
    return Template('{% include "incidents/_repeat_links.html" %}').render(
        Context({"incident": incident, "request": request})
    )


def test_the_explanation_never_quotes_a_root_cause_marked_internal(people, client):
    team, users = people
    earlier, later = _pair(people, status="published", published_at=timezone.now(), internal_sections=["root_cause"])
    [link] = services.repeat_detect(incident=later)
    assert "zebraquartz" in link.reason  # the stored reason was worked out from everything
    for name in ["outsider", "teammate", "admin"]:
        html = _panel(later, users[name])
        assert earlier.reference in html, name
        insider = name != "outsider"
        assert ("zebraquartz" in html) is insider, name
        assert ("keystore" in html) is insider, name
        # The score was computed from the hidden root cause: only those who read it see it.
        assert (f"{link.score:.2f}" in html) is insider, name
    outsider_panel = _panel(later, users["outsider"])
    assert "Same service payments-api and cause Capacity" in outsider_panel
    # The same on the incident page itself.
    client.force_login(users["outsider"])
    page = client.get(later.get_absolute_url()).text
    assert earlier.reference in page and "zebraquartz" not in page


def test_a_draft_postmortems_action_items_and_root_cause_stay_with_its_people(people, client):
    team, users = people
    earlier, later = _pair(people, status="draft")
    ActionItemFactory(postmortem=earlier.postmortem, title="Automate the zebraquartz rotation", owner=users["owner"])
    services.repeat_detect(incident=later)
    client.force_login(users["teammate"])
    assert client.get(earlier.postmortem.get_absolute_url()).status_code == 404  # a draft
    html = _panel(later, users["teammate"])
    assert earlier.reference in html  # the incident itself is open to all
    assert "Automate the zebraquartz rotation" not in html and "zebraquartz" not in html
    assert "every action item was done" not in html
    owner_panel = _panel(later, users["owner"])
    assert "Automate the zebraquartz rotation" in owner_panel and "root causes share" in owner_panel


def test_the_repeat_email_says_only_what_the_facilitator_may_read(people):
    team, users = people
    earlier, later = _pair(people, status="published", published_at=timezone.now(), internal_sections=["root_cause"])
    outsider = users["outsider"]
    later.postmortem.facilitator = outsider  # outside Payments: the earlier root cause is redacted for them
    later.postmortem.save()
    services.repeat_detect(incident=later)
    message = Notification.objects.get(kind=Notification.Kind.REPEAT, recipient=outsider)
    assert earlier.reference in message.body_text
    assert "zebraquartz" not in message.body_text and "zebraquartz" not in message.body_html
