"""The incident pages: list, detail, declare and edit, and the timeline editor."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents.models import Incident, SeverityChange, TimelineEvent
from postmortems.models import Postmortem
from tests.factories import (
    T0,
    IncidentFactory,
    PostmortemFactory,
    ServiceFactory,
    TeamFactory,
    TimelineEventFactory,
    UserFactory,
    severity,
)

pytestmark = pytest.mark.django_db


# Named users: the incident's commander, a member of the team owning its service,
# an outsider (signed in, no relation to it) and an admin.
@pytest.fixture
def commander():
    return UserFactory(username="carol", first_name="Carol", last_name="Commander")


@pytest.fixture
def teammate():
    return UserFactory(username="tom", first_name="Tom", last_name="Teammate")


@pytest.fixture
def outsider():
    return UserFactory(username="olive", first_name="Olive", last_name="Outsider")


@pytest.fixture
def team(teammate):
    team = TeamFactory(name="Payments", slug="payments")
    team.members.add(teammate)
    return team


@pytest.fixture
def service(team):
    return ServiceFactory(name="checkout", slug="checkout", team=team)


@pytest.fixture
def incident(commander, service):
    incident = IncidentFactory(title="Checkout errors", commander=commander, created_by=commander)
    incident.services.add(service)
    return incident


def restrict_to(incident, team) -> Postmortem:
    postmortem = PostmortemFactory(incident=incident, visibility=Postmortem.Visibility.RESTRICTED)
    postmortem.teams.add(team)
    return postmortem


def signed_in(client, user):
    client.force_login(user)
    return client


def local(value) -> str:
    """A datetime as a datetime-local input sends it."""
    return value.strftime("%Y-%m-%dT%H:%M")


def incident_data(**overrides) -> dict:
    """A valid declare/edit POST, times in UTC (no tz cookie)."""
    data = {
        "title": "Search is slow",
        "summary": "p99 latency above 5 s.",
        "severity": severity("SEV3").pk,
        "status": "investigating",
        "trigger": "unknown",
        "tags": "search, latency",
        "started_at": local(T0),
        "detected_at": local(T0 + timedelta(minutes=5)),
        "acknowledged_at": "",
        "declared_at": local(T0 + timedelta(minutes=10)),
        "mitigated_at": "",
        "resolved_at": "",
    }
    data.update(overrides)
    return data


def edit_data(incident, **overrides) -> dict:
    data = incident_data(
        title=incident.title,
        severity=incident.severity_id,
        status=incident.status,
        started_at=local(incident.started_at),
        detected_at=local(incident.detected_at),
        acknowledged_at=local(incident.acknowledged_at),
        declared_at=local(incident.declared_at),
        mitigated_at=local(incident.mitigated_at),
        resolved_at=local(incident.resolved_at),
        commander=incident.commander_id or "",
        services=[s.pk for s in incident.services.all()],
    )
    data.update(overrides)
    return data


def detail_url(incident) -> str:
    return reverse("incidents:detail", args=[incident.reference])


# --- list ---------------------------------------------------------------------------------


def listed(response) -> set[str]:
    return {incident.reference for incident in response.context["page"]}


def test_the_list_needs_sign_in(client):
    response = client.get(reverse("incidents:list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_list_filters_by_severity_status_service_team_and_dates(client, outsider, service, team):
    other_team_service = ServiceFactory(name="search", slug="search")
    sev1 = IncidentFactory(severity=severity("SEV1"))
    sev1.services.add(service)
    open_one = IncidentFactory(status="investigating", mitigated_at=None, resolved_at=None)
    open_one.services.add(other_team_service)
    later = IncidentFactory(declared_at=T0 + timedelta(days=10), resolved_at=T0 + timedelta(days=11))
    signed_in(client, outsider)
    url = reverse("incidents:list")

    assert listed(client.get(url, {"severity": "SEV1"})) == {sev1.reference}
    assert listed(client.get(url, {"status": "investigating"})) == {open_one.reference}
    assert listed(client.get(url, {"service": "checkout"})) == {sev1.reference}
    assert listed(client.get(url, {"team": team.slug})) == {sev1.reference}
    assert listed(client.get(url, {"declared_after": "2026-03-10"})) == {later.reference}
    assert listed(client.get(url, {"declared_before": "2026-03-05"})) == {sev1.reference, open_one.reference}
    assert listed(client.get(url, {"q": later.reference})) == {later.reference}


def test_the_list_shows_filter_errors_instead_of_failing(client, outsider):
    IncidentFactory()
    response = signed_in(client, outsider).get(
        reverse("incidents:list"), {"severity": "SEV99", "declared_after": "yesterday", "page": "x"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert "Enter a valid date" in response.content.decode()


def test_the_list_pages_by_25_and_keeps_the_filters(client, outsider):
    IncidentFactory.create_batch(30, severity=severity("SEV2"))
    signed_in(client, outsider)
    first = client.get(reverse("incidents:list"), {"severity": "SEV2"})
    second = client.get(reverse("incidents:list"), {"severity": "SEV2", "page": 2})
    assert len(first.context["page"]) == 25
    assert len(second.context["page"]) == 5
    assert "?severity=SEV2&amp;page=2" in first.content.decode()
    assert not listed(first) & listed(second)


def test_the_list_hides_incidents_restricted_to_other_teams(client, outsider, teammate, incident, team):
    restrict_to(incident, team)
    assert incident.reference not in listed(signed_in(client, outsider).get(reverse("incidents:list")))
    assert incident.reference in listed(signed_in(client, teammate).get(reverse("incidents:list")))


@pytest.mark.parametrize("rows", [5, 50])
def test_the_list_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries, outsider, rows):
    services = [ServiceFactory(), ServiceFactory()]
    for _ in range(rows):
        incident = IncidentFactory(commander=UserFactory(), cause_category=None)
        incident.services.add(*services)
    signed_in(client, outsider)
    # session, user, count, the page of incidents (severity and commander joined),
    # their services, and the filter form's severity, service and team choices.
    with django_assert_max_num_queries(8):
        response = client.get(reverse("incidents:list"))
    assert len(response.context["page"]) == min(rows, 25)


# --- detail --------------------------------------------------------------------------------


def test_the_detail_page_shows_roles_durations_and_severity_history(client, outsider, commander, incident):
    incident.scribe = UserFactory(username="sam", first_name="Sam", last_name="Scribe")
    incident.acknowledged_at = None
    incident.save()
    SeverityChange.objects.create(
        incident=incident,
        from_severity=severity("SEV3"),
        to_severity=severity("SEV2"),
        changed_by=commander,
        reason="More customers affected than we thought.",
    )
    incident.tags.add("checkout")
    body = signed_in(client, outsider).get(detail_url(incident)).content.decode()

    assert "Carol Commander" in body
    assert "Sam Scribe" in body
    assert 'Time to detect</dt><dd class="col-sm-7">5 min' in body
    assert 'Time to acknowledge</dt><dd class="col-sm-7">—' in body
    assert 'Time to mitigate</dt><dd class="col-sm-7">40 min' in body
    assert 'Time to resolve</dt><dd class="col-sm-7">1 h 55 min' in body
    assert "SEV3 → SEV2" in body
    assert "More customers affected than we thought." in body
    assert "checkout" in body
    assert "2 Mar 2026 10:05 UTC" in body


def test_a_resolved_incident_without_postmortem_offers_its_people_to_start_one(client, outsider, commander, incident):
    body = signed_in(client, commander).get(detail_url(incident)).content.decode()
    assert "Start postmortem" in body
    assert f"/postmortems/start/{incident.reference}/" in body
    # Starting is an edit of the incident: an outsider who reads it is not offered it.
    assert "Start postmortem" not in signed_in(client, outsider).get(detail_url(incident)).content.decode()


def test_the_detail_page_links_the_postmortem_to_those_who_may_read_it(client, outsider, commander, incident):
    postmortem = PostmortemFactory(incident=incident, facilitator=commander)
    assert "Start postmortem" not in signed_in(client, outsider).get(detail_url(incident)).content.decode()
    # A draft is not readable by outsiders, so no link to it either.
    assert 'id="postmortem-link"' not in client.get(detail_url(incident)).content.decode()
    body = signed_in(client, commander).get(detail_url(incident)).content.decode()
    assert 'id="postmortem-link"' in body
    assert f"/postmortems/{postmortem.pk}/" in body


def test_an_outsider_gets_404_for_a_restricted_incident(client, outsider, incident, team):
    restrict_to(incident, team)
    signed_in(client, outsider)
    assert client.get(detail_url(incident)).status_code == 404
    assert client.get(reverse("incidents:edit", args=[incident.reference])).status_code == 404
    assert client.get(reverse("incidents:detail", args=["INC-1999-0001"])).status_code == 404


# --- declare and edit ----------------------------------------------------------------------


def test_any_signed_in_user_declares_an_incident(client, outsider, service):
    signed_in(client, outsider)
    response = client.post(reverse("incidents:declare"), incident_data(services=[service.pk]))
    incident = Incident.objects.get(title="Search is slow")
    assert response.status_code == 302
    assert response["Location"] == detail_url(incident)
    assert incident.created_by == outsider
    assert incident.reference.startswith("INC-")
    assert set(incident.tags.names()) == {"search", "latency"}
    assert list(incident.services.all()) == [service]
    assert incident.detected_at == T0 + timedelta(minutes=5)
    assert not incident.severity_changes.exists()


def test_out_of_order_times_show_the_message_next_to_the_field_and_save_nothing(client, outsider):
    data = incident_data(
        status="resolved",
        mitigated_at=local(T0 + timedelta(minutes=30)),
        resolved_at=local(T0 + timedelta(minutes=2)),
    )
    response = signed_in(client, outsider).post(reverse("incidents:declare"), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].errors["resolved_at"] == [
        "Resolved time cannot be before detected time.",
        "Resolved time cannot be before mitigated time.",
    ]
    # The message sits in the resolved time's own error list, which the input points at.
    assert '<ul class="errorlist invalid-feedback d-block" id="id_resolved_at_errors"><li>Resolved time cannot' in body
    assert 'aria-invalid="true" aria-describedby="id_resolved_at_helptext id_resolved_at_errors"' in body
    assert not Incident.objects.exists()


def test_changing_severity_requires_a_reason(client, commander, incident):
    signed_in(client, commander)
    response = client.post(reverse("incidents:edit", args=[incident.reference]), edit_data(incident, severity=1))
    assert response.status_code == 200
    assert response.context["form"].errors["severity_reason"] == ["Say why the severity changed."]
    incident.refresh_from_db()
    assert incident.severity.name == "SEV2"
    assert not SeverityChange.objects.exists()


def test_changing_severity_records_who_when_and_why(client, teammate, incident):
    signed_in(client, teammate)
    data = edit_data(incident, severity=severity("SEV1").pk, severity_reason="All regions down.")
    response = client.post(reverse("incidents:edit", args=[incident.reference]), data)
    assert response.status_code == 302
    change = SeverityChange.objects.get(incident=incident)
    assert (change.from_severity.name, change.to_severity.name) == ("SEV2", "SEV1")
    assert change.changed_by == teammate
    assert change.reason == "All regions down."
    assert "All regions down." in client.get(detail_url(incident)).content.decode()


def test_editing_without_changing_severity_needs_no_reason_and_keeps_seconds(client, commander, incident):
    incident.detected_at = T0 + timedelta(minutes=5, seconds=30)
    incident.save()
    response = signed_in(client, commander).post(
        reverse("incidents:edit", args=[incident.reference]), edit_data(incident, title="Checkout 502s")
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.title == "Checkout 502s"
    assert incident.detected_at == T0 + timedelta(minutes=5, seconds=30)
    assert not SeverityChange.objects.exists()


@pytest.mark.parametrize("who", ["commander", "teammate", "admin_user"])
def test_responders_their_teams_and_admins_may_edit(client, request, incident, who):
    signed_in(client, request.getfixturevalue(who))
    assert client.get(reverse("incidents:edit", args=[incident.reference])).status_code == 200
    assert f'href="/incidents/{incident.reference}/edit/"' in client.get(detail_url(incident)).content.decode()


def test_an_outsider_cannot_edit_someone_elses_incident(client, outsider, incident):
    signed_in(client, outsider)
    url = reverse("incidents:edit", args=[incident.reference])
    assert client.get(url).status_code == 403
    assert client.post(url, edit_data(incident, title="Hijacked")).status_code == 403
    incident.refresh_from_db()
    assert incident.title == "Checkout errors"
    assert "Edit incident" not in client.get(detail_url(incident)).content.decode()


def test_restricting_the_postmortem_to_another_team_leaves_the_commander_their_incident(client, incident, team):
    other_team = TeamFactory()
    commander = UserFactory()
    team.members.remove(*team.members.all())
    restrict_to(incident, other_team)
    incident.commander = commander
    incident.save()
    assert signed_in(client, commander).get(detail_url(incident)).status_code == 200
    assert Incident.objects.editable_by(commander).filter(pk=incident.pk).exists()


MALFORMED = [
    {},
    {"title": "x", "severity": "not-a-number", "status": "on fire", "declared_at": "yesterday"},
    {"title": "x", "severity": "99999999999999999999", "declared_at": "2026-13-45T25:61"},
    {"title": "x", "severity": "1", "declared_at": "2026-03-02T10:00", "commander": "999999", "services": ["abc"]},
    {"title": "x" * 500, "severity": "1", "declared_at": "2026-03-02T10:00", "cause_category": "-1"},
    {"title": "a\x00b", "severity": "1", "declared_at": "2026-03-02T10:00", "tags": "x" * 150},
    {"title": "x", "severity": ["1", "2"], "declared_at": ["", ""], "started_at": "99999-01-01T00:00"},
]


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_declare_posts_show_errors_not_500(client, outsider, data):
    response = signed_in(client, outsider).post(reverse("incidents:declare"), data)
    assert response.status_code in (200, 400)
    assert response.context["form"].errors
    assert not Incident.objects.exists()


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_edit_posts_show_errors_not_500(client, commander, incident, data):
    response = signed_in(client, commander).post(reverse("incidents:edit", args=[incident.reference]), data)
    assert response.status_code in (200, 400)
    assert response.context["form"].errors


# --- timeline ------------------------------------------------------------------------------


def timeline_texts(client, incident) -> list[str]:
    response = client.get(detail_url(incident))
    return [event.text for event in response.context["timeline_events"]]


def test_timeline_events_are_added_edited_and_removed_in_time_order(client, commander, incident):
    signed_in(client, commander)
    add = reverse("incidents:timeline-add", args=[incident.reference])
    later = client.post(
        add, {"occurred_at": local(T0 + timedelta(minutes=30)), "kind": "mitigation", "text": "Rolled back"}
    )
    assert later.status_code == 302
    assert later["Location"] == detail_url(incident) + "#timeline"
    client.post(add, {"occurred_at": local(T0 + timedelta(minutes=5)), "kind": "detection", "text": "Alert fired"})
    assert timeline_texts(client, incident) == ["Alert fired", "Rolled back"]
    assert TimelineEvent.objects.get(text="Alert fired").author == commander

    alert = TimelineEvent.objects.get(text="Alert fired")
    edit = reverse("incidents:timeline-edit", args=[incident.reference, alert.pk])
    response = client.post(
        edit, {"occurred_at": local(T0 + timedelta(hours=1)), "kind": "note", "text": "Alert fired late"}
    )
    assert response.status_code == 302
    assert timeline_texts(client, incident) == ["Rolled back", "Alert fired late"]

    delete = reverse("incidents:timeline-delete", args=[incident.reference, alert.pk])
    assert client.get(delete).status_code == 405
    assert client.post(delete).status_code == 302
    assert timeline_texts(client, incident) == ["Rolled back"]


def test_timeline_forms_return_to_a_local_next_page_only(client, commander, incident):
    signed_in(client, commander)
    add = reverse("incidents:timeline-add", args=[incident.reference])
    data = {"occurred_at": local(T0), "kind": "note", "text": "Paged the DBA"}
    assert client.post(add, {**data, "next": "/postmortems/7/"})["Location"] == "/postmortems/7/#timeline"
    assert client.post(add, {**data, "next": "https://evil.example/"})["Location"] == detail_url(incident) + "#timeline"
    assert client.post(add, {**data, "next": "//evil.example/"})["Location"] == detail_url(incident) + "#timeline"


def test_an_invalid_timeline_event_shows_errors_and_saves_nothing(client, commander, incident):
    signed_in(client, commander)
    add = reverse("incidents:timeline-add", args=[incident.reference])
    for data in [{}, {"occurred_at": "soon", "kind": "party", "text": ""}, {"occurred_at": ["a", "b"], "text": "\x00"}]:
        response = client.post(add, data)
        assert response.status_code == 200
        assert response.context["form"].errors
    event = TimelineEventFactory(incident=incident)
    response = client.post(reverse("incidents:timeline-edit", args=[incident.reference, event.pk]), {"kind": "x"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert TimelineEvent.objects.count() == 1


def test_outsiders_cannot_touch_the_timeline(client, outsider, incident, team):
    event = TimelineEventFactory(incident=incident, text="Original")
    signed_in(client, outsider)
    add = reverse("incidents:timeline-add", args=[incident.reference])
    edit = reverse("incidents:timeline-edit", args=[incident.reference, event.pk])
    delete = reverse("incidents:timeline-delete", args=[incident.reference, event.pk])
    data = {"occurred_at": local(T0), "kind": "note", "text": "Sneaky"}
    assert client.post(add, data).status_code == 403
    assert client.post(edit, data).status_code == 403
    assert client.post(delete).status_code == 403
    assert 'id="timeline-add"' not in client.get(detail_url(incident)).content.decode()
    restrict_to(incident, team)
    assert client.post(add, data).status_code == 404
    assert list(TimelineEvent.objects.values_list("text", flat=True)) == ["Original"]


def test_an_event_of_another_incident_is_not_found(client, commander, incident):
    other = TimelineEventFactory()
    url = reverse("incidents:timeline-edit", args=[incident.reference, other.pk])
    assert (
        signed_in(client, commander).post(url, {"occurred_at": local(T0), "kind": "note", "text": "x"}).status_code
        == 404
    )


def test_postmortem_authors_edit_the_timeline(client, outsider, incident):
    postmortem = PostmortemFactory(incident=incident)
    postmortem.authors.add(outsider)
    signed_in(client, outsider)
    add = reverse("incidents:timeline-add", args=[incident.reference])
    assert (
        client.post(add, {"occurred_at": local(T0), "kind": "note", "text": "From the postmortem"}).status_code == 302
    )
    assert 'id="timeline-add"' in client.get(detail_url(incident)).content.decode()
    # Editing the timeline does not make them an editor of the incident itself.
    assert client.get(reverse("incidents:edit", args=[incident.reference])).status_code == 403


# --- time zone -----------------------------------------------------------------------------


def test_the_tz_cookie_changes_displayed_times(client, outsider, incident):
    TimelineEventFactory(incident=incident, occurred_at=T0 + timedelta(minutes=5), text="Alert fired")
    signed_in(client, outsider)
    utc = client.get(detail_url(incident)).content.decode()
    assert "2 Mar 2026 10:05 UTC" in utc
    client.cookies["tz"] = "Asia/Tokyo"
    tokyo = client.get(detail_url(incident)).content.decode()
    assert "2 Mar 2026 19:05 JST" in tokyo
    assert "times in Asia/Tokyo" in tokyo
    client.cookies["tz"] = "../../etc/passwd"
    assert "2 Mar 2026 10:05 UTC" in client.get(detail_url(incident)).content.decode()


def test_times_typed_in_are_read_in_the_viewers_zone(client, outsider):
    signed_in(client, outsider)
    client.cookies["tz"] = "Europe/Paris"
    data = incident_data(started_at="2026-03-02T11:00", detected_at="2026-03-02T11:05", declared_at="2026-03-02T11:10")
    assert client.post(reverse("incidents:declare"), data).status_code == 302
    incident = Incident.objects.get()
    assert incident.started_at == T0
    response = client.get(reverse("incidents:edit", args=[incident.reference]))
    assert 'value="2026-03-02T11:05"' in response.content.decode()


@pytest.mark.parametrize("events", [2, 20])
def test_the_detail_page_runs_a_fixed_number_of_queries(
    client, django_assert_max_num_queries, commander, incident, events
):
    for minute in range(events):
        TimelineEventFactory(incident=incident, occurred_at=T0 + timedelta(minutes=minute), author=commander)
        SeverityChange.objects.create(
            incident=incident,
            from_severity=severity("SEV3"),
            to_severity=severity("SEV2"),
            changed_by=commander,
            reason="x",
        )
    signed_in(client, commander)
    # session, user; the incident (severity, cause, roles, postmortem joined); its services,
    # their teams, tags, severity changes (people joined), timeline events (authors joined);
    # may edit, may edit the timeline; the repeat-links partial's links; the failure classes set
    # and, none being set, the taxonomy the suggestions come from.
    with django_assert_max_num_queries(13):
        client.get(detail_url(incident))


def test_the_declare_form_opens_with_the_user_as_commander(client, outsider):
    response = signed_in(client, outsider).get(reverse("incidents:declare"))
    assert response.status_code == 200
    assert response.context["form"]["commander"].value() == outsider.pk
    assert "severity_reason" not in response.context["form"].fields


def test_the_team_filter_lists_an_incident_once_when_two_of_its_services_are_the_teams(client):
    from incidents.models import Incident
    from tests.factories import IncidentFactory, ServiceFactory, TeamFactory, UserFactory

    team = TeamFactory(slug="payments")
    incident = IncidentFactory(title="Both payment services down")
    incident.services.add(ServiceFactory(team=team), ServiceFactory(team=team))
    client.force_login(UserFactory())
    page = client.get("/incidents/", {"team": "payments"})
    assert page.status_code == 200
    assert page.text.count(f'href="/incidents/{incident.reference}/"') == 1
    assert Incident.objects.count() == 1


# --- "Mitigated now", "Resolved now", and the timeline's defaults -----------------------------


@pytest.fixture
def open_incident(commander, service):
    incident = IncidentFactory(
        title="Search is slow",
        status=Incident.Status.INVESTIGATING,
        commander=commander,
        created_by=commander,
        mitigated_at=None,
        resolved_at=None,
    )
    incident.services.add(service)
    return incident


def mark_url(incident, milestone: str) -> str:
    return reverse("incidents:mark", args=[incident.reference, milestone])


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_mitigated_now_then_resolved_now_set_the_times_and_the_status(client, commander, open_incident):
    signed_in(client, commander)
    page = client.get(detail_url(open_incident)).content.decode()
    assert 'id="mark-mitigated"' in page and 'id="mark-resolved"' in page

    with time_machine.travel(T0 + timedelta(hours=1, seconds=30), tick=False):
        response = client.post(mark_url(open_incident, "mitigated"), follow=True)
    open_incident.refresh_from_db()
    assert open_incident.mitigated_at == T0 + timedelta(hours=1, seconds=30)
    assert open_incident.status == Incident.Status.MONITORING
    assert page_messages(response) == [f"Marked {open_incident.reference} mitigated at 11:00 UTC."]
    page = response.content.decode()
    assert 'id="mark-mitigated"' not in page and 'id="mark-resolved"' in page

    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        response = client.post(mark_url(open_incident, "resolved"), follow=True)
    open_incident.refresh_from_db()
    assert (open_incident.status, open_incident.resolved_at) == (Incident.Status.RESOLVED, T0 + timedelta(hours=2))
    assert 'id="mark-resolved"' not in response.content.decode()
    # The times stay editable: the edit form shows them, in the viewer's zone.
    edit = client.get(reverse("incidents:edit", args=[open_incident.reference])).content.decode()
    assert 'value="2026-03-02T11:00"' in edit and 'value="2026-03-02T12:00"' in edit


def test_resolved_now_twice_keeps_the_first_time(client, commander, open_incident):
    signed_in(client, commander)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        client.post(mark_url(open_incident, "resolved"), follow=True)
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        response = client.post(mark_url(open_incident, "resolved"), follow=True)
    open_incident.refresh_from_db()
    assert open_incident.resolved_at == T0 + timedelta(hours=2)
    assert page_messages(response) == [f"{open_incident.reference} was already resolved at 2 Mar 2026 12:00 UTC."]


def test_mitigated_now_twice_keeps_the_first_time(client, commander, open_incident):
    signed_in(client, commander)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        client.post(mark_url(open_incident, "mitigated"), follow=True)
    with time_machine.travel(T0 + timedelta(hours=1, minutes=1), tick=False):
        response = client.post(mark_url(open_incident, "mitigated"), follow=True)
    open_incident.refresh_from_db()
    assert open_incident.mitigated_at == T0 + timedelta(hours=1)
    assert page_messages(response) == [f"{open_incident.reference} was already mitigated at 2 Mar 2026 11:00 UTC."]


def test_a_time_before_detection_is_refused_with_the_reason_and_changes_nothing(client, commander, open_incident):
    signed_in(client, commander)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):  # detected at T0 + 5 min
        response = client.post(mark_url(open_incident, "mitigated"), follow=True)
    assert page_messages(response) == ["Mitigated time cannot be before detected time."]
    open_incident.refresh_from_db()
    assert (open_incident.mitigated_at, open_incident.status) == (None, Incident.Status.INVESTIGATING)


def test_only_the_incidents_editors_mark_it_and_only_by_post(client, commander, outsider, open_incident):
    signed_in(client, outsider)
    assert 'id="mark-resolved"' not in client.get(detail_url(open_incident)).content.decode()
    assert client.post(mark_url(open_incident, "resolved")).status_code == 403
    assert client.post(mark_url(open_incident, "mitigated")).status_code == 403
    signed_in(client, commander)
    assert client.get(mark_url(open_incident, "resolved")).status_code == 405
    assert client.post(mark_url(open_incident, "exploded")).status_code == 404
    open_incident.refresh_from_db()
    assert (open_incident.mitigated_at, open_incident.resolved_at) == (None, None)


def add_event_field(response, name: str) -> str:
    """The add-event form's input ``name`` as rendered on the incident page."""
    html = response.content.decode()
    start = html.index(f'id="id_new_event_{name}"')
    return html[html.rindex("<input", 0, start) : html.index(">", start) + 1]


