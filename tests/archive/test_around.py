"""The feed (and its token), the Markdown export, and the similar panel."""

import pytest
from django.urls import reverse

from postmortems.models import FeedToken
from tests.factories import ActionItemFactory, IncidentFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


def test_the_feed_lists_newly_published_postmortems_with_their_summary(make_pm, people, client):
    _, users = people
    pm = make_pm(incident=IncidentFactory(title="DNS outage"), summary="Resolvers **failed**.")
    make_pm(status="draft", incident=IncidentFactory(title="Draft outage"))
    response = client.get(reverse("archive:feed", args=[FeedToken.for_user(users["outsider"]).token]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    body = response.content.decode()
    assert f"{pm.incident.reference} DNS outage" in body
    assert "&lt;strong&gt;failed&lt;/strong&gt;" in body
    assert "Draft outage" not in body


def test_a_regenerated_token_retires_the_old_feed_url(people, as_user, client):
    _, users = people
    old = FeedToken.for_user(users["outsider"]).token
    page = as_user("outsider")
    assert old in page.get(reverse("archive:feed_settings")).content.decode()
    page.post(reverse("archive:feed_regenerate"))
    new = FeedToken.for_user(users["outsider"]).token
    assert new != old
    assert client.get(reverse("archive:feed", args=[old])).status_code == 404
    assert client.get(reverse("archive:feed", args=[new])).status_code == 200


def test_an_unknown_token_is_a_404(client, db):
    assert client.get(reverse("archive:feed", args=["nope"])).status_code == 404


def test_the_export_is_a_markdown_file_with_sections_timeline_and_action_items(make_pm, as_user):
    pm = make_pm(summary="Checkout failed.", lessons="Lock timeouts.")
    TimelineEventFactory(incident=pm.incident, text="Alert fired for checkout")
    item = ActionItemFactory(postmortem=pm, title="Add a lock timeout")
    response = as_user("outsider").get(reverse("archive:export", args=[pm.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="{pm.incident.reference}.md"'
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    text = response.content.decode()
    for expected in ("## Summary", "Checkout failed.", "## Lessons", "Alert fired for checkout", item.reference):
        assert expected in text


def test_drafts_export_only_to_the_people_on_them(make_pm, as_user):
    pm = make_pm(status="draft")
    url = reverse("archive:export", args=[pm.pk])
    assert as_user("outsider").get(url).status_code == 404
    assert as_user("author").get(url).status_code == 200
