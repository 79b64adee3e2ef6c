"""The metrics page as a lead reads it: headline tiles against the previous period, definitions
written once, long tables cut to their top 10, bar charts without zero labels, and a page per team."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from incidents.models import Incident, RepeatLink
from tests.conftest import is_postgres
from tests.factories import (
    ActionItemFactory,
    IncidentFactory,
    PostmortemFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
)
from tests.incidents import test_metrics

pytestmark = pytest.mark.django_db

# The metrics tests' fixtures: four March incidents, a signed-in viewer, a restricted incident.
world, viewer, restricted = test_metrics.world, test_metrics.viewer, test_metrics.restricted

MARCH = "/metrics/?start=2026-03-01&end=2026-03-31"


def _text(html: str) -> str:
    """The page's words, without tags, on one line."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _tile(page: str, key: str) -> str:
    return _text(page.split(f'id="tile-{key}">')[1].split("</li>")[0])


def _february(ttd_minutes: int, count: int = 2) -> None:
    for n in range(count):
        start = datetime(2026, 2, 10 + n, 10, tzinfo=UTC)
        IncidentFactory(
            title=f"feb{n}",
            started_at=start,
            detected_at=start + timedelta(minutes=ttd_minutes),
            acknowledged_at=start + timedelta(minutes=ttd_minutes + 1),
            declared_at=start + timedelta(minutes=ttd_minutes + 2),
            mitigated_at=start + timedelta(minutes=ttd_minutes + 3),
            resolved_at=start + timedelta(minutes=ttd_minutes + 4),
        )


def test_tiles_show_median_p90_and_the_change_on_the_previous_period(client, viewer, world):
    # March: TTD 5, 15 and 25 minutes (median 15m, p90 23m); the 31 days before it: 10 and 10.
    _february(ttd_minutes=10)
    page = client.get(MARCH).content.decode()
    assert _tile(page, "ttd").startswith("Time to detect ? Median 15m 00s +5m 00s p90 23m 00s +13m 00s")
    assert "Changes are against 29 Jan 2026 – 28 Feb 2026" in _text(page)
    assert "Rate 0% no change" in _tile(page, "repeat_rate")
    assert "Published" in _tile(page, "postmortems") and "Overdue" in _tile(page, "action_items")
    # Each tile leads to its breakdown and its definition, both on the page.
    assert 'href="#table-trend"' in page and 'id="table-trend"' in page
    assert 'href="#def-ttd"' in page and 'id="def-ttd"' in page


def test_without_earlier_figures_the_page_says_so_once(client, viewer, world):
    page = client.get(MARCH).content.decode()
    assert "No figures to compare with in 29 Jan 2026 – 28 Feb 2026" in _text(page)
    assert "No earlier figure" not in page and "+" not in _tile(page, "ttd")


def test_a_tile_without_an_earlier_figure_says_so(client, viewer, world):
    # February has an incident without an acknowledged time only: TTD compares, TTA cannot.
    _february(ttd_minutes=10, count=1)
    Incident.objects.filter(title="feb0").update(acknowledged_at=None)
    page = client.get(MARCH).content.decode()
    assert "No earlier figure to compare" in _tile(page, "tta")
    assert "No earlier figure" not in _tile(page, "ttd")


def test_definitions_are_written_once_with_their_exclusions(client, viewer, world):
    page = _text(client.get(MARCH).content.decode())
    assert page.count("Acknowledged time − detected time.") == 1
    assert "Acknowledged time − detected time. 1 incident is left out: missing detected or acknowledged time." in page
    assert page.count("Incidents with at least one confirmed repeat link") == 1


def test_long_tables_show_their_top_10_until_show_all(client, viewer, world):
    team = TeamFactory(name="Many")
    for n in range(11):
        service = ServiceFactory(name=f"svc-{n:02d}", team=team)
        for _ in range(1 + n % 3):
            IncidentFactory(title=f"s{n}").services.add(service)
    page = client.get(MARCH).content.decode()
    table = page.split('id="table-by_service"')[1].split("</table>")[0]
    assert table.count('<th scope="row">') == 10
    assert "Show all 13 rows" in page  # 11 services, payments-api and search-api
    page = client.get(MARCH + "&all=by_service").content.decode()
    assert page.split('id="table-by_service"')[1].split("</table>")[0].count('<th scope="row">') == 13
    # The most incidents first: payments-api and search-api (2 each) lead the svc-nn with 3.
    assert re.findall(r'<th scope="row">([^<]+)</th>', table)[:4] == ["svc-02", "svc-05", "svc-08", "payments-api"]


def test_tables_scroll_in_their_own_focusable_box(client, viewer, world):
    page = client.get(MARCH).content.decode()
    assert page.count('class="table-responsive metrics-scroll" tabindex="0" role="region"') == page.count("<table")


