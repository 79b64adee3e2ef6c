"""The metrics: each figure on a small hand-computed fixture, the page, its CSV and the API."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from actions.models import ActionItem
from incidents.metrics import Filters, incident_metrics
from incidents.models import Incident, RepeatLink
from tests.conftest import is_postgres
from tests.factories import (
    T0,
    ActionItemFactory,
    IncidentFactory,
    PostmortemFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
    cause,
    severity,
)

pytestmark = pytest.mark.django_db

MARCH = Filters(start=date(2026, 3, 1), end=date(2026, 3, 31))
TODAY = date(2026, 4, 1)
MINUTE = 60


@pytest.fixture
def world():
    """Four incidents in March 2026 (T0 = Monday 2 March, 10:00 UTC):

    name  sev   service   cause     detect  ack    mitigate  resolve  (minutes after detection / start)
    i1    SEV2  payments  deploy    5       3      40        115
    i2    SEV2  payments  deploy    15      5      45        165
    i3    SEV1  search    capacity  —(no started)  —(no ack)  60  120
    i4    SEV2  search    capacity  25      10     30        95
    """
    payments_team, search_team = TeamFactory(name="Payments"), TeamFactory(name="Search")
    payments = ServiceFactory(name="payments-api", team=payments_team)
    search = ServiceFactory(name="search-api", team=search_team)
    d = T0
    i1 = IncidentFactory(title="i1", cause_category=cause("deploy"))
    i2 = IncidentFactory(
        title="i2",
        cause_category=cause("deploy"),
        detected_at=d + timedelta(minutes=15),
        acknowledged_at=d + timedelta(minutes=20),
        declared_at=d + timedelta(minutes=21),
        mitigated_at=d + timedelta(minutes=60),
        resolved_at=d + timedelta(minutes=180),
    )
    i3 = IncidentFactory(
        title="i3",
        severity=severity("SEV1"),
        cause_category=cause("capacity"),
        started_at=None,
        detected_at=d,
        acknowledged_at=None,
        declared_at=d + timedelta(minutes=1),
        mitigated_at=d + timedelta(minutes=60),
        resolved_at=d + timedelta(minutes=120),
    )
    i4 = IncidentFactory(
        title="i4",
        cause_category=cause("capacity"),
        detected_at=d + timedelta(minutes=25),
        acknowledged_at=d + timedelta(minutes=35),
        declared_at=d + timedelta(minutes=36),
        mitigated_at=d + timedelta(minutes=55),
        resolved_at=d + timedelta(minutes=120),
    )
    i1.services.add(payments)
    i2.services.add(payments)
    i3.services.add(search)
    i4.services.add(search)
    return {"i1": i1, "i2": i2, "i3": i3, "i4": i4, "payments": payments, "search": search, "team": payments_team}


def _stat(row, key):
    return row.stats[key]


def test_overall_durations_mean_median_p90_and_exclusions(world):
    m = incident_metrics(MARCH, today=TODAY)
    ttd = _stat(m.overall, "ttd")
    # detect: 5, 15, 25 minutes; i3 has no started time.
    assert (ttd.n, ttd.excluded) == (3, 1)
    assert ttd.mean == pytest.approx(15 * MINUTE)
    assert ttd.median == pytest.approx(15 * MINUTE)
    assert ttd.p90 == pytest.approx(23 * MINUTE)  # 15 + 0.8 × (25 − 15)
    tta = _stat(m.overall, "tta")
    # acknowledge: 3, 5, 10; i3 was never acknowledged: left out, not counted as zero.
    assert (tta.n, tta.excluded) == (3, 1)
    assert tta.mean == pytest.approx(6 * MINUTE)
    assert tta.median == pytest.approx(5 * MINUTE)
    ttr = _stat(m.overall, "ttr")
    # resolve (from detection): 115, 165, 120, 95
    assert (ttr.n, ttr.excluded) == (4, 0)
    assert ttr.mean == pytest.approx(123.75 * MINUTE)
    assert ttr.median == pytest.approx(117.5 * MINUTE)
    assert ttr.p90 == pytest.approx(151.5 * MINUTE)  # 120 + 0.7 × (165 − 120)
    ttm = _stat(m.overall, "ttm")
    # mitigate: 40, 45, 60, 30
    assert (ttm.median, ttm.mean) == (pytest.approx(42.5 * MINUTE), pytest.approx(43.75 * MINUTE))


def test_durations_by_severity_service_cause_and_period(world):
    m = incident_metrics(MARCH, today=TODAY)
    by_severity = {row.label: row for row in m.by_severity}
    assert set(by_severity) == {"SEV1", "SEV2"}
    assert by_severity["SEV1"].total == 1
    assert _stat(by_severity["SEV1"], "ttd").n == 0
    assert _stat(by_severity["SEV1"], "ttd").excluded == 1
    assert _stat(by_severity["SEV1"], "ttd").median is None
    assert _stat(by_severity["SEV2"], "ttd").median == pytest.approx(15 * MINUTE)

    by_service = {row.label: row for row in m.by_service}
    assert _stat(by_service["payments-api"], "ttd").mean == pytest.approx(10 * MINUTE)
    assert _stat(by_service["search-api"], "ttd").mean == pytest.approx(25 * MINUTE)
    assert _stat(by_service["search-api"], "ttd").excluded == 1

    by_cause = {row.label: row for row in m.by_cause}
    assert _stat(by_cause["Deploy"], "ttr").median == pytest.approx(140 * MINUTE)
    assert _stat(by_cause["Capacity"], "tta").n == 1

    assert [row.label for row in m.by_period] == ["2026-03"]
    assert m.by_period[0].total == 4


def test_counts_by_severity_and_cause_per_period(world):
    m = incident_metrics(MARCH, today=TODAY)
    march = date(2026, 3, 1)
    assert m.counts_by_severity[march] == {"SEV1": 1, "SEV2": 3}
    assert m.counts_by_cause[march] == {"Deploy": 2, "Capacity": 2}


def test_filters_team_service_severity(world):
    by_team = incident_metrics(Filters(start=MARCH.start, end=MARCH.end, team=world["team"]), today=TODAY)
    assert by_team.overall.total == 2
    by_service = incident_metrics(Filters(start=MARCH.start, end=MARCH.end, service=world["search"]), today=TODAY)
    assert by_service.overall.total == 2
    assert _stat(by_service.overall, "ttd").excluded == 1
    by_severity = incident_metrics(Filters(start=MARCH.start, end=MARCH.end, severity=severity("SEV1")), today=TODAY)
    assert by_severity.overall.total == 1


def test_an_incident_with_two_services_counts_once_overall_and_once_per_service(world):
    world["i1"].services.add(world["search"])
    m = incident_metrics(MARCH, today=TODAY)
    assert m.overall.total == 4
    assert {row.label: row.total for row in m.by_service} == {"payments-api": 2, "search-api": 3}
    team = incident_metrics(Filters(start=MARCH.start, end=MARCH.end, team=world["team"]), today=TODAY)
    assert team.overall.total == 2


def test_quarters(world):
    IncidentFactory(declared_at=datetime(2026, 4, 2, 12, tzinfo=UTC), severity=severity("SEV3"))
    m = incident_metrics(Filters(start=date(2026, 1, 1), end=date(2026, 6, 30), period="quarter"), today=TODAY)
    assert [row.label for row in m.by_period] == ["2026-Q1", "2026-Q2"]
    assert [row.total for row in m.by_period] == [4, 1]


@pytest.mark.parametrize(
    ("zone", "period", "in_march_range"),
    [("UTC", date(2026, 3, 1), True), ("Europe/Berlin", date(2026, 4, 1), False)],
)
def test_period_and_range_follow_the_site_time_zone(zone, period, in_march_range):
    # 23:30 UTC on 31 March is 01:30 on 1 April in Berlin (UTC+02:00 in summer time).
    late = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    IncidentFactory(
        started_at=late - timedelta(minutes=10),
        detected_at=late - timedelta(minutes=5),
        acknowledged_at=late - timedelta(minutes=4),
        declared_at=late,
        mitigated_at=late + timedelta(minutes=5),
        resolved_at=late + timedelta(minutes=6),
    )
    with timezone.override(zone):
        whole = incident_metrics(Filters(start=date(2026, 3, 1), end=date(2026, 4, 30)), today=TODAY)
        march = incident_metrics(Filters(start=date(2026, 3, 1), end=date(2026, 3, 31)), today=TODAY)
    assert [row.key for row in whole.by_period] == [period]
    assert list(whole.counts_by_severity) == [period]
    assert march.overall.total == (1 if in_march_range else 0)


def test_repeat_rate_counts_confirmed_links_only(world):
    RepeatLink.objects.create(
        incident=world["i2"], earlier=world["i1"], score=0.8, reason="x", state=RepeatLink.State.CONFIRMED
    )
    RepeatLink.objects.create(incident=world["i4"], earlier=world["i3"], score=0.7, reason="x")
    RepeatLink.objects.create(
        incident=world["i3"], earlier=world["i1"], score=0.6, reason="x", state=RepeatLink.State.DISMISSED
    )
    m = incident_metrics(MARCH, today=TODAY)
    assert m.repeats == {"incidents": 4, "confirmed_repeats": 1, "rate": 0.25}
    assert m.repeats_by_period[0]["rate"] == 0.25


def test_postmortem_completion(world):
    # Due: 5 business days after resolution on Monday 2 March -> Monday 9 March.
    PostmortemFactory(incident=world["i1"], status="published", published_at=datetime(2026, 3, 5, 12, tzinfo=UTC))
    PostmortemFactory(incident=world["i2"], status="published", published_at=datetime(2026, 3, 20, 12, tzinfo=UTC))
    PostmortemFactory(incident=world["i3"], status="draft")
    # i4 (SEV2, resolved) has no postmortem at all; a SEV3 does not need one.
    IncidentFactory(severity=severity("SEV3"))
    pm = incident_metrics(MARCH, today=TODAY).postmortems
    assert pm == {
        "required": 4,
        "published": 2,
        "on_time": 1,
        "not_started": 1,
        "past_due": 1,
        "published_rate": 0.5,
        "on_time_rate": 0.25,
    }


def test_action_item_completion_on_time_and_overdue(world):
    pm = PostmortemFactory(incident=world["i1"])

    def item(status, due, completed=None):
        obj = ActionItemFactory(postmortem=pm, status=status, due_date=due, resolution_note="n")
        if completed:
            ActionItem.objects.filter(pk=obj.pk).update(completed_at=completed)

    item("done", date(2026, 3, 20), datetime(2026, 3, 15, 12, tzinfo=UTC))  # on time
    item("done", date(2026, 3, 10), datetime(2026, 3, 25, 12, tzinfo=UTC))  # late
    item("open", date(2026, 3, 22))  # 10 days overdue on 1 April
    item("in_progress", date(2026, 3, 30))  # 2 days overdue
    item("open", date(2026, 4, 10))  # not due yet
    item("wont_do", None)
    ai = incident_metrics(MARCH, today=TODAY).action_items
    assert (ai["total"], ai["done"], ai["wont_do"], ai["open"]) == (6, 2, 1, 3)
    assert ai["completion_rate"] == pytest.approx(2 / 6)
    assert (ai["done_on_time"], ai["on_time_rate"]) == (1, 0.5)
    assert (ai["overdue"], ai["overdue_mean_days"], ai["overdue_max_days"]) == (2, 6.0, 10)


def test_no_incidents_gives_empty_figures_not_zeros(db):
    m = incident_metrics(MARCH, today=TODAY)
    assert m.overall.total == 0
    assert m.overall.stats["ttd"].median is None
    assert m.repeats["rate"] is None
    assert m.action_items["completion_rate"] is None


# --- The page, CSV and API ------------------------------------------------------------------------

PAGE = "/metrics/?start=2026-01-01&end=2026-12-31"


@pytest.fixture
def viewer(client):
    user = UserFactory(username="viewer")
    client.force_login(user)
    return user


def test_page_shows_figures_definitions_exclusions_and_charts(client, viewer, world):
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="tile-ttd"' in page
    assert "1 incident is left out: missing started or detected time" in page
    assert page.count("Detected time − started time") == 1  # written once, in the glossary
    assert page.count('<figure class="metrics-chart') == 7  # four response times, severity, cause, repeats
    assert "<script" not in page.split("<main")[1].split("</main>")[0]  # the charts carry no script
    assert "kozea.github.io" not in page
    assert "format=csv&amp;table=by_severity" in page


def _make_incidents(count):
    service = ServiceFactory()
    for n in range(count):
        incident = IncidentFactory(title=f"n{n}", cause_category=cause("deploy" if n % 2 else "capacity"))
        incident.services.add(service)
        PostmortemFactory(incident=incident)


@pytest.mark.parametrize("count", [5, 50])
def test_page_query_count_does_not_grow_with_incidents(client, viewer, count, django_assert_max_num_queries):
    _make_incidents(count)
    # The same queries as the pinned count below, at 5 and at 50 incidents.
    with django_assert_max_num_queries(17 if is_postgres() else 14):
        response = client.get(PAGE)
    assert response.status_code == 200


def test_csv_download(client, viewer, world):
    response = client.get(PAGE + "&format=csv&table=by_severity")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Group", "Metric", "Mean", "Median", "p90", "Included", "Excluded"]
    sev1_detect = next(r for r in rows if r[0] == "SEV1" and r[1] == "Time to detect")
    assert sev1_detect[2:] == ["", "", "", "0", "1"]
    sev2_detect = next(r for r in rows if r[0] == "SEV2" and r[1] == "Time to detect")
    assert sev2_detect[3] == "900.0"
    assert client.get(PAGE + "&format=csv&table=nope").status_code == 404


def test_csv_of_counts_and_figures(client, viewer, world):
    rows = list(csv.reader(io.StringIO(client.get(PAGE + "&format=csv&table=counts_severity").content.decode())))
    assert rows == [["Period", "SEV1", "SEV2", "Total"], ["2026-03", "1", "3", "4"]]
    rows = list(csv.reader(io.StringIO(client.get(PAGE + "&format=csv&table=repeats").content.decode())))
    assert rows[-1] == ["All", "4", "0", "0.0"]


def test_api_returns_the_same_figures_as_json(client, viewer, world):
    response = client.get("/api/v1/metrics/", {"start": "2026-03-01", "end": "2026-03-31"})
    assert response.status_code == 200
    data = response.json()
    assert data["filters"]["start"] == "2026-03-01"
    ttd = data["durations"]["overall"]["ttd"]
    assert ttd["median_seconds"] == 900.0
    assert ttd["excluded"] == 1
    assert ttd["excluded_because"] == "missing started or detected time"
    assert data["incident_counts"]["by_severity"] == [
        {"period": "2026-03", "counts": {"SEV1": 1, "SEV2": 3}, "total": 4, "suppressed": []}
    ]
    assert "Detected time" in data["definitions"]["ttd"]
    assert client.get("/api/v1/metrics/", {"start": "nonsense"}).status_code == 400


def test_api_and_page_need_sign_in(client, world):
    assert client.get("/api/v1/metrics/").status_code == 403
    assert client.get("/metrics/").status_code == 302


def test_restricted_incidents_count_but_their_titles_never_show(client, world):
    outsider = UserFactory(username="outsider")
    secret = IncidentFactory(title="Secret project meltdown")
    PostmortemFactory(incident=secret, visibility="restricted", status="published", published_at=T0)
    assert not Incident.objects.visible_to(outsider).filter(pk=secret.pk).exists()
    client.force_login(outsider)
    page = client.get(PAGE).content.decode()
    api = client.get("/api/v1/metrics/", {"start": "2026-01-01"}).content.decode()
    assert "Secret project meltdown" not in page
    assert "Secret project meltdown" not in api
    assert client.get("/api/v1/metrics/", {"start": "2026-01-01"}).json()["durations"]["overall"]["incidents"] == 5


@pytest.mark.parametrize("period", ["month", "quarter"])
def test_page_query_count_is_pinned(client, viewer, period, django_assert_num_queries):
    _make_incidents(5)
    # session, user; labels: severities, services, causes; durations of every grouping (one query);
    # counts and repeats per period; postmortems and action items (each per period, added up for
    # the range); for the previous period of the same length, its durations overall and its counts
    # (all the tiles compare: no tile compares postmortems or action items);
    # the teams (the filter's options and the links to their pages); form options: services,
    # severities. PostgreSQL adds set_config (work_mem, jit) and the savepoint and its release.
    with django_assert_num_queries(17 if is_postgres() else 14):
        response = client.get(f"{PAGE}&period={period}")
    assert response.status_code == 200


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_quarters_start_in_january_april_july_and_october(zone):
    # Noon UTC is the same day in both zones; SQLite computes UTC periods in SQL, others in Python.
    for month in (1, 3, 4, 9, 10, 12):
        declared = datetime(2025, month, 15, 12, tzinfo=UTC)
        IncidentFactory(
            started_at=declared - timedelta(minutes=10),
            detected_at=declared - timedelta(minutes=5),
            acknowledged_at=declared - timedelta(minutes=4),
            declared_at=declared,
            mitigated_at=declared + timedelta(minutes=5),
            resolved_at=declared + timedelta(minutes=6),
        )
    with timezone.override(zone):
        m = incident_metrics(Filters(start=date(2025, 1, 1), end=date(2025, 12, 31), period="quarter"), today=TODAY)
    assert [(row.key, row.label, row.total) for row in m.by_period] == [
        (date(2025, 1, 1), "2025-Q1", 2),
        (date(2025, 4, 1), "2025-Q2", 1),
        (date(2025, 7, 1), "2025-Q3", 1),
        (date(2025, 10, 1), "2025-Q4", 2),
    ]
    assert sorted(m.counts_by_severity) == [date(2025, 1, 1), date(2025, 4, 1), date(2025, 7, 1), date(2025, 10, 1)]


# --- Suppression: small cells that only restricted incidents explain ---------------------------------

SECRET_DAY = "2026-03-18"
# The restricted incident's time to detect: 13 minutes, shown as "13m 00s", 780.0 seconds.
SECRET_TTD = "13m 00s"


@pytest.fixture
def restricted(world):
    """A SEV1 incident of Security's vault service on 18 March, its postmortem published and
    restricted to Security; insider (in Security), outsider (in Payments), admin."""
    security = TeamFactory(name="Security", slug="security")
    insider, outsider = UserFactory(username="insider"), UserFactory(username="outsider")
    security.members.add(insider)
    world["team"].members.add(outsider)
    vault = ServiceFactory(name="vault", slug="vault", team=security)
    start = datetime(2026, 3, 18, 9, 0, tzinfo=UTC)
    incident = IncidentFactory(
        title="Vault unsealed",
        severity=severity("SEV1"),
        started_at=start,
        detected_at=start + timedelta(minutes=13),
        acknowledged_at=start + timedelta(minutes=14),
        declared_at=start + timedelta(minutes=15),
        mitigated_at=start + timedelta(minutes=30),
        resolved_at=start + timedelta(minutes=50),
    )
    incident.services.add(vault)
    pm = PostmortemFactory(incident=incident, visibility="restricted", status="published", published_at=start)
    pm.teams.add(security)
    ActionItemFactory(postmortem=pm, title="Reseal", due_date=date(2026, 3, 20))
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    return {"insider": insider, "outsider": outsider, "admin": admin}


def _one_day_of_security(client, user):
    """The audit's probe: metrics filtered down to one team and one day, as page, CSV and API."""
    client.force_login(user)
    query = {"start": SECRET_DAY, "end": SECRET_DAY, "team": "security"}
    page = client.get("/metrics/", query).content.decode()
    csv_text = client.get("/metrics/", {**query, "format": "csv", "table": "durations"}).content.decode()
    api = client.get("/api/v1/metrics/", query).json()
    return page, csv_text, api


