"""Repeat-class detection: scoring, the job, the decisions, the incident page's list, the command."""

import copy
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from actions.models import ActionItem, Notification
from actions.notifications import deliver
from incidents import services, tasks
from incidents.metrics import Filters, incident_metrics
from incidents.models import FailureClass, Incident, RepeatLink
from incidents.repeats import IncidentDoc, score_pair, stem, term
from tests.api.test_webhooks import AM as ALERTMANAGER
from tests.api.test_webhooks import FIRING
from tests.factories import (
    T0,
    ActionItemFactory,
    IncidentFactory,
    PostmortemFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
    cause,
)

LATER = T0 + timedelta(days=120)


# --- The pure scoring ------------------------------------------------------------------------------


def doc(**kwargs) -> IncidentDoc:
    base = {
        "title": "Payments failing during sale",
        "services": frozenset({"payments-api"}),
        "cause_category": "Capacity",
        "root_cause": "The database connection pool was exhausted by slow ledger queries.",
        "started_at": T0,
    }
    base.update(kwargs)
    return IncidentDoc(**base)


def test_same_service_and_cause_with_similar_root_cause_is_a_repeat():
    later = doc(
        title="Payment errors during campaign",
        root_cause="Connection pool exhausted again: slow ledger queries held database connections.",
        started_at=LATER,
    )
    result = score_pair(doc(), later)
    assert result.repeat
    assert 0.5 <= result.score <= 1
    assert result.reason.startswith(
        "Same class Capacity or exhaustion (suggested from the text), service payments-api and cause Capacity; "
        "root causes share:"
    )
    assert "connection pool" in result.reason


# Until session 7 a strict xfail: the model leaned this short text to capacity, and the soft class
# agreement counted a favourite fully however unsure. With the neighbours' vote it is no repeat.
def test_same_service_another_cause_is_not_a_repeat():
    later = doc(
        title="Wrong amounts charged for JPY",
        cause_category="Deploy",
        root_cause="A release multiplied zero-decimal currencies by 100.",
        started_at=LATER,
    )
    assert not score_pair(doc(), later).repeat


def test_similar_text_without_shared_service_or_cause_is_still_a_repeat():
    # Absent evidence is no penalty: other team, other category, the same mechanism.
    later = doc(services=frozenset({"search-api"}), cause_category="Deploy", started_at=LATER)
    result = score_pair(doc(), later)
    assert result.repeat
    assert result.reason.startswith("Same class Capacity or exhaustion (suggested from the text); root causes")


def test_age_lowers_the_rank_of_old_pairs_but_never_the_verdict():
    near = score_pair(doc(), doc(started_at=T0 + timedelta(days=30)))
    far = score_pair(doc(), doc(started_at=T0 + timedelta(days=3650)))
    assert far.rank < near.rank
    assert far.repeat and far.score == near.score


def test_repeats_across_teams_and_years_meet_through_the_class_and_the_synonyms():
    earlier = IncidentDoc(
        title="Storage endpoints reject HTTPS connections",
        services=frozenset({"blob-storage"}),
        root_cause="The SSL cert on the front ends passed its expiry date; renewal was tracked by hand.",
        started_at=T0,
    )
    later = IncidentDoc(
        title="Sign-in failing for everyone",
        services=frozenset({"auth-web"}),
        root_cause="The TLS certificate of the token service expired.",
        started_at=T0 + timedelta(days=6 * 365),
    )
    result = score_pair(earlier, later)
    assert result.repeat
    assert "class Expired certificate or credential" in result.reason
    assert "certificate" in result.reason or "cert" in result.reason


def test_classes_set_by_people_win_over_the_text():
    earlier = doc(failure_classes=frozenset({"capacity"}))
    same = doc(services=frozenset(), cause_category=None, failure_classes=frozenset({"capacity"}), started_at=LATER)
    other = doc(services=frozenset(), cause_category=None, failure_classes=frozenset({"dns"}), started_at=LATER)
    assert score_pair(earlier, same).score > score_pair(earlier, other).score
    assert "Same class Capacity or exhaustion;" in score_pair(earlier, same).reason


