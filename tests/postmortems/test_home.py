"""The home page and the postmortem page for a reviewer: what awaits my review, who publishes
next, and every item, incident and postmortem mentioned is a link."""

import re

import pytest
from django.urls import reverse

from incidents.models import Incident
from postmortems import services
from tests.factories import ActionItemFactory, IncidentFactory, severity

from .conftest import make_postmortem

pytestmark = pytest.mark.django_db

HOME = "/"


def awaiting(client) -> list[str]:
    return [pm.incident.reference for pm in client.get(HOME).context["awaiting_my_review"]]


def test_the_home_page_lists_postmortems_awaiting_my_review_until_i_approve(client, people, in_review, draft):
    other = make_postmortem(people, status="in_review")
    client.force_login(people.reviewer)
    assert awaiting(client) == [in_review.incident.reference, other.incident.reference]  # not the draft
    html = client.get(HOME).content.decode()
    assert "Awaiting my review" in html
    assert f'<a class="text-nowrap" href="{in_review.get_absolute_url()}">{in_review.incident.reference}</a>' in html

    services.postmortem_review(postmortem=other, user=people.reviewer, decision="request_changes", comment="Why?")
    services.postmortem_review(postmortem=in_review, user=people.reviewer, decision="approve")
    assert awaiting(client) == [other.incident.reference]  # asked for changes: still mine to approve
    assert "you asked for changes to v1" in client.get(HOME).content.decode()


def test_a_new_version_needs_my_approval_again(client, people, in_review):
    services.postmortem_review(postmortem=in_review, user=people.reviewer, decision="approve")
    type(in_review).objects.filter(pk=in_review.pk).update(version=2)  # the authors edited it
    client.force_login(people.reviewer)
    assert awaiting(client) == [in_review.incident.reference]


def test_other_people_see_nothing_awaiting_their_review(client, people, in_review):
    for person in (people.facilitator, people.author, people.outsider, people.admin):
        client.force_login(person)
        assert awaiting(client) == []
        assert "No postmortems waiting for your review." in client.get(HOME).content.decode()


@pytest.mark.parametrize("rows", [1, 8])
def test_the_home_page_runs_a_fixed_number_of_queries(client, people, django_assert_max_num_queries, rows):
    for _ in range(rows):
        postmortem = make_postmortem(people, status="in_review")
        ActionItemFactory(postmortem=postmortem, owner=people.reviewer)
    client.force_login(people.reviewer)
    # session, user; my items (postmortem, incident, severity joined); awaiting my review (incident,
    # severity, facilitator joined; my latest decision a subquery); postmortems I facilitate;
    # recent incidents, their services.
    with django_assert_max_num_queries(7):
        response = client.get(HOME)
    assert len(response.context["awaiting_my_review"]) == rows


def test_after_approval_the_postmortem_page_says_who_publishes_next(client, people, in_review):
    client.force_login(people.reviewer)
    url = in_review.get_absolute_url()
    assert 'id="publish-next"' not in client.get(url).content.decode()
    client.post(reverse("postmortems:review", args=[in_review.pk]), {"decision": "approve", "comment": ""})
    name = people.facilitator.get_full_name()
    assert f"Approved. Next: {name} (the facilitator) or an admin publishes it." in client.get(url).content.decode()
    client.force_login(people.facilitator)
    assert "Approved. You can publish it next." in client.get(url).content.decode()
    client.force_login(people.admin)
    assert "Approved. You can publish it next." in client.get(url).content.decode()
    # A second reviewer asks for changes: nobody publishes next until that is settled.
    in_review.reviewers.add(people.member)
    services.postmortem_review(postmortem=in_review, user=people.member, decision="request_changes", comment="No")
    assert 'id="publish-next"' not in client.get(url).content.decode()


# --- links --------------------------------------------------------------------------------


def test_my_items_on_the_home_page_link_to_the_items(client, people, in_review):
    item = ActionItemFactory(postmortem=in_review, owner=people.reviewer, title="Rotate the key")
    client.force_login(people.reviewer)
    html = client.get(HOME).content.decode()
    assert f'<a class="text-nowrap" href="/actions/{item.reference}/">{item.reference}</a> Rotate the key' in html


def test_the_postmortem_page_links_its_action_items(client, people, in_review):
    item = in_review.action_items.get()
    client.force_login(people.facilitator)
    html = client.get(in_review.get_absolute_url()).content.decode()
    assert f'<a class="text-nowrap" href="/actions/{item.reference}/">{item.reference}</a> {item.title}' in html


def test_my_items_link_their_incident(client, people, in_review):
    item = in_review.action_items.get()
    client.force_login(people.author)
    html = client.get(reverse("actions:mine")).content.decode()
    assert f'<a href="/actions/{item.reference}/">' in html
    assert f'<a href="{in_review.incident.get_absolute_url()}">{in_review.incident.reference}</a>' in html


# --- severity badges ------------------------------------------------------------------------


def sev1_badge_classes(html: str) -> list[str]:
    """The classes of every badge that names SEV1 on the page."""
    return re.findall(r'<span class="badge ([^"]*)"[^>]*>SEV1\b', html)


def test_a_severity_has_the_same_badge_on_every_page(client, people):
    incident = IncidentFactory(severity=severity("SEV1"))
    postmortem = make_postmortem(people, status="published", incident=incident)
    make_postmortem(people, status="in_review", incident=IncidentFactory(severity=severity("SEV1")))
    client.force_login(people.reviewer)
    item = postmortem.action_items.get()
    item.owner = people.reviewer
    item.save()
    pages = {
        "home": HOME,
        "incident list": reverse("incidents:list"),
        "incident": incident.get_absolute_url(),
        "postmortem list": reverse("postmortems:list"),
        "postmortem": postmortem.get_absolute_url(),
        "my items": reverse("actions:mine"),
    }
    for name, url in pages.items():
        classes = sev1_badge_classes(client.get(url).content.decode())
        assert classes and set(classes) == {"sev-badge text-bg-danger"}, (name, classes)
    assert Incident.objects.filter(severity__name="SEV1").count() == 2
