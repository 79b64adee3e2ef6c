"""The chase, digest and postmortem-due jobs: who gets what, when (local time), and only once."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail

from actions import jobs
from actions.models import ActionItem, Notification, NotificationPreference
from tests.factories import IncidentFactory, PostmortemFactory, TeamFactory, UserFactory, severity

from .conftest import deliver_pending

pytestmark = pytest.mark.django_db

FRIDAY = date(2026, 3, 6)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def chase(moment: datetime) -> dict:
    with time_machine.travel(moment, tick=False):
        return jobs.chase_overdue_items(enqueue=False)


def ledger(kind=None) -> list[tuple[str, str]]:
    rows = Notification.objects.order_by("pk")
    if kind:
        rows = rows.filter(kind=kind)
    return list(rows.values_list("recipient_email", "period_key"))


@pytest.mark.parametrize(
    ("days", "step"), [(0, None), (1, 1), (2, 2), (3, 2), (7, 4), (8, 8), (63, 32), (64, 64), (200, 128)]
)
def test_reminders_come_at_a_growing_interval(days, step):
    assert jobs.reminder_step(days) == step


def test_no_reminder_at_the_weekend_then_one_on_monday_morning(org):
    org.item(due_date=FRIDAY)

    assert chase(at(2026, 3, 7, 10)) == {"reminders": 0, "escalations": 0}  # Saturday: first day overdue
    assert chase(at(2026, 3, 9, 8, 30)) == {"reminders": 0, "escalations": 0}  # Monday, before 09:00
    assert chase(at(2026, 3, 9, 9, 30)) == {"reminders": 1, "escalations": 0}
    assert chase(at(2026, 3, 9, 15)) == {"reminders": 0, "escalations": 0}  # hourly runs send it once
    assert ledger() == [("owner@example.com", "2026-03-06+2d")]

    deliver_pending()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@example.com"]
    assert "overdue by 3 days" in message.subject
    assert "http://127.0.0.1:8000/actions/AI-0001/" in message.body
    assert "/actions/AI-0001/" in message.alternatives[0][0]


def test_reminders_at_each_step_then_an_escalation_to_lead_and_facilitator(org):
    org.item(due_date=FRIDAY)
    chase(at(2026, 3, 9, 9, 30))  # 3 days: step 2
    assert chase(at(2026, 3, 10, 9, 30)) == {"reminders": 1, "escalations": 0}  # 4 days: step 4
    assert chase(at(2026, 3, 12, 9, 30)) == {"reminders": 0, "escalations": 0}  # 6 days: still step 4
    assert chase(at(2026, 3, 13, 9, 30)) == {"reminders": 0, "escalations": 2}  # 7 days: escalate
    assert chase(at(2026, 3, 16, 9, 30)) == {"reminders": 1, "escalations": 0}  # 10 days: step 8, escalated once
    assert sorted(ledger("escalation")) == [
        ("facilitator@example.com", "2026-03-06+escalation"),
        ("lead@example.com", "2026-03-06+escalation"),
    ]
    assert [key for _, key in ledger("reminder")] == ["2026-03-06+2d", "2026-03-06+4d", "2026-03-06+8d"]


def test_moving_the_due_date_starts_the_steps_again(org):
    item = org.item(due_date=FRIDAY)
    chase(at(2026, 3, 9, 9, 30))
    ActionItem.objects.filter(pk=item.pk).update(due_date=date(2026, 3, 13))
    assert chase(at(2026, 3, 16, 9, 30)) == {"reminders": 1, "escalations": 0}
    assert [key for _, key in ledger("reminder")] == ["2026-03-06+2d", "2026-03-13+2d"]


@pytest.mark.parametrize(
    ("zone", "too_early", "in_time"),
    [
        # Auckland is UTC+13 in March: Monday 09:30 there is Sunday 20:30 UTC.
        ("Pacific/Auckland", at(2026, 3, 8, 19, 30), at(2026, 3, 8, 20, 30)),
        # Los Angeles is UTC-7 from 8 March (daylight saving): Monday 09:30 there is 16:30 UTC.
        ("America/Los_Angeles", at(2026, 3, 9, 15, 30), at(2026, 3, 9, 16, 30)),
    ],
)
def test_reminders_follow_the_owner_time_zone(org, zone, too_early, in_time):
    NotificationPreference.objects.create(user=org.owner, time_zone=zone)
    org.item(due_date=FRIDAY)
    utc_owner = UserFactory(username="utc")
    org.item(due_date=FRIDAY, owner=utc_owner)

    chase(too_early)
    assert ("owner@example.com", "2026-03-06+2d") not in ledger("reminder")
    chase(in_time)
    assert ("owner@example.com", "2026-03-06+2d") in ledger("reminder")
    # The UTC owner is reminded at 09:30 UTC on Monday, not before.
    assert (("utc@example.com", "2026-03-06+2d") in ledger("reminder")) == (zone == "America/Los_Angeles")


def test_the_day_count_uses_the_owner_local_date(org):
    """Due Monday 9 March: at Tuesday 09:30 in Auckland (Monday 20:30 UTC) it is one day overdue there."""
    NotificationPreference.objects.create(user=org.owner, time_zone="Pacific/Auckland")
    org.item(due_date=date(2026, 3, 9))
    assert chase(at(2026, 3, 9, 20, 30))["reminders"] == 1
    assert ledger() == [("owner@example.com", "2026-03-09+1d")]


def test_every_open_item_is_chased_whatever_the_state_of_its_incident_or_postmortem(org):
    draft = PostmortemFactory(
        facilitator=org.facilitator, incident=IncidentFactory(status="investigating", resolved_at=None)
    )
    org.item(due_date=FRIDAY, postmortem=draft)
    org.item(due_date=FRIDAY, status="blocked")
    org.item(due_date=FRIDAY, status="done", resolution_note="Shipped")
    org.item(due_date=FRIDAY, status="wont_do", resolution_note="Superseded")
    assert chase(at(2026, 3, 9, 9, 30))["reminders"] == 2


def test_escalation_goes_to_the_owner_team_lead_when_the_item_has_no_team(org):
    org.item(due_date=date(2026, 3, 1), team=None)
    assert chase(at(2026, 3, 9, 9, 30))["escalations"] == 2
    assert {email for email, _ in ledger("escalation")} == {"lead@example.com", "facilitator@example.com"}


def test_an_item_of_a_restricted_postmortem_shows_its_title_but_no_incident(org):
    secret = IncidentFactory(title="Card numbers logged in plain text")
    restricted = PostmortemFactory(
        incident=secret,
        facilitator=org.facilitator,
        status="published",
        published_at=at(2026, 3, 3, 10),
        visibility="restricted",
        root_cause="The secret root cause",
    )
    restricted.teams.add(TeamFactory(name="Security", slug="security"))
    org.item(due_date=date(2026, 3, 1), postmortem=restricted, title="Rotate the keys")
    chase(at(2026, 3, 9, 9, 30))
    deliver_pending()

    by_recipient = {message.to[0]: message for message in mail.outbox if "Escalation" in message.subject}
    for message in mail.outbox:
        assert "The secret root cause" not in message.body + message.alternatives[0][0]
    to_lead = by_recipient["lead@example.com"]
    assert "Rotate the keys" in to_lead.body
    assert "Card numbers" not in to_lead.body + to_lead.alternatives[0][0]
    assert secret.reference not in to_lead.body
    # Emails leave out the incident of any postmortem not open to everyone, for insiders too.
    assert secret.reference not in by_recipient["facilitator@example.com"].body


def test_an_organisation_wide_postmortem_shows_its_incident_in_emails(org):
    org.item(due_date=FRIDAY)
    chase(at(2026, 3, 9, 9, 30))
    deliver_pending()
    incident = org.postmortem.incident
    assert f"From: {incident.reference} {incident.title}" in mail.outbox[0].body


# ---------------------------------------------------------------- digests


def digest(moment: datetime) -> dict:
    with time_machine.travel(moment, tick=False):
        return jobs.send_digests(enqueue=False)


def test_the_weekly_digest_groups_overdue_items_and_lists_due_soon_ones(org, settings):
    settings.ORG_DIGEST_EMAIL = "leadership@example.com"
    monday = date(2026, 3, 9)
    for days, title in [(3, "three days"), (10, "ten days"), (40, "forty days")]:
        org.item(due_date=date.fromordinal(monday.toordinal() - days), title=title)
    org.item(due_date=date(2026, 3, 12), title="due thursday")
    org.item(due_date=date(2026, 4, 30), title="far away")

    assert digest(at(2026, 3, 9, 7, 30)) == {"digests": 0, "team_digests": 0, "org_digests": 0}
    assert digest(at(2026, 3, 9, 8, 5)) == {"digests": 1, "team_digests": 1, "org_digests": 1}
    assert digest(at(2026, 3, 9, 9, 5)) == {"digests": 0, "team_digests": 0, "org_digests": 0}
    deliver_pending()

    messages = {message.to[0]: message for message in mail.outbox}
    body = messages["owner@example.com"].body
    assert messages["owner@example.com"].subject == "Your action items, week 2026-W11: 3 overdue, 1 due soon"
    assert body.index("Over 4 weeks overdue (1)") < body.index("forty days")
    assert body.index("1–4 weeks overdue (1)") < body.index("ten days") < body.index("1–7 days overdue (1)")
    assert body.index("three days") < body.index("due thursday")
    assert "far away" not in body
    assert messages["lead@example.com"].subject == "Payments action items, week 2026-W11: 3 overdue of 5 open"
    assert "3 overdue of 5 open" in messages["leadership@example.com"].subject


def test_digests_follow_the_recipient_time_zone_and_respect_opt_out(org):
    NotificationPreference.objects.create(user=org.owner, time_zone="Pacific/Auckland")
    NotificationPreference.objects.create(user=org.lead, digest_opt_out=True)
    org.item(due_date=FRIDAY)

    # Sunday 19:30 UTC is Monday 08:30 in Auckland; the UTC-based lead opted out anyway.
    assert digest(at(2026, 3, 8, 19, 30)) == {"digests": 1, "team_digests": 0, "org_digests": 0}
    assert ledger() == [("owner@example.com", "2026-W11")]
    assert digest(at(2026, 3, 9, 8, 30))["team_digests"] == 0  # the lead opted out


def test_an_opted_out_owner_still_gets_reminders(org):
    NotificationPreference.objects.create(user=org.owner, digest_opt_out=True)
    org.item(due_date=FRIDAY)
    assert digest(at(2026, 3, 9, 8, 30))["digests"] == 0
    assert chase(at(2026, 3, 9, 9, 30))["reminders"] == 1


# ---------------------------------------------------------------- postmortems due


def test_facilitators_are_reminded_of_required_postmortems_past_due(org):
    late = PostmortemFactory(facilitator=org.facilitator, incident=IncidentFactory(severity=severity("SEV1")))
    assert late.due_date == date(2026, 3, 9)  # resolved Monday 2 March + 5 business days
    PostmortemFactory(incident=IncidentFactory(severity=severity("SEV4")), due_date=date(2026, 3, 1))
    PostmortemFactory(
        incident=IncidentFactory(severity=severity("SEV1")), status="published", published_at=at(2026, 3, 3)
    )

    def remind(moment):
        with time_machine.travel(moment, tick=False):
            return jobs.remind_postmortems_due(enqueue=False)

    assert remind(at(2026, 3, 9, 10)) == 0  # due today
    assert remind(at(2026, 3, 10, 10)) == 1
    assert remind(at(2026, 3, 10, 15)) == 0
    deliver_pending()
    assert mail.outbox[0].to == ["facilitator@example.com"]
    assert mail.outbox[0].subject == f"Postmortem for {late.incident.reference} is 1 day past due"


def test_each_job_runs_now_from_the_command_line(org):
    from io import StringIO

    from django.core.management import call_command

    org.item(due_date=FRIDAY)
    out = StringIO()
    call_command("run_job", "chase", "--at", "2026-03-09T09:30+00:00", "--no-enqueue", stdout=out)
    call_command("run_job", "digest", "--at", "2026-03-09T08:30+00:00", "--no-enqueue", stdout=out)
    call_command("run_job", "postmortem_due", "--at", "2026-03-09T09:30+00:00", "--no-enqueue", stdout=out)
    assert "chase: {'reminders': 1, 'escalations': 0}" in out.getvalue()
    assert Notification.objects.filter(kind="digest").count() == 1


def test_the_organisation_digest_names_only_items_of_postmortems_open_to_everyone(org, settings):
    """The list address reaches readers of every team: the same rule as every email's incident
    line. Items of restricted and draft postmortems count, and link, but show no title."""
    settings.ORG_DIGEST_EMAIL = "everyone@example.com"
    restricted = PostmortemFactory(
        facilitator=org.facilitator, status="published", published_at=at(2026, 3, 3, 10), visibility="restricted"
    )
    restricted.teams.add(TeamFactory(name="Security", slug="security"))
    draft = PostmortemFactory(facilitator=org.facilitator)
    org.item(due_date=FRIDAY, title="Rotate the leaked signing keys", postmortem=restricted)
    org.item(due_date=FRIDAY, title="Purge the card numbers from logs", postmortem=draft)
    public = org.item(due_date=FRIDAY, title="Add a lock timeout")
    assert digest(at(2026, 3, 9, 8, 5))["org_digests"] == 1
    deliver_pending()
    [message] = [m for m in mail.outbox if m.to == ["everyone@example.com"]]
    html = message.alternatives[0][0]
    for text in (message.body, html):
        assert "Rotate the leaked signing keys" not in text and "Purge the card numbers" not in text
        assert "Add a lock timeout" in text and org.postmortem.incident.reference in text
        assert text.count("title not shown") == 2
    assert "3 overdue of 3 open" in message.subject  # the totals still count every item
    assert public.reference in message.body


def test_a_teams_digest_address_gets_the_titles_its_lead_gets_only_where_everyone_may_read_them(org):
    org.team.digest_email = "payments-all@example.com"
    org.team.save()
    restricted = PostmortemFactory(
        facilitator=org.facilitator, status="published", published_at=at(2026, 3, 3, 10), visibility="restricted"
    )
    restricted.teams.add(TeamFactory(name="Security", slug="security"))
    org.item(due_date=FRIDAY, title="Rotate the leaked signing keys", postmortem=restricted)
    org.item(due_date=FRIDAY, title="Add a lock timeout")
    assert digest(at(2026, 3, 9, 8, 5))["team_digests"] == 2
    deliver_pending()
    by_recipient = {m.to[0]: m for m in mail.outbox if "Payments action items" in m.subject}
    to_list = by_recipient["payments-all@example.com"]
    assert "Rotate the leaked signing keys" not in to_list.body + to_list.alternatives[0][0]
    assert "Add a lock timeout" in to_list.body and "title not shown" in to_list.body
    assert "Rotate the leaked signing keys" in by_recipient["lead@example.com"].body  # the lead may change it


def test_a_chase_killed_part_way_is_finished_by_the_next_scheduled_run_within_the_hour(org, monkeypatch):
    """The worker dies after the first chunk; the chase's next run, a minute later and
    still the owners' chase hour, claims the rest, and nobody gets a message twice."""
    from django_celery_beat.models import PeriodicTask

    from config import schedule

    for _ in range(5):
        org.item(due_date=FRIDAY)
    real_chunk, calls = jobs._chase_chunk, []

    def dies_after_the_first_chunk(*args, **kwargs):
        if calls:
            raise SystemExit("worker killed")
        calls.append(1)
        return real_chunk(*args, **kwargs)

    monkeypatch.setattr(jobs, "_chase_chunk", dies_after_the_first_chunk)
    with time_machine.travel(at(2026, 3, 9, 9, 5), tick=False), pytest.raises(SystemExit):
        jobs.chase_overdue_items(enqueue=False, chunk_size=2)
    assert len(ledger("reminder")) == 2
    monkeypatch.setattr(jobs, "_chase_chunk", real_chunk)

    schedule.install_schedule()
    assert PeriodicTask.objects.get(name="Chase overdue action items").crontab.minute == "*"
    with time_machine.travel(at(2026, 3, 9, 9, 6), tick=False):
        assert jobs.chase_overdue_items(enqueue=False, chunk_size=2) == {"reminders": 3, "escalations": 0}
    assert len(ledger("reminder")) == 5  # one per item: the first chunk's two were not claimed again