def test_stemmer_meets_related_forms_and_synonyms_meet():
    assert stem("exhausted") == stem("exhaustion") == stem("exhaust")
    assert stem("connections") == stem("connecting") == stem("connection")
    assert stem("expired") == stem("expires") == stem("expiry")
    assert term("cert") == term("tls") == term("ssl") == term("certificates")
    assert term("k8s") == term("kubernetes") and term("db") == term("database")
    assert term("bgp") == term("prefix") == term("routes")
    assert term("expiry") == term("expired") and term("config") == term("configuration")


# --- The job ---------------------------------------------------------------------------------------


@pytest.fixture
def payments():
    return ServiceFactory(name="payments-api", team=TeamFactory(name="Payments"))


def _incident(service, category, *, title, root_cause, started, facilitator=None, published=True):
    incident = IncidentFactory(
        title=title,
        cause_category=cause(category) if category else None,
        started_at=started,
        detected_at=started + timedelta(minutes=5),
        acknowledged_at=started + timedelta(minutes=8),
        declared_at=started + timedelta(minutes=10),
        mitigated_at=started + timedelta(minutes=45),
        resolved_at=started + timedelta(hours=2),
    )
    incident.services.add(service)
    PostmortemFactory(
        incident=incident,
        facilitator=facilitator or UserFactory(),
        root_cause=root_cause,
        summary="",
        status="published" if published else "draft",
        published_at=started + timedelta(days=3) if published else None,
    )
    return incident


POOL = "The payments-api database connection pool was exhausted: slow ledger queries held connections."


@pytest.fixture
def earlier(payments):
    incident = _incident(payments, "capacity", title="Payments failing during spring sale", root_cause=POOL, started=T0)
    pm = incident.postmortem
    ActionItemFactory(postmortem=pm, title="Alert on pool wait time", status="open")
    ActionItemFactory(postmortem=pm, title="Tune ledger report queries", status="wont_do", resolution_note="no time")
    done = ActionItemFactory(postmortem=pm, title="Raise pool size to 40", status="done", resolution_note="PR 12")
    ActionItem.objects.filter(pk=done.pk).update(completed_at=T0 + timedelta(days=10))
    ActionItemFactory(postmortem=pm, title="Added after the recurrence", status="done", resolution_note="x")
    return incident


@pytest.fixture
def facilitator():
    return UserFactory(username="fay", email="fay@example.com")


@pytest.fixture
def later(payments, earlier, facilitator):
    return _incident(
        payments,
        "capacity",
        title="Payment errors during marketing campaign",
        root_cause="Connection pool exhausted again: slow ledger queries held the database connections.",
        started=LATER,
        facilitator=facilitator,
    )