def test_a_new_timeline_events_time_starts_at_now_in_the_viewers_zone(client, commander, open_incident):
    signed_in(client, commander)
    client.cookies["tz"] = "Asia/Tokyo"
    with time_machine.travel(T0 + timedelta(minutes=7, seconds=42), tick=False):
        response = client.get(detail_url(open_incident))
        standalone = client.get(reverse("incidents:timeline-add", args=[open_incident.reference]))
    assert 'value="2026-03-02T19:07"' in add_event_field(response, "occurred_at")
    assert 'value="2026-03-02T19:07"' in standalone.content.decode()


def test_a_mitigation_event_sets_the_mitigated_time_when_the_box_is_ticked(client, commander, open_incident):
    signed_in(client, commander)
    page = client.get(detail_url(open_incident))
    assert "Also set the incident&#x27;s mitigated time to this" in page.content.decode()
    assert "checked" in add_event_field(page, "set_mitigated")  # ticked: no mitigated time yet
    add = reverse("incidents:timeline-add", args=[open_incident.reference])
    event = {"occurred_at": "2026-03-02T10:40", "kind": "mitigation", "text": "Rolled back", "set_mitigated": "on"}

    assert client.post(add, {**event, "kind": "note"}).status_code == 302  # a note never sets it
    assert client.post(add, {**event, "set_mitigated": ""}).status_code == 302  # unticked
    open_incident.refresh_from_db()
    assert open_incident.mitigated_at is None

    assert client.post(add, event).status_code == 302
    open_incident.refresh_from_db()
    assert open_incident.mitigated_at == T0 + timedelta(minutes=40)
    assert open_incident.status == Incident.Status.MONITORING
    # Once set, the box starts unticked.
    assert "checked" not in add_event_field(client.get(detail_url(open_incident)), "set_mitigated")


