"""An item's history reads as a person would say it: a new item was "created" with its
values (not "changed" from defaults it never had), and choices show their labels."""

from datetime import date

import pytest
from django.urls import reverse

from actions import services
from actions.models import ActionItem
from postmortems import services as postmortem_services
from tests.postmortems import conftest as postmortem_fixtures

pytestmark = pytest.mark.django_db

people, draft = postmortem_fixtures.people, postmortem_fixtures.draft


def history(client, item) -> str:
    page = client.get(item.get_absolute_url())
    assert page.status_code == 200
    return page.text.split(">History<", 1)[1].split(">Notes<", 1)[0]


def test_a_new_items_history_says_created_with_its_values(client, people, draft):
    new = {"id": None, "title": "Page on expired keys", "kind": "detect", "owner": people.member, "priority": "p1"}
    new["due_date"] = date(2026, 12, 14)
    postmortem_services.postmortem_update(
        postmortem=draft, user=people.facilitator, data={}, expected_version=1, action_items=[new]
    )
    item = ActionItem.objects.get(title="Page on expired keys")
    client.force_login(people.facilitator)
    text = history(client, item)
    assert "created with" in text
    assert "<strong>kind</strong>: Detect" in text
    assert "<strong>priority</strong>: P1 – urgent" in text
    assert "<strong>owner</strong>: Mia" in text
    assert "<strong>status</strong>: Open" in text
    assert "2026-12-14" in text
    # No default is shown as a change ("prevent → Detect"), and nothing as a raw value.
    assert "→" not in text
    assert "prevent" not in text.lower() and "p3" not in text


def test_a_change_shows_the_choices_labels(client, people, draft):
    item = draft.action_items.get()
    services.action_item_update(
        item=item, user=people.author, data={"status": "in_progress", "kind": "mitigate", "priority": "p2"}
    )
    client.force_login(people.author)
    text = history(client, item)
    assert "<strong>status</strong>: Open → In progress" in text
    assert "<strong>kind</strong>: Prevent → Mitigate" in text
    assert "<strong>priority</strong>: P3 – normal → P2 – high" in text
    assert "in_progress" not in text


def test_the_history_costs_the_same_queries_however_long(client, people, draft, django_assert_max_num_queries):
    item = draft.action_items.get()
    client.force_login(people.author)
    for status in ["in_progress", "blocked", "in_progress"] * 5:
        services.action_item_update(item=item, user=people.author, data={"status": status})
    with django_assert_max_num_queries(25) as captured:
        client.get(item.get_absolute_url())
    few = len(captured)
    for status in ["blocked", "in_progress"] * 10:
        services.action_item_update(item=item, user=people.author, data={"status": status})
    with django_assert_max_num_queries(few):
        client.get(item.get_absolute_url())


def test_an_item_added_in_the_admin_starts_its_history_with_created(admin_client, people, draft):
    data = {
        "postmortem": draft.pk,
        "title": "Rotate the failover key yearly",
        "kind": "process",
        "priority": "p2",
        "owner": people.member.pk,
        "due_date": "2026-12-14",
        "status": "open",
        "changes-TOTAL_FORMS": "0",
        "changes-INITIAL_FORMS": "0",
    }
    assert admin_client.post(reverse("admin:actions_actionitem_add"), data).status_code == 302
    item = ActionItem.objects.get(title="Rotate the failover key yearly")
    [change] = item.changes.all()
    assert change.created
    assert change.changes["kind"] == [None, "process"]
    admin_client.force_login(people.facilitator)
    assert "<strong>kind</strong>: Process" in history(admin_client, item)