@pytest.mark.django_db
def test_job_suggests_a_link_with_score_and_reason_and_emails_the_facilitator_once(later, earlier):
    links = services.repeat_detect(incident=later)
    assert [(link.incident, link.earlier, link.state) for link in links] == [(later, earlier, "suggested")]
    assert "Same class Capacity or exhaustion (suggested from the text), service payments-api and cause Capacity" in (
        links[0].reason
    )
    services.repeat_detect(incident=later)  # again: same link, no second email
    tasks.detect_repeats(later.pk)
    assert RepeatLink.objects.count() == 1
    rows = Notification.objects.filter(kind=Notification.Kind.REPEAT)
    assert rows.count() == 1
    assert deliver(rows.get().pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["fay@example.com"]
    assert later.reference in message.subject and earlier.reference in message.subject
    assert "Alert on pool wait time" in message.body
    assert "Tune ledger report queries" in message.body
    assert "Raise pool size to 40" in message.body  # done before the recurrence
    assert "http://" in message.body  # absolute links


@pytest.mark.django_db
# Until session 7 a strict xfail: the model leaned this short text to capacity, and the soft class
# agreement counted a favourite fully however unsure. With the neighbours' vote it is no repeat.
def test_same_service_another_cause_is_not_suggested(payments, earlier):
    other = _incident(
        payments,
        "deploy",
        title="Wrong amounts for JPY orders",
        root_cause="A release multiplied zero-decimal currencies by 100.",
        started=LATER,
    )
    assert services.repeat_detect(incident=other) == []


@pytest.mark.django_db
def test_an_incident_of_the_same_class_years_earlier_and_of_another_team_is_suggested(earlier):
    # Six years on, another team, another service, no category: the class and the words remain.
    started = T0 + timedelta(days=6 * 365)
    again = _incident(
        ServiceFactory(name="search-api", team=TeamFactory(name="Search")),
        None,
        title="Search results time out at peak",
        root_cause="The search-api database connection pool was exhausted again by slow queries.",
        started=started,
    )
    links = services.repeat_detect(incident=again)
    assert [link.earlier for link in links] == [earlier]
    assert links[0].reason.startswith("Same class Capacity or exhaustion (suggested from the text); root causes share")


@pytest.mark.django_db
def test_failure_classes_set_on_both_sides_make_a_repeat_that_the_text_alone_would_miss(payments):
    dns = FailureClass.objects.get(slug="dns")
    first = _incident(payments, None, title="Checkout down", root_cause="Lookups failed.", started=T0)
    second = _incident(payments, None, title="Search down", root_cause="Clients saw errors.", started=LATER)
    assert services.repeat_detect(incident=second) == []
    first.failure_classes.add(dns)
    second.failure_classes.add(dns)
    links = services.repeat_detect(incident=second)
    assert [link.earlier for link in links] == [first]
    assert links[0].reason.startswith("Same class DNS and service payments-api;")


@pytest.mark.django_db
def test_the_incident_form_and_api_set_failure_classes_and_the_page_shows_or_suggests_them(client, payments):
    user = UserFactory(username="ike", is_staff=True, is_superuser=True)
    incident = IncidentFactory(title="Sign-in down: TLS certificate expired", commander=user)
    client.force_login(user)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert ">Confirm Expired certificate or credential</button>" in page
    form = client.get(reverse("incidents:edit", args=[incident.reference])).content.decode()
    assert "Suggested from the text: Expired certificate or credential." in form
    assert 'name="failure_classes"' in form

    expired = FailureClass.objects.get(slug="expired-credential")
    response = client.patch(
        f"/api/v1/incidents/{incident.pk}/", {"failure_classes": ["expired-credential", "dns"]}, "application/json"
    )
    assert response.status_code == 200, response.content
    assert sorted(response.json()["failure_classes"]) == ["dns", "expired-credential"]
    incident.failure_classes.set([expired])
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Expired certificate or credential</span>" in page
    assert "Suggested from the text" not in page and ">Confirm " not in page


def test_the_command_reads_failure_classes_per_side_by_slug_or_name(tmp_path):
    vague = {"title": "Errors", "services": [], "root_cause": "Requests failed."}
    same = {
        "id": "same",
        "earlier": vague | {"failure_classes": ["dns"]},
        "later": vague | {"title": "Failures", "failure_classes": ["DNS"]},
    }
    different = same | {"id": "different", "later": vague | {"title": "Failures", "failure_classes": ["Data deletion"]}}
    code, lines, err = _run(json.dumps(same) + "\n" + json.dumps(different) + "\n", tmp_path)
    assert code == 0, err
    verdicts = {line["id"]: line["repeat"] for line in lines}
    assert verdicts == {"same": True, "different": False}


def test_two_vague_incidents_are_no_repeat(tmp_path):
    # A text of a few words still has a favourite class; it must not count as a shared class.
    plain = {
        "id": "plain",
        "earlier": {"title": "Errors", "root_cause": "Requests failed."},
        "later": {"title": "Failures", "root_cause": "Calls failed."},
    }
    code, lines, err = _run(json.dumps(plain) + "\n", tmp_path)
    assert code == 0, err
    assert lines[0]["repeat"] is False


@pytest.mark.django_db
def test_later_incidents_are_never_candidates(payments, earlier, later):
    assert services.repeat_detect(incident=earlier) == []


@pytest.mark.django_db
def test_dismissed_pair_is_not_suggested_again_and_confirmed_is_kept(later, earlier, facilitator):
    link = services.repeat_detect(incident=later)[0]
    services.repeat_link_decide(link=link, user=facilitator, state="dismissed")
    assert services.repeat_detect(incident=later) == []
    link.refresh_from_db()
    assert (link.state, link.decided_by, link.decided_at is not None) == ("dismissed", facilitator, True)
    RepeatLink.objects.filter(pk=link.pk).update(state="confirmed")
    services.repeat_detect(incident=later)
    assert RepeatLink.objects.get(pk=link.pk).state == "confirmed"


@pytest.mark.django_db
def test_nightly_job_scans_recently_changed_incidents(later, earlier):
    assert tasks.detect_repeats_nightly() == 1
    assert RepeatLink.objects.filter(incident=later, earlier=earlier).exists()


@pytest.mark.django_db
def test_schedule_repeat_detection_enqueues_after_commit(later, django_capture_on_commit_callbacks, monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.detect_repeats, "delay", calls.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.schedule_repeat_detection(later)
    assert calls == []
    callbacks[0]()
    assert calls == [later.pk]


@pytest.mark.django_db
def test_confirmed_repeat_counts_in_the_rate(later, earlier, facilitator):
    link = services.repeat_detect(incident=later)[0]
    window = Filters(start=T0.date() - timedelta(days=1), end=LATER.date() + timedelta(days=1))
    assert incident_metrics(window).repeats["confirmed_repeats"] == 0
    services.repeat_link_decide(link=link, user=facilitator, state="confirmed")
    assert incident_metrics(window).repeats == {"incidents": 2, "confirmed_repeats": 1, "rate": 0.5}


# --- Who decides, and the incident page's list -------------------------------------------------------


@pytest.mark.django_db
def test_only_editors_commander_and_admins_decide(later, earlier, facilitator, client):
    link = services.repeat_detect(incident=later)[0]
    outsider = UserFactory(username="outsider")
    with pytest.raises(PermissionDenied):
        services.repeat_link_decide(link=link, user=outsider, state="confirmed")
    client.force_login(outsider)
    assert client.post(f"/incidents/repeats/{link.pk}/confirm/").status_code == 403
    commander = UserFactory(username="commander")
    later.commander = commander
    later.save()
    client.force_login(commander)
    response = client.post(f"/incidents/repeats/{link.pk}/confirm/", {"next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    link.refresh_from_db()
    assert (link.state, link.decided_by) == ("confirmed", commander)


def _render_partial(incident, user):
    request = RequestFactory().get("/incidents/1/")
    request.user = user
    return Template('{% include "incidents/_repeat_links.html" %}').render(
        Context({"incident": incident, "request": request})
    )


@pytest.mark.django_db
def test_partial_lists_earlier_incident_with_items_never_completed_and_done_that_did_not_prevent(
    later, earlier, facilitator
):
    link = services.repeat_detect(incident=later)[0]
    services.repeat_link_decide(link=link, user=facilitator, state="confirmed")
    html = _render_partial(later, facilitator)
    assert earlier.reference in html and "Confirmed repeat" in html
    assert "Alert on pool wait time" in html and "Tune ledger report queries" in html
    done_part = html.split("Done before this incident")[1]
    assert "Raise pool size to 40" in done_part
    assert "Added after the recurrence" not in html
    assert "Confirm repeat" not in html  # already decided
    # Every item it names is a link to the item's page.
    for item in ActionItem.objects.filter(title__in=["Alert on pool wait time", "Raise pool size to 40"]):
        assert f'<a href="{item.get_absolute_url()}">{item.reference}</a> {item.title}' in html


@pytest.mark.django_db
def test_partial_hides_restricted_earlier_incidents_and_buttons_from_outsiders(later, earlier, facilitator):
    services.repeat_detect(incident=later)
    assert "Confirm repeat" in _render_partial(later, facilitator)
    pm = earlier.postmortem
    pm.visibility = "restricted"
    pm.save()
    pm.teams.add(TeamFactory())
    html = _render_partial(later, UserFactory(username="outsider"))
    assert earlier.title not in html and "Confirm repeat" not in html


@pytest.mark.django_db
def test_email_about_a_restricted_earlier_incident_leaves_out_its_details(later, earlier):
    pm = earlier.postmortem
    pm.visibility = "restricted"
    pm.save()
    pm.teams.add(TeamFactory())
    services.repeat_detect(incident=later)
    body = Notification.objects.get(kind=Notification.Kind.REPEAT).body_text
    assert earlier.title not in body and "Alert on pool wait time" not in body
    assert "restricted" in body


# --- The command -----------------------------------------------------------------------------------


def _side(**kwargs):
    base = {
        "title": "Payments failing during sale",
        "services": ["payments-api"],
        "cause_category": "Capacity",
        "summary": "",
        "root_cause": "Connection pool exhausted by slow ledger queries.",
        "contributing_factors": "",
        "started_at": "2025-03-14T09:20:00Z",
        "extra": "ignored",
    }
    base.update(kwargs)
    return base


def _run(text, tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("score_repeat_pairs", str(path), stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_command_prints_one_json_line_per_pair_with_the_jobs_scoring(tmp_path):
    # No django_db mark: the command scores without a database (with the built-in failure classes).
    repeat = {"id": "a", "earlier": _side(), "later": _side(started_at="2025-06-01T00:00:00+02:00")}
    other_side = _side(
        title="Wrong amounts in JPY", services=["billing"], cause_category="Deploy", root_cause="Rounding."
    )
    other = {"id": "b", "earlier": _side(), "later": other_side}
    code, lines, err = _run(json.dumps(repeat) + "\n\n" + json.dumps(other) + "\n", tmp_path)
    assert code == 0 and err == ""
    assert [set(line) for line in lines] == [{"id", "score", "repeat"}] * 2
    assert [(line["id"], line["repeat"]) for line in lines] == [("a", True), ("b", False)]
    earlier = IncidentDoc(
        title="Payments failing during sale",
        services=frozenset({"payments-api"}),
        cause_category="Capacity",
        root_cause="Connection pool exhausted by slow ledger queries.",
        started_at=datetime(2025, 3, 14, 9, 20, tzinfo=UTC),
    )
    later = IncidentDoc(**{**earlier.__dict__, "started_at": datetime(2025, 5, 31, 22, tzinfo=UTC)})
    assert lines[0]["score"] == score_pair(earlier, later).score


def test_command_reports_bad_lines_with_their_number_and_keeps_going(tmp_path):
    good = json.dumps({"id": "ok", "earlier": _side(), "later": _side()})
    text = "\n".join(
        [
            good,
            "{not json",
            json.dumps({"id": "x", "earlier": _side()}),
            json.dumps({"id": "y", "earlier": _side(started_at="yesterday"), "later": _side()}),
            json.dumps({"id": "z", "earlier": _side(services="payments-api"), "later": _side()}),
            good.replace('"ok"', '"ok2"'),
        ]
    )
    code, lines, err = _run(text, tmp_path)
    assert code == 1
    assert [line["id"] for line in lines] == ["ok", "ok2"]
    assert "line 2: not valid JSON" in err
    assert 'line 3: "later" is missing' in err
    assert "line 4: earlier.started_at is not ISO 8601" in err
    assert "line 5: earlier.services must be a list of names" in err


def test_command_reads_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"id": 7, "earlier": _side(), "later": _side()}) + "\n"))
    out = io.StringIO()
    call_command("score_repeat_pairs", "-", stdout=out)
    assert json.loads(out.getvalue())["id"] == 7


def test_command_missing_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("score_repeat_pairs", str(tmp_path / "nope.jsonl"))


@pytest.mark.django_db
def test_an_incident_an_alert_opens_is_checked_for_repeats_once_it_commits(
    earlier, settings, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(tasks.detect_repeats, "delay", tasks.detect_repeats)  # the task runs here, not queued
    settings.ALERT_WEBHOOK_SECRET = "s3cret-webhook"
    alert = copy.deepcopy(FIRING)
    for item in alert["alerts"]:
        item["labels"]["service"] = "payments-api"
        item["annotations"] = {
            "summary": "Payments failing: database connection pool exhausted",
            "description": "The payments-api connection pool is exhausted; slow ledger queries hold connections.",
        }
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient(HTTP_AUTHORIZATION="Bearer s3cret-webhook").post(ALERTMANAGER, alert, format="json")
    assert response.status_code == 201
    opened = Incident.objects.get(pk=response.json()["incident"])
    assert list(RepeatLink.objects.filter(incident=opened).values_list("earlier", "state")) == [
        (earlier.pk, "suggested")
    ]
