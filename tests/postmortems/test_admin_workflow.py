"""The admin shows the postmortem workflow instead of bypassing it: the status and its times are
read-only there, and submitting or publishing is an admin action that runs the same checks and
records the same history as the postmortem's page."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from postmortems import services
from postmortems.models import SECTION_NAMES, Postmortem, PostmortemEvent
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:postmortems_postmortem_changelist"


@pytest.fixture
def admin_client(client, people):
    client.force_login(people.admin)
    return client


def act(client, action: str, postmortem: Postmortem):
    return client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [postmortem.pk]}, follow=True)


def change_form(client, postmortem: Postmortem, **overrides) -> dict:
    """What the admin's change page posts when saved, as rendered now, with ``overrides``."""
    page = client.get(reverse("admin:postmortems_postmortem_change", args=[postmortem.pk])).text
    data: dict = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+-(?:TOTAL|INITIAL)_FORMS)"[^>]*value="(\d+)"', page):
        data[name] = value
    data.update(
        {
            "facilitator": postmortem.facilitator_id,
            "authors": [user.pk for user in postmortem.authors.all()],
            "reviewers": [user.pk for user in postmortem.reviewers.all()],
            "due_date": postmortem.due_date.isoformat() if postmortem.due_date else "",
            "visibility": postmortem.visibility,
            "teams": [team.pk for team in postmortem.teams.all()],
            "internal_sections": list(postmortem.internal_sections),
            "users_affected": postmortem.users_affected or "",
            "revenue_impact": postmortem.revenue_impact or "",
        }
    )
    data.update({name: getattr(postmortem, name) for name in SECTION_NAMES})
    data.update(overrides)
    return data


def events(postmortem: Postmortem, kind: str):
    return PostmortemEvent.objects.filter(postmortem=postmortem, kind=kind)


def test_typing_a_status_in_the_admin_changes_nothing(admin_client, in_review):
    url = reverse("admin:postmortems_postmortem_change", args=[in_review.pk])
    response = admin_client.post(url, change_form(admin_client, in_review, status="published"))
    assert response.status_code == 302
    in_review.refresh_from_db()
    assert (in_review.status, in_review.published_at) == ("in_review", None)
    assert not events(in_review, "published").exists()


def test_publishing_in_the_admin_runs_the_publish_checks_and_records_the_event(admin_client, people, in_review):
    page = act(admin_client, "publish", in_review)
    assert f"{in_review.incident.reference}: No reviewer has approved this version (v1) yet." in page.text
    in_review.refresh_from_db()
    assert in_review.status == "in_review"
    assert not events(in_review, "published").exists()

    services.postmortem_review(postmortem=in_review, user=people.reviewer, decision="approve")
    assert "Published: 1 postmortem(s)." in act(admin_client, "publish", in_review).text
    in_review.refresh_from_db()
    assert in_review.status == "published"
    assert in_review.published_at is not None
    event = events(in_review, "published").get()
    assert (event.actor, event.from_status, event.to_status) == (people.admin, "in_review", "published")


def test_submitting_in_the_admin_needs_a_reviewer_like_the_page(admin_client, people, draft):
    draft.reviewers.clear()
    page = act(admin_client, "submit_for_review", draft)
    assert "Add at least one reviewer before submitting for review." in page.text
    assert Postmortem.objects.get(pk=draft.pk).status == "draft"

    draft.reviewers.add(people.reviewer)
    act(admin_client, "submit_for_review", draft)
    draft.refresh_from_db()
    assert (draft.status, draft.submitted_at is not None) == ("in_review", True)
    assert events(draft, "submitted").get().actor == people.admin


def test_an_edit_in_the_admin_is_recorded_like_the_editors(admin_client, people, draft):
    url = reverse("admin:postmortems_postmortem_change", args=[draft.pk])
    version = draft.version
    assert admin_client.post(url, change_form(admin_client, draft)).status_code == 302
    assert Postmortem.objects.get(pk=draft.pk).version == version  # untouched: nothing written
    assert not events(draft, "edited").exists()

    response = admin_client.post(url, change_form(admin_client, draft, summary="Checkout failed for an hour."))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.summary, draft.version) == ("Checkout failed for an hour.", version + 1)
    assert events(draft, "edited").get().actor == people.admin


