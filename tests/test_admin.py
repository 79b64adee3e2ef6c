"""The admin alone lets a team record an incident, its timeline, postmortem and action items."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse

from actions.models import ActionItem, ActionItemChange, ActionItemComment, Notification, NotificationPreference
from incidents.api_auth import api_token_create
from incidents.models import Incident, RepeatLink, SeverityChange, TimelineEvent
from postmortems.models import FeedToken, PostmortemEvent, Review
from postmortems.search_index import reindex_postmortem
from tests.factories import T0, ActionItemFactory, IncidentFactory, ServiceFactory, TimelineEventFactory, severity

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_of_everything(admin_user):
    item = ActionItemFactory()
    postmortem = item.postmortem
    incident = postmortem.incident
    incident.services.add(ServiceFactory())
    incident.tags.add("database")
    TimelineEventFactory(incident=incident)
    SeverityChange.objects.create(
        incident=incident,
        from_severity=severity("SEV3"),
        to_severity=severity("SEV2"),
        reason="Spread",
        changed_by=admin_user,
    )
    Review.objects.create(postmortem=postmortem, reviewer=admin_user, decision="approve")
    RepeatLink.objects.create(incident=IncidentFactory(), earlier=incident, score=0.8, reason="Same service")
    ActionItemChange.objects.create(item=item, changed_by=admin_user, changes={"status": ["open", "in_progress"]})
    Notification.objects.create(recipient_email="a@example.com", kind="digest", period_key="2026-W10")
    PostmortemEvent.objects.create(postmortem=postmortem, kind="created", actor=admin_user, to_status="draft")
    FeedToken.objects.create(user=admin_user)
    ActionItemComment.objects.create(item=item, author=admin_user, text="PR is up")
    NotificationPreference.objects.create(user=admin_user, time_zone="Europe/Paris")
    api_token_create(user=admin_user, name="Jira sync")
    reindex_postmortem(postmortem.pk)


def test_every_admin_page_loads_for_a_superuser(admin_client, one_of_everything):
    ours = [m for m in admin.site._registry if m._meta.app_label in ("incidents", "postmortems", "actions")]
    assert all(m._default_manager.exists() for m in ours), [m for m in ours if not m._default_manager.exists()]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        changelist = admin_client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert changelist.status_code == 200, info
        if model_admin.has_add_permission(changelist.wsgi_request):
            assert admin_client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 200, info
        obj = model._default_manager.first()
        if obj is not None:
            assert admin_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk])).status_code == 200, info


def test_the_incident_page_shows_computed_durations(admin_client):
    incident = IncidentFactory()
    page = admin_client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
    assert "Time to resolve" in page.text
    assert "1 h 55 min" in page.text
    assert "40 min" in page.text


def _incident_form(**overrides) -> dict:
    data = {
        "title": "Payments API returns 502",
        "summary": "",
        "severity": severity("SEV2").pk,
        "status": "resolved",
        "trigger": "change",
        "tags": "payments, gateway",
        "started_at_0": "2026-03-02",
        "started_at_1": "10:00:00",
        "detected_at_0": "2026-03-02",
        "detected_at_1": "10:05:00",
        "declared_at_0": "2026-03-02",
        "declared_at_1": "10:10:00",
        "resolved_at_0": "2026-03-02",
        "resolved_at_1": "12:00:00",
        "severity_changes-TOTAL_FORMS": "0",
        "severity_changes-INITIAL_FORMS": "0",
        "timeline_events-TOTAL_FORMS": "1",
        "timeline_events-INITIAL_FORMS": "0",
        "timeline_events-0-occurred_at_0": "2026-03-02",
        "timeline_events-0-occurred_at_1": "10:05:00",
        "timeline_events-0-kind": "detection",
        "timeline_events-0-text": "Alert: 5xx rate above 2 %",
    }
    data.update(overrides)
    return data


def test_a_team_records_an_incident_with_its_timeline_in_the_admin(admin_client, admin_user):
    response = admin_client.post(reverse("admin:incidents_incident_add"), _incident_form())
    assert response.status_code == 302, response.context["errors"] if response.context else response
    incident = Incident.objects.get()
    assert incident.reference.startswith("INC-")
    assert incident.created_by == admin_user
    event = TimelineEvent.objects.get()
    assert (event.incident, event.author) == (incident, admin_user)


def test_the_admin_shows_out_of_order_times_next_to_the_field(admin_client):
    response = admin_client.post(reverse("admin:incidents_incident_add"), _incident_form(resolved_at_0="2026-03-01"))
    assert response.status_code == 200
    assert "Resolved time cannot be before detected time." in response.text
    assert Incident.objects.count() == 0


def test_changing_severity_in_the_admin_asks_why_and_records_it(admin_client, admin_user):
    admin_client.post(reverse("admin:incidents_incident_add"), _incident_form())
    incident = Incident.objects.get()
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    without_reason = _incident_form(severity=severity("SEV1").pk, **{"timeline_events-TOTAL_FORMS": "0"})
    assert "Say why the severity changed." in admin_client.post(url, without_reason).text
    incident.refresh_from_db()
    assert incident.severity.name == "SEV2"

    with_reason = dict(without_reason, severity_change_reason="Card payments failing in every region")
    assert admin_client.post(url, with_reason).status_code == 302
    change = SeverityChange.objects.get()
    assert (change.from_severity.name, change.to_severity.name, change.changed_by) == ("SEV2", "SEV1", admin_user)
    assert change.reason == "Card payments failing in every region"


def _item_form(item: ActionItem, **overrides) -> dict:
    data = {
        "title": item.title,
        "kind": "prevent",
        "priority": "p2",
        "owner": item.owner.pk,
        "due_date": item.due_date.isoformat(),
        "resolution_note": "",
        "changes-TOTAL_FORMS": "0",
        "changes-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_editing_an_action_item_in_the_admin_keeps_its_history(admin_client, admin_user):
    item = ActionItemFactory(due_date=(T0 + timedelta(days=7)).date())
    url = reverse("admin:actions_actionitem_change", args=[item.pk])
    data = _item_form(item, due_date="2026-03-20", status="done", resolution_note="Lock timeout added in PR 481")
    refused = admin_client.post(url, data)
    assert refused.status_code == 200
    assert "Say why the due date moves." in refused.text
    assert ActionItem.objects.get().due_date == item.due_date
    assert not item.changes.exists()

    assert admin_client.post(url, dict(data, due_date_reason="Waiting for the DBA review")).status_code == 302
    item.refresh_from_db()
    assert item.status == "open"  # the status changes through the admin actions only
    change = item.changes.get()
    assert change.changed_by == admin_user
    assert change.note == "Waiting for the DBA review"
    assert change.changes["due_date"] == ["2026-03-09", "2026-03-20"]
    assert change.changes["priority"] == ["p3", "p2"]


def _act(client, model: str, action: str, *objs):
    url = reverse(f"admin:{model}_changelist")
    data = {"action": action, "_selected_action": [obj.pk for obj in objs]}
    return client.post(url, data, follow=True)


def test_the_admin_marks_an_item_done_through_the_service_and_shows_why_it_cannot(admin_client, admin_user):
    item = ActionItemFactory()
    page = _act(admin_client, "actions_actionitem", "mark_done", item)
    assert f"{item.reference}: Say how it was done (a link to the change helps)." in page.text
    assert ActionItem.objects.get().status == "open"

    ActionItem.objects.filter(pk=item.pk).update(resolution_note="Shipped in PR 12")
    assert "Mark done: 1 item(s)." in _act(admin_client, "actions_actionitem", "mark_done", item).text
    item.refresh_from_db()
    assert (item.status, item.completed_at is not None) == ("done", True)
    assert item.changes.get().changes["status"] == ["open", "done"]

    _act(admin_client, "actions_actionitem", "reopen", item)
    item.refresh_from_db()
    assert (item.status, item.completed_at) == ("open", None)


def test_saving_an_incident_untouched_in_the_admin_writes_nothing(admin_client):
    admin_client.post(reverse("admin:incidents_incident_add"), _incident_form())
    before = Incident.objects.get()
    url = reverse("admin:incidents_incident_change", args=[before.pk])
    untouched = _incident_form(
        **{
            "timeline_events-TOTAL_FORMS": "1",
            "timeline_events-INITIAL_FORMS": "1",
            "timeline_events-0-id": TimelineEvent.objects.get().pk,
            "timeline_events-0-incident": before.pk,
        }
    )
    assert admin_client.post(url, untouched).status_code == 302
    after = Incident.objects.get()
    assert after.updated_at == before.updated_at
    assert not SeverityChange.objects.exists()


def test_the_severity_history_is_read_only_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:incidents_severitychange_add")).status_code == 403


def test_a_repeat_is_confirmed_in_the_admin_by_the_service(admin_client, admin_user):
    link = RepeatLink.objects.create(incident=IncidentFactory(), earlier=IncidentFactory(), score=0.8, reason="Same")
    _act(admin_client, "incidents_repeatlink", "confirm", link)
    link.refresh_from_db()
    assert (link.state, link.decided_by) == ("confirmed", admin_user)
    assert link.decided_at is not None


def test_a_comment_added_in_the_admin_is_the_admins_and_stays_as_written(admin_client, admin_user):
    item = ActionItemFactory()
    url = reverse("admin:actions_actionitemcomment_add")
    response = admin_client.post(url, {"item": item.pk, "text": " PR is up "})
    assert response.status_code == 302, response.context["errors"]
    comment = ActionItemComment.objects.get()
    assert (comment.author, comment.text) == (admin_user, "PR is up")
    page = admin_client.get(reverse("admin:actions_actionitemcomment_change", args=[comment.pk])).text
    assert 'name="text"' not in page


def test_preferences_saved_in_the_admin_go_through_the_service(admin_client, admin_user):
    url = reverse("admin:actions_notificationpreference_add")
    data = {"user": admin_user.pk, "time_zone": "Europe/Paris", "email_assigned": "on"}
    assert admin_client.post(url, data).status_code == 302
    preference = NotificationPreference.objects.get(user=admin_user)
    assert (preference.time_zone, preference.email_assigned, preference.email_review) == ("Europe/Paris", True, False)
