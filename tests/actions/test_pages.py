"""The action-item pages: what each user sees, inline changes, and fixed query counts."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from actions.models import ActionItem, ActionItemComment
from tests.factories import IncidentFactory, PostmortemFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _restricted(org, title="Card numbers logged"):
    postmortem = PostmortemFactory(
        incident=IncidentFactory(title=title),
        facilitator=org.facilitator,
        status="published",
        published_at=timezone.now(),
        visibility="restricted",
    )
    postmortem.teams.add(TeamFactory(name="Security", slug="security"))
    return postmortem


def test_my_items_list_overdue_first_then_due_soon_then_the_rest(client, org):
    today = timezone.localdate()
    later = org.item(title="later", due_date=today + timedelta(days=30))
    soon = org.item(title="soon", due_date=today + timedelta(days=3))
    late = org.item(title="late", due_date=today - timedelta(days=2))
    org.item(title="not mine", owner=org.teammate, due_date=today - timedelta(days=9))
    org.item(title="closed", status="done", resolution_note="Shipped", due_date=today - timedelta(days=9))
    client.force_login(org.owner)

    page = client.get(reverse("actions:mine"))

    assert [item.title for item in page.context["page"]] == [late.title, soon.title, later.title]
    assert "2 days overdue" in page.text


def test_an_outsider_cannot_open_an_item_of_a_restricted_postmortem(client, org):
    item = org.item(postmortem=_restricted(org))
    client.force_login(org.outsider)
    assert client.get(item.get_absolute_url()).status_code == 404
    assert item.reference not in client.get(reverse("actions:board") + "?overdue_days=").text


def test_the_owner_sees_their_item_of_a_restricted_postmortem_without_its_incident(client, org):
    item = org.item(postmortem=_restricted(org, title="Secret incident title"))
    client.force_login(org.owner)
    page = client.get(item.get_absolute_url())
    assert page.status_code == 200
    assert item.title in page.text
    assert "Secret incident title" not in page.text
    assert "a restricted postmortem" in page.text


def test_the_owner_changes_status_inline_without_javascript(client, org):
    item = org.item()
    client.force_login(org.owner)
    mine = reverse("actions:mine")
    response = client.post(
        reverse("actions:status", args=[item.reference]), {"status": "done", "note": "", "next": mine}
    )
    assert response.status_code == 302 and response.url == mine
    assert ActionItem.objects.get(pk=item.pk).status == "open"  # done needs a note
    client.post(reverse("actions:status", args=[item.reference]), {"status": "done", "note": "PR 42", "next": mine})
    item.refresh_from_db()
    assert (item.status, item.resolution_note) == ("done", "PR 42")


def test_an_outsider_cannot_change_status(client, org):
    item = org.item()
    client.force_login(org.teammate)
    client.post(reverse("actions:status", args=[item.reference]), {"status": "in_progress"})
    assert ActionItem.objects.get(pk=item.pk).status == "open"


def test_the_item_page_shows_history_and_notes_and_asks_why_a_due_date_moves(client, org):
    item = org.item(due_date=date(2026, 3, 16))
    client.force_login(org.owner)
    url = item.get_absolute_url()
    form = {"status": "in_progress", "due_date": "2026-04-01", "resolution_note": "", "evidence_url": ""}
    form["external_url"] = "https://jira.example.com/OPS-7"
    refused = client.post(url, {**form, "note": ""})
    assert refused.status_code == 400
    assert "Say why the due date moves." in refused.text
    assert client.post(url, {**form, "note": "Vendor delay"}).status_code == 302
    client.post(reverse("actions:comment", args=[item.reference]), {"text": "Talked to the vendor"})

    page = client.get(url)
    assert "Vendor delay" in page.text
    assert "16 March 2026" in page.text or "2026-03-16" in page.text
    assert "Talked to the vendor" in page.text
    assert ActionItemComment.objects.get().author == org.owner


def test_board_filters_by_team_and_overdue_days(client, org):
    today = timezone.localdate()
    old = org.item(title="old", due_date=today - timedelta(days=20))
    org.item(title="recent", due_date=today - timedelta(days=2))
    org.item(title="other team", due_date=today - timedelta(days=20), team=TeamFactory())
    client.force_login(org.admin)
    page = client.get(reverse("actions:board"), {"team": "payments", "overdue_days": 10})
    assert [item.pk for item in page.context["page"]] == [old.pk]


def test_preferences_page_saves_time_zone_and_opt_out(client, org):
    client.force_login(org.owner)
    response = client.post(reverse("actions:preferences"), {"time_zone": "Europe/Berlin", "digest_opt_out": "on"})
    assert response.status_code == 302
    preference = org.owner.notification_preference
    assert (preference.time_zone, preference.digest_opt_out) == ("Europe/Berlin", True)


def _many(org, count: int):
    today = timezone.localdate()
    owners = [UserFactory() for _ in range(3)]
    for n in range(count):
        org.item(owner=org.owner if n % 2 else owners[n % 3], due_date=today - timedelta(days=1 + n % 9))


@pytest.mark.parametrize("rows", [5, 50])
@pytest.mark.parametrize("name", ["actions:mine", "actions:board", "actions:team"])
def test_list_pages_take_a_fixed_number_of_queries(client, org, django_assert_max_num_queries, rows, name):
    _many(org, rows)
    client.force_login(org.lead)
    url = reverse(name, args=["payments"] if name == "actions:team" else [])
    # session, user, (team), count, the page's rows with can_edit and postmortem_visible
    # annotated, the filter's choices (teams, services, severities), the nav's teams.
    with django_assert_max_num_queries(10):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("changes", [1, 20])
def test_the_item_page_takes_a_fixed_number_of_queries(client, org, django_assert_max_num_queries, changes):
    from actions import services

    item = org.item()
    for n in range(changes):
        services.action_item_update(item=item, user=org.owner, data={"title": f"Title {n}"})
        ActionItemComment.objects.create(item=item, author=org.teammate, text=f"note {n}")
    client.force_login(org.owner)
    # session, user, the item (with access flags), changes, comments, nav teams, savepoints
    with django_assert_max_num_queries(10):
        assert client.get(item.get_absolute_url()).status_code == 200