def test_bar_charts_print_no_zero_and_tell_each_value_on_hover(client, viewer, world):
    page = client.get(MARCH).content.decode()
    repeats = page.split('id="table-repeats"')[1].split("</figure>")[0]
    # March has incidents and no repeat: a row labelled 2026-03, no bar, no "0%".
    assert '<th scope="row" class="metrics-bar-label">2026-03</th>' in repeats
    assert "<rect" not in repeats and '<td class="metrics-bar-value text-end"></td>' in repeats
    severity = page.split('id="table-counts_severity"')[1].split("</figure>")[0]
    # One SEV1 and three SEV2 in March: a quarter and three quarters of the bar, the total printed.
    assert '<rect x="0.00%" width="25.00%" height="12" class="sev-1"><title>SEV1: 1</title>' in severity
    assert '<rect x="25.00%" width="75.00%" height="12" class="sev-2"><title>SEV2: 3</title>' in severity
    assert '<td class="metrics-bar-value text-end">4</td>' in severity


def _chart_rows(page: str, section: str) -> list[list[str]]:
    """Each chart row of a section as its words: label, then the numbers beside the bar."""
    html = page.split(f'id="table-{section}"')[1].split("</section>")[0]
    rows = re.findall(r'<tr class="metrics-bar">(.*?)</tr>', html)
    return [_text(re.sub(r"<svg.*?</svg>", "", row)).split(" ") for row in rows]


def test_every_chart_shows_its_numbers_beside_its_bars_without_opening_anything(client, viewer, world):
    page = client.get(MARCH).content.decode()
    # Counts per severity and the total, per period; no chart's numbers are folded away.
    assert _chart_rows(page, "counts_severity") == [["2026-03", "4", "1", "3"]]
    assert _chart_rows(page, "repeats") == [["2026-03", "0", "4"]]  # rate blank: no repeat; 0 of 4
    # Each response time's median (drawn) and p90 per period: TTD 5, 15, 25 minutes.
    assert _chart_rows(page, "trend")[0] == ["2026-03", "15m", "00s", "23m", "00s"]
    assert _chart_rows(page, "counts_cause") == [["Capacity", "2"], ["Deploy", "2"]]
    charts = page.split('id="table-trend"')[1].split('id="table-by_severity"')[0]
    assert "<details" not in charts
    assert "<details" not in page.split('id="table-counts_severity"')[1].split("</section>")[0]
    assert "<details" not in page.split('id="table-repeats"')[1].split("</section>")[0]


def _team_world(world):
    lead, owner = (
        UserFactory(username="lead", first_name="Lena"),
        UserFactory(username="olga", first_name="Olga", last_name="Ortiz"),
    )
    team = world["team"]  # Payments: i1 and i2
    team.lead = lead
    team.save()
    draft = PostmortemFactory(incident=world["i1"], status="draft")
    review = PostmortemFactory(incident=world["i2"], status="in_review")
    ActionItemFactory(postmortem=draft, owner=owner, team=team, due_date=date(2020, 1, 1))
    ActionItemFactory(postmortem=review, owner=owner, team=team, due_date=date(2099, 1, 1))
    ActionItemFactory(postmortem=review, owner=lead, team=team, due_date=None, status="done")
    RepeatLink.objects.create(
        incident=world["i2"], earlier=world["i1"], score=0.9, reason="Same lock", state="confirmed"
    )
    return team, lead


def test_team_page_shows_the_teams_figures_items_postmortems_and_repeats(client, world):
    team, lead = _team_world(world)
    client.force_login(lead)
    page = client.get(f"/metrics/teams/{team.slug}/?start=2026-03-01&end=2026-03-31").content.decode()
    text = _text(page)
    assert "<h1" in page and ">Payments</h1>" in page
    assert _tile(page, "ttd").startswith("Time to detect ? Median 10m 00s")  # i1 5m, i2 15m
    owners = _text(page.split('id="owners"')[1].split("</table>")[0])
    assert "Olga Ortiz 2 1" in owners  # 2 open, 1 overdue
    assert "Lena" not in owners  # done items are not open
    waiting = page.split('id="waiting"')[1].split('id="repeats"')[0]
    assert "i1" in waiting.split('id="waiting-draft"')[1].split("</ul>")[0]
    assert "i2" in waiting.split('id="waiting-in_review"')[1].split("</ul>")[0]
    assert "i4" not in waiting  # Search's incident
    assert world["i2"].reference in page.split('id="repeat-list"')[1].split("</ul>")[0]
    assert text.count("Resolved time − detected time.") == 1


def test_team_names_link_to_their_team_page(client, viewer, world):
    page = client.get(MARCH).content.decode()
    assert f'href="/metrics/teams/{world["team"].slug}/" class="team-link">Payments</a>' in page


