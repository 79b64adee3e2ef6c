"""Who finds what in the archive search, whether the reader's readable rows beyond the
organisation-wide published ones enter the search as a list of ids (read once per search) or,
for a reader with more than ``LISTED_LIMIT`` of them, as the visibility subqueries."""

import pytest

from postmortems import querysets
from postmortems.search import search_postmortems
from tests.factories import IncidentFactory, ServiceFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "quokka"


@pytest.fixture(params=["listed", "subqueries"])
def visibility_form(request, monkeypatch):
    if request.param == "subqueries":  # every reader past the limit
        monkeypatch.setattr(querysets, "LISTED_LIMIT", 0)
    return request.param


@pytest.fixture
def readers(people):
    """The people of the fixture plus the incident's commander and a member of the team that
    owns one of its services: neither is in the postmortem's team."""
    _, users = people
    users = dict(users, commander=UserFactory(username="commander"), on_call=UserFactory(username="on_call"))
    TeamFactory(name="Ops").members.add(users["on_call"])
    return users


@pytest.fixture
def restricted(make_pm, readers):
    incident = IncidentFactory(title="Quokka gateway outage", commander=readers["commander"])
    incident.services.add(ServiceFactory(team=readers["on_call"].teams.get()))
    return make_pm(incident=incident, visibility="restricted", summary=f"The {SECRET} gateway failed.")


def finders(users, query):
    return {name for name, user in users.items() if search_postmortems(user, query).count()}


def test_a_restricted_postmortem_is_found_by_its_team_its_incident_s_people_and_those_on_it(
    visibility_form, restricted, readers
):
    insiders = {"facilitator", "author", "reviewer", "teammate", "admin", "commander", "on_call"}
    assert finders(readers, SECRET) == insiders
    assert "outsider" not in finders(readers, SECRET)


def test_drafts_are_found_only_by_the_people_working_on_them(visibility_form, make_pm, readers):
    make_pm(status="draft", summary=f"A {SECRET} draft.")
    assert finders(readers, SECRET) == {"facilitator", "author", "reviewer", "admin"}


def test_a_search_widened_to_most_words_shows_outsiders_no_restricted_postmortem(
    visibility_form, make_pm, restricted, readers
):
    # Nothing holds all three words, so the search widens to those holding most of them: the
    # widened search keeps the reader's visibility.
    open_one = make_pm(summary="The wombat gateway failed.")
    outsider = [pm.pk for pm in search_postmortems(readers["outsider"], f"{SECRET} wombat gateway")]
    commander = [pm.pk for pm in search_postmortems(readers["commander"], f"{SECRET} wombat gateway")]
    assert outsider == [open_one.pk]
    assert set(commander) == {open_one.pk, restricted.pk}