def test_a_restricted_postmortem_without_teams_is_refused_on_the_admin_form(admin_client, draft):
    url = reverse("admin:postmortems_postmortem_change", args=[draft.pk])
    response = admin_client.post(url, change_form(admin_client, draft, visibility="restricted", teams=[]))
    assert response.status_code == 200
    assert "Choose the teams that may read a restricted postmortem." in response.text
    assert Postmortem.objects.get(pk=draft.pk).visibility == "organisation"


def test_a_published_postmortem_is_amended_in_its_editor_not_the_admin(admin_client, org_published):
    page = admin_client.get(reverse("admin:postmortems_postmortem_change", args=[org_published.pk])).text
    assert 'name="summary"' not in page


def test_a_postmortem_added_in_the_admin_is_started_like_from_the_incident(admin_client, people):
    incident = IncidentFactory()
    data = {
        "incident": incident.pk,
        "status": "published",  # read-only: ignored
        "facilitator": people.facilitator.pk,
        "authors": [people.author.pk],
        "reviewers": [people.reviewer.pk],
        "visibility": "organisation",
        **{name: "" for name in SECTION_NAMES},
        "summary": "Checkout failed.",
    }
    page = admin_client.get(reverse("admin:postmortems_postmortem_add")).text
    data.update(re.findall(r'<input[^>]*name="([^"]+-(?:TOTAL|INITIAL)_FORMS)"[^>]*value="(\d+)"', page))
    response = admin_client.post(reverse("admin:postmortems_postmortem_add"), data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    postmortem = Postmortem.objects.get(incident=incident)
    assert (postmortem.status, postmortem.facilitator, postmortem.summary) == (
        "draft",
        people.facilitator,
        "Checkout failed.",
    )
    assert list(postmortem.authors.all()) == [people.author]
    assert events(postmortem, "created").get().actor == people.admin


def test_the_facilitator_and_due_date_changed_in_the_admin_are_recorded(admin_client, people, draft):
    url = reverse("admin:postmortems_postmortem_change", args=[draft.pk])
    version = draft.version
    data = change_form(admin_client, draft, facilitator=people.author.pk, due_date="2026-04-01")
    assert admin_client.post(url, data).status_code == 302
    draft.refresh_from_db()
    assert (draft.facilitator, draft.due_date.isoformat(), draft.version) == (people.author, "2026-04-01", version + 1)
    event = events(draft, "edited").get()
    assert (event.actor, event.note) == (people.admin, "Changed the facilitator and due date.")

    # The same values again: nothing is written.
    services.postmortem_set_up(
        postmortem=draft, user=people.admin, values={"facilitator": people.author, "due_date": draft.due_date}
    )
    assert Postmortem.objects.get(pk=draft.pk).version == version + 1
    assert events(draft, "edited").count() == 1


def test_only_an_admin_changes_the_facilitator(people, draft):
    with pytest.raises(PermissionDenied):
        services.postmortem_set_up(postmortem=draft, user=people.facilitator, values={"facilitator": people.author})
    assert Postmortem.objects.get(pk=draft.pk).facilitator == people.facilitator


def _new_item(postmortem: Postmortem, owner, **overrides) -> dict:
    data = {
        "postmortem": postmortem.pk,
        "title": "Alert on expiring failover keys",
        "kind": "detect",
        "priority": "p2",
        "owner": owner.pk,
        "due_date": "2026-05-01",
        "changes-TOTAL_FORMS": "0",
        "changes-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_an_item_added_in_the_admin_to_a_published_postmortem_amends_it(admin_client, people, org_published):
    url = reverse("admin:actions_actionitem_add")
    before = org_published.action_items.count()
    refused = admin_client.post(url, _new_item(org_published, people.member))
    assert refused.status_code == 200
    assert "Say what you changed and why; the note is shown on the page." in refused.text
    assert org_published.action_items.count() == before

    note = "Added the alert the review asked for."
    assert admin_client.post(url, _new_item(org_published, people.member, amendment_note=note)).status_code == 302
    item = org_published.action_items.get(title="Alert on expiring failover keys")
    assert item.changes.get().created
    event = events(org_published, "amended").get()
    assert (event.actor, event.note) == (people.admin, note)


def test_an_item_added_in_the_admin_to_a_draft_needs_no_note(admin_client, people, draft):
    response = admin_client.post(reverse("admin:actions_actionitem_add"), _new_item(draft, people.member))
    assert response.status_code == 302
    assert draft.action_items.filter(title="Alert on expiring failover keys").exists()
    assert events(draft, "edited").get().actor == people.admin