def test_a_mitigation_time_out_of_order_keeps_neither_event_nor_time(client, commander, open_incident):
    signed_in(client, commander)
    add = reverse("incidents:timeline-add", args=[open_incident.reference])
    data = {"occurred_at": "2026-03-02T10:01", "kind": "mitigation", "text": "Too early", "set_mitigated": "on"}
    response = client.post(add, data)
    assert response.status_code == 200
    assert "Mitigated time cannot be before detected time." in response.content.decode()
    assert "Too early</textarea>" in response.content.decode()  # what was typed is kept
    assert not TimelineEvent.objects.filter(text="Too early").exists()
    open_incident.refresh_from_db()
    assert open_incident.mitigated_at is None


def test_timeline_editors_who_may_not_edit_the_incident_are_not_offered_its_mitigated_time(
    client, outsider, open_incident
):
    PostmortemFactory(incident=open_incident).authors.add(outsider)
    signed_in(client, outsider)
    assert "id_new_event_set_mitigated" not in client.get(detail_url(open_incident)).content.decode()
    add = reverse("incidents:timeline-add", args=[open_incident.reference])
    data = {"occurred_at": "2026-03-02T10:40", "kind": "mitigation", "text": "Rolled back", "set_mitigated": "on"}
    assert client.post(add, data).status_code == 302
    open_incident.refresh_from_db()
    assert open_incident.mitigated_at is None


