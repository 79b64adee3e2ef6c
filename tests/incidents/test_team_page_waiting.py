"""The team page's postmortems waiting: a team with hundreds of drafts shows the first few of each
list with how many there are, and a link to the postmortem list filtered to the team and status."""

import re
from datetime import date, timedelta

import pytest

from incidents.metrics import WAITING_LIMIT
from tests.conftest import is_postgres
from tests.factories import IncidentFactory, PostmortemFactory, ServiceFactory, TeamFactory, UserFactory, severity

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(client):
    user = UserFactory(username="lead")
    client.force_login(user)
    return user


def _busy_team(drafts: int, reviews: int, not_started: int):
    """Payments with ``drafts`` drafts due a day apart (the last listed first: latest created, due
    earliest), ``reviews`` postmortems in review and ``not_started`` resolved SEV2s without one."""
    team = TeamFactory(name="Payments", slug="payments")
    service = ServiceFactory(team=team)
    first_due = date(2026, 1, 1)
    for n in range(drafts):
        incident = IncidentFactory(title=f"draft-{n:03}")
        incident.services.add(service)
        PostmortemFactory(incident=incident, status="draft", due_date=first_due + timedelta(days=drafts - n))
    for n in range(reviews):
        incident = IncidentFactory(title=f"review-{n:03}")
        incident.services.add(service)
        PostmortemFactory(incident=incident, status="in_review", due_date=first_due + timedelta(days=n))
    assert severity("SEV2").requires_postmortem
    for n in range(not_started):
        incident = IncidentFactory(title=f"nopm-{n:03}")
        incident.services.add(service)
    return team


def _section(page: str, key: str) -> str:
    return page.split(f'id="waiting-{key}"')[1].split("</ul>")[0]


def test_a_long_list_shows_the_earliest_due_with_the_count_and_a_link_to_all(client, lead):
    team = _busy_team(drafts=WAITING_LIMIT + 5, reviews=3, not_started=WAITING_LIMIT + 2)
    page = client.get(f"/metrics/teams/{team.slug}/").content.decode()

    drafts = re.findall(r"draft-\d{3}", _section(page, "draft"))
    # Draft n is due on day (25 - n): the listed twenty are 024 down to 005, earliest due first.
    assert drafts == [f"draft-{n:03}" for n in range(WAITING_LIMIT + 4, 4, -1)]
    assert "Being written (draft) <span" in page and f"({WAITING_LIMIT + 5})</span>" in page
    more = page.split('id="waiting-draft-more"')[1].split("</p>")[0]
    assert f"The {WAITING_LIMIT} due earliest of {WAITING_LIMIT + 5}." in more
    assert 'href="/postmortems/?team=payments&amp;status=draft"' in more

    assert len(re.findall(r"review-\d{3}", _section(page, "in_review"))) == 3
    assert 'id="waiting-in_review-more"' not in page  # all three shown: nothing more to link to

    assert len(re.findall(r"nopm-\d{3}", _section(page, "not_started"))) == WAITING_LIMIT
    assert f"of {WAITING_LIMIT + 2}." in page.split('id="waiting-not_started-more"')[1].split("</p>")[0]


def test_the_link_leads_to_every_draft_of_the_team_the_reader_may_open(admin_client):
    # An admin may open every draft; others see there those they write (the list's own rule).
    team = _busy_team(drafts=WAITING_LIMIT + 5, reviews=3, not_started=0)
    PostmortemFactory(incident=IncidentFactory(title="draft-other-team"), status="draft")
    listing = admin_client.get("/postmortems/", {"team": team.slug, "status": "draft"}).content.decode()
    assert len(set(re.findall(r"draft-\d{3}", listing))) == WAITING_LIMIT + 5
    assert "draft-other-team" not in listing and "review-" not in listing


@pytest.mark.parametrize("count", [1, WAITING_LIMIT + 20])
def test_the_query_count_does_not_grow_with_waiting_postmortems(client, lead, count, django_assert_max_num_queries):
    team = _busy_team(drafts=count, reviews=count, not_started=count)
    # The pinned count of test_metrics_page.test_team_page_query_count_is_pinned: two queries for
    # the postmortems waiting (drafts and reviews, then not started), each list counted in its query.
    with django_assert_max_num_queries(19 if is_postgres() else 16):
        assert client.get(f"/metrics/teams/{team.slug}/").status_code == 200