def test_one_team_one_day_does_not_confirm_a_restricted_incident_or_its_timing(client, restricted):
    page, csv_text, api = _one_day_of_security(client, restricted["outsider"])
    assert SECRET_TTD not in page and "780" not in csv_text
    assert "Some figures are left out" in page and "&lt;3" in page
    overall = api["durations"]["overall"]
    assert overall["incidents"] is None and overall["suppressed"] is True
    assert overall["ttd"]["median_seconds"] is None and overall["ttd"]["suppressed"] is True
    assert api["incident_counts"]["by_severity"] == [
        {"period": "2026-03", "counts": {"SEV1": None}, "total": None, "suppressed": ["SEV1"]}
    ]
    assert api["postmortems"]["required"] is None and "required" in api["postmortems"]["suppressed"]
    assert api["action_items"]["total"] is None and api["action_items"]["overdue_max_days"] is None
    assert "<3" in csv_text and "suppressed" in api["definitions"]


@pytest.mark.parametrize("name", ["insider", "admin"])
def test_those_who_may_read_the_incident_get_the_figures_in_full(client, restricted, name):
    page, csv_text, api = _one_day_of_security(client, restricted[name])
    assert SECRET_TTD in page and "780.0" in csv_text and "Some figures are left out" not in page
    assert api["durations"]["overall"]["incidents"] == 1
    assert api["durations"]["overall"]["ttd"]["median_seconds"] == 780.0
    assert api["postmortems"]["suppressed"] == []