def test_team_page_keeps_restricted_incidents_out(client, restricted):
    client.force_login(restricted["outsider"])
    page = client.get("/metrics/teams/security/?start=2026-03-18&end=2026-03-18").content.decode()
    assert "Vault unsealed" not in page
    assert "13m 00s" not in page  # the restricted incident's time to detect
    assert "&lt;3" in _tile(page, "ttd")
    assert "Reseal" not in page


def test_team_page_needs_sign_in_and_a_team(client, viewer, world):
    assert client.get("/metrics/teams/nope/").status_code == 404
    client.logout()
    assert client.get(f"/metrics/teams/{world['team'].slug}/").status_code == 302


def test_team_page_query_count_is_pinned(client, world, django_assert_num_queries):
    team, lead = _team_world(world)
    client.force_login(lead)
    # session, user, team and its lead; labels: severities, services, causes; durations, counts, postmortems and
    # action items for the range; durations overall and counts for the period before it; action items by owner;
    # postmortems waiting and not started; repeat-class incidents. PostgreSQL adds set_config and the savepoint.
    with django_assert_num_queries(19 if is_postgres() else 16):
        response = client.get(f"/metrics/teams/{team.slug}/?start=2026-03-01&end=2026-03-31")
    assert response.status_code == 200


def test_team_names_link_to_the_team_page_on_every_page_that_names_a_team(client, world):
    team, lead = _team_world(world)
    lead.is_staff = True  # reads every page below
    lead.save()
    client.force_login(lead)
    draft = world["i1"].postmortem
    draft.visibility = "restricted"
    draft.save()
    draft.teams.add(team)
    item = draft.action_items.first()
    link = f'<a href="/metrics/teams/{team.slug}/" class="team-link">Payments</a>'
    pages = {
        "incident": world["i1"].get_absolute_url(),
        "team items": f"/actions/teams/{team.slug}/",
        "item": item.get_absolute_url(),
        "items board": "/actions/board/",
        "postmortem": f"/postmortems/{draft.pk}/",
        "metrics": "/metrics/",
    }
    for name, path in pages.items():
        response = client.get(path)
        assert response.status_code == 200, name
        assert link in response.content.decode(), f"{name} ({path}) names the team without linking its page"
    postmortem = client.get(f"/postmortems/{draft.pk}/").content.decode()
    assert f"Restricted to {link}" in postmortem  # the visibility badge and the items' team column


def test_team_link_tag_renders_a_dash_without_a_team():
    from django.template import Context, Template

    assert Template("{% load incident_tags %}{% team_link None %}").render(Context()) == "—"


def test_each_response_time_tile_draws_its_trend_by_period(client, viewer, world):
    _february(ttd_minutes=10)
    page = client.get("/metrics/?start=2026-02-01&end=2026-03-31").content.decode()
    tile = page.split('id="tile-ttd">')[1].split("</li>")[0]
    # Medians 10m (February) and 15m (March): from two thirds of the height up to the top.
    assert '<polyline points="0.0,7.0 100.0,1.0"' in tile
    assert "<title>2026-02: 10m 00s; 2026-03: 15m 00s</title>" in tile
    # One period has no trend to draw.
    assert "<polyline" not in client.get(MARCH).content.decode().split('id="tile-ttd">')[1].split("</li>")[0]


def test_the_earlier_periods_overall_figures_match_a_full_computation(world):
    from incidents.metrics import Filters, compared_metrics, incident_metrics

    _february(ttd_minutes=10, count=3)
    march = Filters(start=date(2026, 3, 1), end=date(2026, 3, 31))
    _, earlier = compared_metrics(march, today=date(2026, 4, 1))
    full = incident_metrics(Filters(start=date(2026, 1, 29), end=date(2026, 2, 28)), today=date(2026, 4, 1))
    assert earlier.overall.stats == full.overall.stats and earlier.overall.total == 3
    assert earlier.repeats == full.repeats


def test_show_all_of_a_table_under_a_chart_opens_it(client, viewer, world):
    closed = client.get(MARCH).content.decode().split('id="table-counts_cause"')[1]
    assert '<details class="metrics-numbers">' in closed.split("</section>")[0]
    opened = client.get(MARCH + "&all=by_cause").content.decode().split('id="table-counts_cause"')[1]
    assert '<details class="metrics-numbers" open>' in opened.split("</section>")[0]
    assert 'id="table-by_cause"' in opened.split("</section>")[0]


