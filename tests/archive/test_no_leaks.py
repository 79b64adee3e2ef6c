"""A secret word in a redacted section, or in a restricted postmortem, reaches nobody outside:
not through the archive page, its snippets, the feed, the similar panel, or the export."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from postmortems.models import FeedToken
from postmortems.search import search_postmortems
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

SECRET = "xylophone"
URL = reverse("archive:index")


@pytest.fixture
def redacted(make_pm):
    """Organisation-wide, but the root cause (holding the secret) and the summary are internal."""
    return make_pm(
        incident=IncidentFactory(title="Quokka cluster outage"),
        summary=f"Quokka summary with {SECRET} in it.",
        impact="The quokka cluster was down for everyone.",
        root_cause=f"The quokka {SECRET} vendor shipped a bad build.",
        internal_sections=["summary", "root_cause"],
    )


@pytest.fixture
def restricted(make_pm):
    return make_pm(visibility="restricted", summary=f"Restricted quokka story about {SECRET}.")


def _search_page(client, query):
    response = client.get(URL, {"q": query})
    assert response.status_code == 200
    return response


def _feed(client, user):
    return client.get(reverse("archive:feed", args=[FeedToken.for_user(user).token])).content.decode()


def _similar_panel(source, user):
    request = RequestFactory().get("/")
    request.user = user
    template = Template("{% load archive_tags %}{% similar_postmortems postmortem %}")
    return template.render(Context({"request": request, "postmortem": source}))


def test_a_redacted_word_is_unfindable_by_an_outsider_and_findable_by_the_team(redacted, people, as_user):
    _, users = people
    assert [pm.pk for pm in search_postmortems(users["outsider"], SECRET)] == []
    assert [pm.pk for pm in search_postmortems(users["teammate"], SECRET)] == [redacted.pk]
    assert [pm.pk for pm in search_postmortems(users["admin"], SECRET)] == [redacted.pk]
    assert redacted.pk not in [pm.pk for pm in _search_page(as_user("outsider"), SECRET).context["page"]]
    teammate_page = _search_page(as_user("teammate"), SECRET)
    assert f"<mark>{SECRET}</mark>".encode() in teammate_page.content


def test_a_redacted_word_never_appears_in_an_outsiders_snippet(redacted, as_user):
    response = _search_page(as_user("outsider"), "quokka")
    assert [pm.pk for pm in response.context["page"]] == [redacted.pk]
    assert SECRET.encode() not in response.content
    # An exclusion only narrows by what the reader can see: the secret does not exclude it.
    assert [pm.pk for pm in _search_page(as_user("outsider"), f"quokka -{SECRET}").context["page"]] == [redacted.pk]


def test_the_empty_search_lists_no_redacted_summary(redacted, as_user):
    response = _search_page(as_user("outsider"), "")
    assert [pm.pk for pm in response.context["page"]] == [redacted.pk]
    assert SECRET.encode() not in response.content


def test_a_restricted_postmortem_is_found_only_by_its_team(restricted, people, as_user):
    _, users = people
    assert [pm.pk for pm in search_postmortems(users["outsider"], "quokka")] == []
    assert [pm.pk for pm in search_postmortems(users["teammate"], SECRET)] == [restricted.pk]
    assert SECRET.encode() not in _search_page(as_user("outsider"), "").content


def test_the_feed_respects_redaction_and_restriction(redacted, restricted, people, client):
    _, users = people
    outsider_feed = _feed(client, users["outsider"])
    assert "Quokka cluster outage" in outsider_feed
    assert SECRET not in outsider_feed
    assert restricted.incident.reference not in outsider_feed
    teammate_feed = _feed(client, users["teammate"])
    assert SECRET in teammate_feed and restricted.incident.reference in teammate_feed


def test_the_similar_panel_never_matches_on_hidden_text(make_pm, redacted, people):
    _, users = people
    source = make_pm(incident=IncidentFactory(title="Vendor xylophone release"), summary="A bad vendor build.")
    assert "Quokka cluster outage" not in _similar_panel(source, users["outsider"])
    assert "Quokka cluster outage" in _similar_panel(source, users["teammate"])


def test_the_similar_panel_never_shows_restricted_postmortems_to_outsiders(make_pm, restricted, people):
    _, users = people
    source = make_pm(summary="Another quokka story.")
    assert restricted.incident.reference not in _similar_panel(source, users["outsider"])
    assert restricted.incident.reference in _similar_panel(source, users["teammate"])


def test_the_export_replaces_redacted_sections_with_the_notice(redacted, as_user):
    url = reverse("archive:export", args=[redacted.pk])
    outsider = as_user("outsider").get(url)
    assert outsider.status_code == 200
    text = outsider.content.decode()
    assert SECRET not in text
    assert "This section is internal to Payments." in text
    assert "The quokka cluster was down for everyone." in text
    assert SECRET in as_user("teammate").get(url).content.decode()


def test_the_export_of_a_restricted_postmortem_is_a_404_outside_the_team(restricted, as_user):
    url = reverse("archive:export", args=[restricted.pk])
    assert as_user("outsider").get(url).status_code == 404
    assert as_user("teammate").get(url).status_code == 200


def test_an_excluded_word_in_a_redacted_section_excludes_only_for_readers_who_may_see_it(redacted, people):
    # The root cause (internal) holds the secret: excluding it drops the postmortem for a
    # teammate, who may read that section, but not for an outsider, whose results must not
    # depend on text they may not see.
    _, users = people
    assert search_postmortems(users["outsider"], f"quokka -{SECRET}").count() == 1
    assert search_postmortems(users["teammate"], f"quokka -{SECRET}").count() == 0
    assert search_postmortems(users["admin"], f"quokka -{SECRET}").count() == 0


def test_an_excluded_word_keeps_the_team_s_postmortems_without_internal_sections(redacted, make_pm, people):
    """A teammate's exclusion is checked on all the text of the postmortems with internal
    sections; the team's other postmortems still match on their (public) text."""
    _, users = people
    plain = make_pm(summary="The quokka cluster restarted cleanly.")
    assert [pm.pk for pm in search_postmortems(users["teammate"], f"quokka -{SECRET}")] == [plain.pk]
    assert {pm.pk for pm in search_postmortems(users["outsider"], f"quokka -{SECRET}")} == {plain.pk, redacted.pk}