def test_restricted_incidents_stay_in_the_totals_and_large_cells(client, restricted):
    """Over March the outsider's totals still count all five incidents; only the small cells that
    the restricted one is in (its service, SEV1 with one other) are left out."""
    client.force_login(restricted["outsider"])
    api = client.get("/api/v1/metrics/", {"start": "2026-03-01", "end": "2026-03-31"}).json()
    assert api["durations"]["overall"]["incidents"] == 5 and api["durations"]["overall"]["suppressed"] is False
    by_service = {row["group"]: row for row in api["durations"]["by_service"]}
    assert by_service["vault"]["incidents"] is None and by_service["vault"]["ttd"]["mean_seconds"] is None
    assert by_service["payments-api"]["incidents"] == 2  # small, but nothing hidden in it
    by_severity = {row["group"]: row for row in api["durations"]["by_severity"]}
    assert by_severity["SEV1"]["incidents"] is None and by_severity["SEV2"]["incidents"] == 3
    [counts] = api["incident_counts"]["by_severity"]
    assert counts["counts"] == {"SEV1": None, "SEV2": 3} and counts["total"] == 5
    page = client.get("/metrics/?start=2026-03-01&end=2026-03-31").content.decode()
    assert "Some figures are left out" in page


def test_page_query_count_with_incidents_hidden_from_the_reader_is_pinned(
    client, restricted, django_assert_num_queries
):
    client.force_login(restricted["outsider"])
    # The pinned count above, plus the durations, postmortems and action items of the incidents
    # hidden from the reader (their counts come with the visible ones' in the same query); the
    # previous period holds none, so it adds its two queries only.
    with django_assert_num_queries(20 if is_postgres() else 17):
        response = client.get(PAGE)
    assert response.status_code == 200 and "Some figures are left out" in response.content.decode()


def test_a_restricted_incident_in_the_earlier_period_gives_no_change_away(client, restricted):
    # The day after the secret one: the tiles compare it with 18 March, which holds only the
    # restricted incident; its time to detect must not show through the change.
    client.force_login(restricted["outsider"])
    page = client.get("/metrics/", {"start": "2026-03-19", "end": "2026-03-19", "team": "security"})
    assert page.status_code == 200 and SECRET_TTD not in page.content.decode()
    from incidents.metrics import SUPPRESSED, compared_metrics

    day = Filters(start=date(2026, 3, 19), end=date(2026, 3, 19))
    _, earlier = compared_metrics(day, user=restricted["outsider"], today=date(2026, 4, 1))
    assert earlier.overall.total is SUPPRESSED and earlier.overall.stats["ttd"].median is SUPPRESSED
    assert earlier.postmortems == {} and earlier.action_items == {}  # no tile compares them
