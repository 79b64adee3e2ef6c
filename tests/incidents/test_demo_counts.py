"""What the demo shows, pinned: the counts a person meets on its pages (incidents, postmortems
per status, items per status and overdue, repeat links) are the same whatever the day and hour
it is seeded, so overdue items stay overdue and nothing drifts across midnight."""

from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from incidents.demo import demo_counts

pytestmark = pytest.mark.django_db

SHOWN = {
    "teams": 6,
    "users": 20,
    "services": 14,
    "incidents": 40,
    "open incidents": 3,
    "timeline events": 303,
    "severity changes": 5,
    "postmortems": 22,
    "postmortems draft": 3,
    "postmortems in_review": 3,
    "postmortems published": 16,
    "reviews": 37,
    "action items": 74,
    "action items open": 17,
    "action items in_progress": 9,
    "action items blocked": 3,
    "action items done": 41,
    "action items wont_do": 4,
    "overdue action items": 14,
    "action item changes": 101,
    "repeat links": 4,
}


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 3, 2, 0, 30, tzinfo=UTC),  # just after midnight
        datetime(2026, 3, 2, 23, 30, tzinfo=UTC),  # just before the next
        datetime(2027, 2, 28, 12, 0, tzinfo=UTC),  # another year, before a leap-less month end
    ],
)
def test_the_demo_shows_the_same_counts_whenever_it_is_seeded(when):
    with time_machine.travel(when, tick=False):
        call_command("seed_demo", stdout=StringIO())
        assert demo_counts() == SHOWN
