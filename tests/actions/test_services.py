"""Who may change an item, the rules for changing it, and the history each change leaves."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from actions import services
from actions.models import ActionItem, ActionItemChange
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "may"),
    [("owner", True), ("facilitator", True), ("lead", True), ("admin", True), ("teammate", False), ("outsider", False)],
)
def test_only_owner_facilitator_team_lead_and_admins_change_an_item(org, who, may):
    item = org.item()
    user = getattr(org, who)
    assert ActionItem.objects.editable_by(user).filter(pk=item.pk).exists() is may
    if may:
        services.action_item_update(item=item, user=user, data={"priority": "p1"})
        assert ActionItem.objects.get(pk=item.pk).priority == "p1"
    else:
        with pytest.raises(PermissionDenied):
            services.action_item_update(item=item, user=user, data={"priority": "p1"})
        assert ActionItem.objects.get(pk=item.pk).priority == "p3"


def test_the_lead_of_any_team_of_the_owner_may_change_it_too(org):
    other_lead = org.outsider
    platform = TeamFactory(name="Platform", slug="platform", lead=other_lead)
    platform.members.add(org.owner)
    item = org.item(team=None)
    assert ActionItem.objects.editable_by(other_lead).filter(pk=item.pk).exists()


def test_done_needs_a_resolution_note_and_may_carry_evidence(org):
    item = org.item()
    with pytest.raises(ValidationError) as caught:
        services.action_item_complete(item=item, user=org.owner, resolution_note=" ")
    assert "resolution_note" in caught.value.message_dict
    services.action_item_complete(
        item=item, user=org.owner, resolution_note="Lock timeout added", evidence_url="https://git.example.com/pr/12"
    )
    item.refresh_from_db()
    assert (item.status, item.evidence_url) == ("done", "https://git.example.com/pr/12")
    assert item.completed_at is not None


def test_wont_do_needs_a_reason(org):
    item = org.item()
    with pytest.raises(ValidationError) as caught:
        services.action_item_set_status(item=item, user=org.owner, status="wont_do")
    assert caught.value.message_dict["resolution_note"] == ["Give the reason it will not be done."]
    services.action_item_set_status(item=item, user=org.owner, status="wont_do", note="Service retired")
    assert ActionItem.objects.get(pk=item.pk).resolution_note == "Service retired"


def test_reopening_clears_the_completion_time(org):
    item = org.item()
    services.action_item_complete(item=item, user=org.owner, resolution_note="Done")
    services.action_item_reopen(item=item, user=org.lead, note="It came back")
    item.refresh_from_db()
    assert (item.status, item.completed_at) == ("open", None)


def test_moving_a_due_date_needs_a_reason_which_the_history_keeps(org):
    item = org.item(due_date=date(2026, 3, 16))
    with pytest.raises(ValidationError) as caught:
        services.action_item_move_due_date(item=item, user=org.owner, due_date=date(2026, 4, 1), reason="")
    assert "note" in caught.value.message_dict
    services.action_item_move_due_date(item=item, user=org.owner, due_date=date(2026, 4, 1), reason="Waiting on vendor")
    change = ActionItemChange.objects.get(item=item)
    assert change.changes == {"due_date": ["2026-03-16", "2026-04-01"]}
    assert (change.note, change.changed_by) == ("Waiting on vendor", org.owner)


def test_every_change_is_recorded_with_who_and_what(org):
    item = org.item()
    services.action_item_update(
        item=item, user=org.owner, data={"status": "in_progress", "external_url": "https://jira.example.com/OPS-1"}
    )
    services.action_item_update(item=item, user=org.facilitator, data={"owner": org.teammate})
    services.action_item_update(item=item, user=org.facilitator, data={"owner": org.teammate})  # no change: no row
    history = list(ActionItemChange.objects.filter(item=item).values_list("changed_by__username", "changes"))
    assert history == [
        ("owner", {"status": ["open", "in_progress"], "external_url": ["", "https://jira.example.com/OPS-1"]}),
        ("facilitator", {"owner": [str(org.owner.pk), str(org.teammate.pk)]}),
    ]


def test_a_bad_url_is_refused(org):
    item = org.item()
    with pytest.raises(ValidationError):
        services.action_item_update(item=item, user=org.owner, data={"external_url": "javascript:alert(1)"})


def test_preferences_reject_unknown_time_zones(org):
    with pytest.raises(ValidationError):
        services.preferences_update(user=org.owner, time_zone="Mars/Olympus", digest_opt_out=False)
    saved = services.preferences_update(user=org.owner, time_zone="Europe/Berlin", digest_opt_out=True)
    assert (saved.time_zone, saved.digest_opt_out) == ("Europe/Berlin", True)