# --- the declare form: no severity chosen for you, services as checkboxes ---------------------


def test_the_declare_form_preselects_no_severity_and_asks_for_one(client, outsider, service):
    signed_in(client, outsider)
    html = client.get(reverse("incidents:declare")).content.decode()
    assert '<option value="" selected>Choose a severity</option>' in html
    response = client.post(reverse("incidents:declare"), incident_data(severity="", title="No severity"))
    assert response.status_code == 200
    assert response.context["form"].errors["severity"] == ["Choose a severity."]
    assert 'id="id_severity_errors"' in response.content.decode()
    assert 'value="No severity"' in response.content.decode()  # what was typed is kept
    assert not Incident.objects.exists()


def test_the_declare_form_lists_services_as_checkboxes(client, outsider, service):
    other = ServiceFactory(name="search")
    signed_in(client, outsider)
    html = client.get(reverse("incidents:declare")).content.decode()
    assert '<select name="services"' not in html
    assert html.count('type="checkbox" name="services"') == 2
    assert "checkout (Payments)" in html
    assert 'id="services-filter"' in html  # revealed by incidents.js
    response = client.post(reverse("incidents:declare"), incident_data(services=[service.pk, other.pk]))
    assert response.status_code == 302
    assert set(Incident.objects.get().services.all()) == {service, other}


@pytest.mark.parametrize("services", [2, 30])
def test_the_declare_form_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries, outsider, services):
    for _ in range(services):
        ServiceFactory()
    signed_in(client, outsider)
    # session, user; severities, services (teams joined), cause categories, failure classes, and
    # the four role lists of users.
    with django_assert_max_num_queries(10):
        response = client.get(reverse("incidents:declare"))
    assert response.content.decode().count('name="services"') == services
