"""Emails that name a team link its team page, as the pages do: the escalation, the team's digest
and the organisation's digest, as received by a real SMTP server on loopback. The plain-text part
gives the address; what an email leaves out of a restricted postmortem stays out."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from actions import jobs
from tests.factories import IncidentFactory, PostmortemFactory, TeamFactory

from . import test_notifications_workflow as workflow
from .conftest import deliver_pending

# The workflow tests' SMTP server on loopback (aiosmtpd), with SITE_URL https://pm.example.com.
inbox = workflow.inbox

pytestmark = pytest.mark.django_db

SITE = "https://pm.example.com"
PAYMENTS_PAGE = f"{SITE}/metrics/teams/payments/"
# Monday 9 March: digests go out at 8, the chase runs at 9 (an item due on 1 March is escalated).
DIGEST_TIME, CHASE_TIME = datetime(2026, 3, 9, 8, 5, tzinfo=UTC), datetime(2026, 3, 9, 9, 30, tzinfo=UTC)


def messages(server, subject_starts: str) -> list[tuple[str, str, str]]:
    """(recipient, plain text, HTML) of each message whose subject starts so, as a client reads it."""
    return [
        (
            message["To"],
            workflow.body(message).replace("\r\n", "\n"),
            message.get_body(preferencelist=("html",)).get_content(),
        )
        for message in workflow.received(server)
        if message["Subject"].startswith(subject_starts)
    ]


@pytest.fixture(autouse=True)
def org_address(settings):
    settings.ORG_DIGEST_EMAIL = "everyone@example.com"


def run_jobs() -> None:
    with time_machine.travel(DIGEST_TIME, tick=False):
        jobs.send_digests(enqueue=False)
    with time_machine.travel(CHASE_TIME, tick=False):
        jobs.chase_overdue_items(enqueue=False)
    deliver_pending()


def test_an_escalation_links_the_items_team(inbox, org):
    org.item(due_date=date(2026, 3, 1), title="Add a lock timeout")
    run_jobs()
    [(to, text, html)] = [m for m in messages(inbox, "Escalation") if m[0] == "lead@example.com"]
    assert f'Team: <a href="{PAYMENTS_PAGE}">Payments</a>' in html
    assert f"Team: Payments ({PAYMENTS_PAGE})" in text


def test_a_teams_digest_links_its_team_page_beside_its_items(inbox, org, client):
    org.item(due_date=date(2026, 3, 1))
    run_jobs()
    [(to, text, html)] = messages(inbox, "Payments action items")
    assert f'<a href="{PAYMENTS_PAGE}">Payments</a></strong>\'s open action items' in html
    assert f"Payments's open action items this week (2026-W11):\n{PAYMENTS_PAGE}\n" in text
    assert f"{SITE}/actions/teams/payments/" in html  # the team's items, as before
    client.force_login(org.lead)  # the link leads to the team's page
    assert ">Payments</h1>" in client.get(PAYMENTS_PAGE.removeprefix(SITE)).content.decode()


def test_the_organisation_digest_links_each_team_and_still_hides_restricted_titles(inbox, org):
    security = TeamFactory(name="Security", slug="security")
    restricted = PostmortemFactory(
        incident=IncidentFactory(title="Card numbers logged in plain text"),
        facilitator=org.facilitator,
        status="published",
        published_at=datetime(2026, 3, 3, 10, tzinfo=UTC),
        visibility="restricted",
    )
    restricted.teams.add(security)
    org.item(due_date=date(2026, 3, 1), title="Rotate the leaked signing keys", postmortem=restricted, team=security)
    org.item(due_date=date(2026, 3, 2), title="Add a lock timeout")
    org.item(due_date=date(2026, 3, 3), title="Nobody's yet", team=None)
    run_jobs()
    [(to, text, html)] = messages(inbox, "Action items, week")
    assert to == "everyone@example.com"
    security_page = f"{SITE}/metrics/teams/security/"
    assert f'<td><a href="{PAYMENTS_PAGE}">Payments</a></td>' in html
    assert f'<td><a href="{security_page}">Security</a></td>' in html
    assert html.index("Security</a></td>") < html.index("<td>No team</td>")  # last, and not linked
    longest = html.split("Longest overdue")[1]
    assert f'title not shown)</a> — <a href="{security_page}">Security</a>, 8 days overdue' in longest
    assert f'— <a href="{PAYMENTS_PAGE}">Payments</a>, 7 days overdue' in longest
    assert "— no team, 6 days overdue" in longest
    assert f"  - Security: 1 / 1: 0, 1, 0 / 0\n    {security_page}\n" in text
    assert "  - No team: 1 / 1: 1, 0, 0 / 0\n\nLongest overdue" in text  # last, and no address
    for part in (text, html):
        assert "Rotate the leaked signing keys" not in part and "Card numbers" not in part
        assert restricted.incident.reference not in part
