"""Phrases among alternatives (``"a b" OR "c d"``, as a synonym's phrases become) matched in
internal sections: found by the readers who may see them, as phrases, never by their words
alone, and never by outsiders."""

import pytest

from postmortems.search import search_postmortems

pytestmark = pytest.mark.django_db

QUERY = '"worker pool" OR "thread pool"'


@pytest.fixture
def internal(make_pm):
    internal = ["root_cause"]
    phrase = make_pm(
        summary="Checkout slowed down.", root_cause="The worker pool was exhausted.", internal_sections=internal
    )
    scattered = make_pm(
        summary="Search slowed down.", root_cause="Each worker had a pool, exhausted.", internal_sections=internal
    )
    return phrase, scattered


def found(user, query=QUERY):
    return [pm.pk for pm in search_postmortems(user, query)]


def test_a_phrase_among_alternatives_is_found_in_internal_text_by_the_team(internal, people):
    phrase, _ = internal
    _, users = people
    assert found(users["teammate"]) == [phrase.pk]
    assert found(users["admin"]) == [phrase.pk]


def test_outsiders_do_not_find_it_through_the_internal_text(internal, people):
    _, users = people
    assert found(users["outsider"]) == []