def test_postmortem_and_action_item_tiles_draw_their_trend_by_period(client, viewer, world):
    # February: two required postmortems, one published; one item, done. March: four required,
    # all four published; two items, one done.
    _february(ttd_minutes=10)
    feb = list(Incident.objects.filter(title__startswith="feb").order_by("title"))
    PostmortemFactory(incident=feb[0], status="published", published_at=datetime(2026, 2, 12, tzinfo=UTC))
    ActionItemFactory(postmortem=PostmortemFactory(incident=feb[1], status="draft"), status="done")
    for name in ("i1", "i2", "i3", "i4"):
        pm = PostmortemFactory(incident=world[name], status="published", published_at=datetime(2026, 3, 3, tzinfo=UTC))
    ActionItemFactory(postmortem=pm, status="done")
    ActionItemFactory(postmortem=pm, status="open")
    page = client.get("/metrics/?start=2026-02-01&end=2026-03-31").content.decode()
    postmortems, items = _tile(page, "postmortems"), _tile(page, "action_items")
    assert "Published 83.3% 5 of 6" in postmortems  # the whole range, from the same query
    assert "Done 66.7% 2 of 3" in items
    tile = page.split('id="tile-postmortems">')[1].split("</li>")[0]
    assert "<title>2026-02: 50.0%; 2026-03: 100%</title>" in tile
    assert '<polyline points="0.0,10.0 100.0,1.0"' in tile
    assert "<title>2026-02: 100%; 2026-03: 50.0%</title>" in page.split('id="tile-action_items">')[1].split("</li>")[0]


def test_every_headline_tile_has_a_trend_over_the_default_twelve_months(client, viewer):
    # One required postmortem, published, with a done item, in each of the last three months.
    today = date.today()
    for months_ago in range(3):
        day = (today.replace(day=1) - timedelta(days=31 * months_ago)).replace(day=5)
        start = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
        incident = IncidentFactory(
            started_at=start,
            detected_at=start + timedelta(minutes=5 + months_ago),
            acknowledged_at=start + timedelta(minutes=10),
            declared_at=start + timedelta(minutes=11),
            mitigated_at=start + timedelta(minutes=30),
            resolved_at=start + timedelta(minutes=60 + months_ago),
        )
        pm = PostmortemFactory(incident=incident, status="published", published_at=start + timedelta(days=1))
        ActionItemFactory(postmortem=pm, status="done" if months_ago else "open")
    page = client.get("/metrics/").content.decode()
    for key in ("ttd", "tta", "ttm", "ttr", "repeat_rate", "postmortems", "action_items"):
        assert "<polyline" in page.split(f'id="tile-{key}">')[1].split("</li>")[0], f"{key} has no trend"


def _year_of_incidents(per_month: int) -> None:
    """``per_month`` incidents in each month of the last twelve, over six services of three teams,
    each with a postmortem, two action items and, every other one, a confirmed repeat link."""
    teams = [TeamFactory(name=f"Team {n}", slug=f"team-{n}") for n in range(3)]
    services = [ServiceFactory(name=f"svc-{n}", team=teams[n % 3]) for n in range(6)]
    owner, earlier = UserFactory(), None
    today = date.today()
    for month in range(12):
        day = (today.replace(day=1) - timedelta(days=30 * month)).replace(day=3)
        for n in range(per_month):
            start = datetime(day.year, day.month, day.day, 10, n, tzinfo=UTC)
            incident = IncidentFactory(
                title=f"m{month}-{n}",
                started_at=start,
                detected_at=start + timedelta(minutes=n + 1),
                acknowledged_at=start + timedelta(minutes=n + 2),
                declared_at=start + timedelta(minutes=n + 3),
                mitigated_at=start + timedelta(minutes=n + 30),
                resolved_at=start + timedelta(minutes=n + 90),
            )
            incident.services.add(services[n % 6])
            pm = PostmortemFactory(incident=incident, status="draft" if n % 2 else "in_review")
            for status in ("open", "done"):
                ActionItemFactory(postmortem=pm, owner=owner, team=teams[n % 3], status=status, due_date=day)
            if earlier and n % 2:
                RepeatLink.objects.create(incident=incident, earlier=earlier, score=0.9, reason="r", state="confirmed")
            earlier = incident


@pytest.mark.parametrize("per_month", [1, 6])
def test_metrics_and_team_page_query_counts_do_not_grow_with_months_teams_and_items(
    client, viewer, per_month, django_assert_max_num_queries
):
    # 12 incidents, or 72 with 144 action items and 35 repeat links, over twelve months: the same
    # queries (named in test_metrics.test_page_query_count_is_pinned and test_team_page_query_count_is_pinned).
    _year_of_incidents(per_month)
    with django_assert_max_num_queries(17 if is_postgres() else 14):
        assert client.get("/metrics/").status_code == 200
    with django_assert_max_num_queries(18 if is_postgres() else 15):  # and the team filter's team, by slug
        assert client.get("/metrics/?period=quarter&team=team-1").status_code == 200
    with django_assert_max_num_queries(19 if is_postgres() else 16):
        assert client.get("/metrics/teams/team-1/").status_code == 200
