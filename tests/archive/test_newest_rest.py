"""The newest-first rest of the rescoring window on PostgreSQL: the same matches whether the
walk over the newest candidates finds them all or the GIN indexes take over."""

import pytest
from django.db import connection

from postmortems.search import results as search_results
from postmortems.search import search_postmortems
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("walk", [1, 4, 1500])
def test_the_window_fills_with_the_newest_readable_matches_whatever_the_walk_finds(make_pm, people, monkeypatch, walk):
    if connection.vendor != "postgresql":
        pytest.skip("the title-and-summary pass and its newest-first rest are PostgreSQL's")
    monkeypatch.setattr(search_results, "RESCORE_WINDOW", 3)
    monkeypatch.setattr(search_results, "NEWEST_WALK", walk)
    title = make_pm(incident=IncidentFactory(title="Quokka outage"), summary="The brokers stalled.")
    bodies = [
        make_pm(summary="Routine deploy.", root_cause="A quokka chewed a cable." if n % 2 == 0 else "A wombat dug.")
        for n in range(6)
    ]
    # Newest of all and matching, but restricted to the Payments team: not the outsider's.
    make_pm(summary="Routine deploy.", root_cause="A quokka again.", visibility="restricted")
    outsider, teammate = people[1]["outsider"], people[1]["teammate"]

    results = search_postmortems(outsider, "quokka")
    # A walk over 1 newest candidate finds no match (the indexes take over), over 4 the two
    # needed, over all of them every match.
    assert results._first_pass() == (4, [title.pk, bodies[4].pk, bodies[2].pk])
    assert [pm.pk for pm in results] == [title.pk, bodies[4].pk, bodies[2].pk, bodies[0].pk]
    assert len(search_postmortems(teammate, "quokka")._first_pass()[1]) == 3
    assert search_postmortems(teammate, "quokka").count() == 5
