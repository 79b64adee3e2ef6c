"""The postmortem list: filters, pagination, and a fixed number of queries as rows grow."""

import pytest

from incidents.models import Incident
from tests.factories import IncidentFactory, ServiceFactory, severity

from .conftest import make_postmortem

pytestmark = pytest.mark.django_db

LIST = "/postmortems/"


def make_many(people, count):
    for index in range(count):
        make_postmortem(
            people,
            status="published" if index % 2 else "draft",
            visibility="restricted" if index % 3 == 0 else "organisation",
            incident=IncidentFactory(severity=severity("SEV1" if index % 2 else "SEV3")),
        )


@pytest.mark.parametrize("rows", [5, 50])
@pytest.mark.parametrize("person", ["member", "admin"])
def test_the_list_keeps_a_fixed_number_of_queries(client, people, django_assert_max_num_queries, rows, person):
    make_many(people, rows)
    client.force_login(getattr(people, person))
    # Unfiltered: session, user, the count, one page of rows (incident, severity and
    # facilitator joined in; the permission rule is a subquery), the severity and team choices.
    with django_assert_max_num_queries(6):
        assert client.get(LIST, {"page": "2"}).status_code == 200
    # Filtered: the same, plus looking up the chosen severity and team.
    with django_assert_max_num_queries(8):
        response = client.get(LIST, {"status": "published", "severity": "SEV1", "team": "payments"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == rows // 2  # the member is in the restricted ones' team
    with django_assert_max_num_queries(8):
        assert client.get(LIST, {"mine": "on", "severity": "SEV3", "team": "payments"}).status_code == 200


def test_filters(client, people):
    published = make_postmortem(people, status="published", incident=IncidentFactory(severity=severity("SEV1")))
    draft = make_postmortem(people, incident=IncidentFactory(severity=severity("SEV3")))
    other_team_incident = IncidentFactory()
    other_team_incident.services.add(ServiceFactory())
    elsewhere = make_postmortem(people, status="published", incident=other_team_incident)
    elsewhere.teams.clear()
    client.force_login(people.facilitator)

    def shown(**query):
        page = client.get(LIST, query).text
        return {pm.pk for pm in (published, draft, elsewhere) if pm.get_absolute_url() in page}

    assert shown() == {published.pk, draft.pk, elsewhere.pk}
    assert shown(status="draft") == {draft.pk}
    assert shown(severity="SEV1") == {published.pk}
    assert shown(team="payments") == {published.pk, draft.pk}
    assert shown(mine="on") == {published.pk, draft.pk, elsewhere.pk}
    client.force_login(people.outsider)
    assert shown(mine="on") == set()
    assert shown() == {published.pk, elsewhere.pk}
    # Unknown filter values are ignored or flagged, never a 500.
    assert client.get(LIST, {"severity": "SEV99", "team": "nope", "status": "x", "page": "zz"}).status_code == 200


def test_pagination(client, people):
    make_many(people, 30)
    client.force_login(people.admin)
    first = client.get(LIST).text
    assert "Page 1 of 2" in first
    assert 'rel="next"' in first
    second = client.get(LIST, {"page": 2}).text
    assert "Page 2 of 2" in second
    assert Incident.objects.count() == 30
