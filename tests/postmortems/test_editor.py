"""The editor: save, form errors next to fields, malformed posts, optimistic locking, amendments."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actions.models import ActionItem, ActionItemChange
from postmortems.models import Postmortem, PostmortemEvent
from postmortems.services import postmortem_update
from tests.factories import ActionItemFactory

from .conftest import editor_data

pytestmark = pytest.mark.django_db


def edit_url(pm):
    return reverse("postmortems:edit", args=[pm.pk])


def test_the_editor_shows_sections_prompts_timeline_and_hints(client, people, draft):
    draft.root_cause = "config change"
    draft.save()
    client.force_login(people.facilitator)
    page = client.get(edit_url(draft))
    assert page.status_code == 200
    text = page.text
    assert "Ask why until you reach a cause in the system, not a person." in text
    assert 'id="timeline"' in text
    assert "single short line" in text
    assert 'name="actions-TOTAL_FORMS"' in text
    assert 'name="version" value="1"' in text


def test_saving_updates_sections_numbers_people_and_action_items(client, people, draft):
    client.force_login(people.facilitator)
    item = draft.action_items.get()
    data = editor_data(
        draft,
        summary="Checkout failed for 40 minutes.",
        users_affected="1200",
        revenue_impact="3500.50",
        reviewers=[str(people.reviewer.pk), str(people.member.pk)],
        **{
            "actions-0-due_date": "2026-04-01",
            "actions-0-due_date_reason": "The vendor ships the fix in April.",
            "actions-1-title": "Add a lock timeout to schema migrations",
            "actions-1-kind": "prevent",
            "actions-1-owner": str(people.author.pk),
            "actions-1-team": str(people.team.pk),
            "actions-1-due_date": "2026-04-15",
            "actions-1-priority": "p2",
        },
    )
    response = client.post(edit_url(draft), data)
    assert response.status_code == 302, response.text
    draft.refresh_from_db()
    assert draft.summary == "Checkout failed for 40 minutes."
    assert draft.users_affected == 1200
    assert str(draft.revenue_impact) == "3500.50"
    assert draft.version == 2
    assert set(draft.reviewers.all()) == {people.reviewer, people.member}
    assert draft.action_items.count() == 2
    new = draft.action_items.exclude(pk=item.pk).get()
    assert (new.owner, new.team, new.priority) == (people.author, people.team, "p2")
    assert ActionItemChange.objects.filter(item=item, changed_by=people.facilitator).exists()
    assert PostmortemEvent.objects.filter(postmortem=draft, kind="edited", actor=people.facilitator).exists()


def test_an_action_item_can_be_removed(client, people, draft):
    client.force_login(people.author)
    response = client.post(edit_url(draft), editor_data(draft, **{"actions-0-DELETE": "on"}))
    assert response.status_code == 302
    assert not ActionItem.objects.filter(postmortem=draft).exists()


def test_form_errors_appear_next_to_their_fields(client, people, draft):
    client.force_login(people.facilitator)
    data = editor_data(
        draft,
        users_affected="lots",
        visibility="restricted",
        teams=[],
        **{"actions-1-title": "Rotate keys", "actions-1-due_date": "not a date"},
    )
    response = client.post(edit_url(draft), data)
    assert response.status_code == 400
    text = response.text
    assert 'id="id_users_affected_errors"' in text
    assert 'id="id_actions-1-due_date_errors"' in text
    assert "Nothing was saved" in text
    draft.refresh_from_db()
    assert draft.version == 1
    # The restricted-without-teams rule comes from the service, once the fields are valid.
    response = client.post(edit_url(draft), editor_data(draft, visibility="restricted", teams=[]))
    assert response.status_code == 400
    assert 'id="id_teams_errors"' in response.text
    assert "Choose the teams" in response.text


@pytest.mark.parametrize(
    "overrides",
    [
        {"version": "abc"},
        {"version": ""},
        {"version": "-3"},
        {"users_affected": "-5"},
        {"revenue_impact": "1e999"},
        {"revenue_impact": "12.345.6"},
        {"reviewers": ["999999"]},
        {"authors": ["not-a-number"]},
        {"teams": ["424242"]},
        {"internal_sections": ["passwords"]},
        {"visibility": "everyone"},
        {"actions-0-owner": "999999"},
        {"actions-0-id": "999999"},
        {"actions-0-kind": "blame"},
        {"actions-TOTAL_FORMS": "many"},
        {"actions-TOTAL_FORMS": None, "actions-INITIAL_FORMS": None},
    ],
)
def test_malformed_posts_get_errors_not_500(client, people, draft, overrides):
    client.force_login(people.facilitator)
    data = editor_data(draft, **overrides)
    data = {key: value for key, value in data.items() if value is not None}
    response = client.post(edit_url(draft), data)
    assert response.status_code == 400
    draft.refresh_from_db()
    assert draft.version == 1


def test_an_action_item_of_another_postmortem_is_refused(client, people, draft, in_review):
    other = in_review.action_items.get()
    client.force_login(people.admin)
    response = client.post(edit_url(draft), editor_data(draft, **{"actions-0-id": str(other.pk)}))
    assert response.status_code == 400
    other.refresh_from_db()
    assert other.postmortem == in_review


def test_an_empty_post_is_a_form_error(client, people, draft):
    client.force_login(people.facilitator)
    assert client.post(edit_url(draft), {}).status_code == 400


def test_the_preview_button_renders_without_saving(client, people, draft):
    client.force_login(people.facilitator)
    data = editor_data(draft, summary="**bold** <script>alert(1)</script>", preview="1")
    response = client.post(edit_url(draft), data)
    assert response.status_code == 200
    assert "<strong>bold</strong>" in response.text
    assert "<script>alert(1)" not in response.text
    assert "Not saved yet." in response.text
    draft.refresh_from_db()
    assert draft.version == 1
    assert "bold" not in draft.summary


def test_opening_the_editor_does_not_say_unsaved(client, people, draft):
    """The sections' previews show on opening; the "not saved yet" notice only after Preview."""
    client.force_login(people.facilitator)
    text = client.get(edit_url(draft)).text
    assert 'id="preview-summary"' in text
    assert "Not saved yet." not in text


def test_the_preview_endpoint_returns_sanitised_html_and_hints(client, people):
    client.force_login(people.facilitator)
    url = reverse("postmortems:preview")
    response = client.post(url, {"text": "# Title\n[x](javascript:alert(1))"})
    assert response.status_code == 200
    assert "<h1>Title</h1>" in response.text
    assert "javascript:" not in response.text
    response = client.post(url, {"text": "Fay caused it", "root_cause": "Human error"})
    assert "human error" in response.text.lower()
    assert client.get(url).status_code == 405


def test_two_saves_from_the_same_version_conflict_and_lose_nothing(client, people, draft):
    client.force_login(people.facilitator)
    first = client.post(edit_url(draft), editor_data(draft, summary="Alice's summary: the cache expired."))
    assert first.status_code == 302
    client.force_login(people.author)
    second = client.post(edit_url(draft), editor_data(draft, summary="Bob's summary: the database was slow."))
    assert second.status_code == 409
    text = second.text
    assert "Someone else saved this postmortem" in text
    assert "Alice&#x27;s summary: the cache expired." in text  # theirs, as saved
    assert "Bob&#x27;s summary: the database was slow." in text  # yours, in the table and the form
    assert text.count("Bob&#x27;s summary") >= 2
    assert 'name="version" value="2"' in text  # the next save goes on top of theirs
    draft.refresh_from_db()
    assert draft.summary == "Alice's summary: the cache expired."
    assert draft.version == 2
    again = client.post(edit_url(draft), editor_data(draft, summary="Merged: the cache expired, the DB was slow."))
    assert again.status_code == 302
    draft.refresh_from_db()
    assert (draft.summary, draft.version) == ("Merged: the cache expired, the DB was slow.", 3)


def test_editing_a_published_postmortem_goes_to_amend_and_needs_a_note(client, people, org_published):
    client.force_login(people.facilitator)
    assert client.get(edit_url(org_published)).url == reverse("postmortems:amend", args=[org_published.pk])
    amend_url = reverse("postmortems:amend", args=[org_published.pk])
    response = client.post(amend_url, editor_data(org_published, lessons="Keys expire."))
    assert response.status_code == 400
    assert 'id="id_amendment_note_errors"' in response.text
    response = client.post(
        amend_url, editor_data(org_published, lessons="Keys expire.", amendment_note="Added the lesson.")
    )
    assert response.status_code == 302
    org_published.refresh_from_db()
    assert org_published.status == Postmortem.Status.PUBLISHED
    assert org_published.lessons == "Keys expire."
    page = client.get(org_published.get_absolute_url())
    assert "by Fay" in page.text and "Added the lesson." in page.text
    assert "Amended on" in page.text


def test_the_editor_renders_due_dates_as_the_date_input_takes_them(client, people, draft, settings):
    """A ``type=date`` input drops ``14/12/2026``; under en-GB the page must say ``2026-12-14``."""
    settings.LANGUAGE_CODE = "en-gb"
    draft.action_items.update(due_date=date(2026, 12, 14))
    client.force_login(people.facilitator)
    text = client.get(edit_url(draft)).text
    assert 'type="date" name="actions-0-due_date" value="2026-12-14"' in text


def test_a_save_that_changes_nothing_writes_nothing(client, people, draft):
    """Browsers send CRLF line breaks; an untouched form is no new version, event or history."""
    draft.summary = "First line.\n\n- one\n- two"
    draft.save()
    item = draft.action_items.get()
    client.force_login(people.facilitator)
    data = editor_data(draft, summary=draft.summary.replace("\n", "\r\n"))
    response = client.post(edit_url(draft), data, follow=True)
    assert "Nothing changed, so nothing was saved." in response.text
    draft.refresh_from_db()
    assert (draft.version, draft.summary) == (1, "First line.\n\n- one\n- two")
    assert not PostmortemEvent.objects.filter(postmortem=draft, kind="edited").exists()
    assert not ActionItemChange.objects.filter(item=item).exists()


@pytest.mark.parametrize("due", ["2026-05-01", ""], ids=["moved", "cleared"])
def test_moving_or_clearing_a_due_date_in_the_editor_needs_a_reason(client, people, draft, due):
    item = draft.action_items.get()
    was = item.due_date
    client.force_login(people.facilitator)
    response = client.post(edit_url(draft), editor_data(draft, summary="New summary", **{"actions-0-due_date": due}))
    assert response.status_code == 400
    assert 'id="id_actions-0-due_date_reason_errors"' in response.text
    assert "Say why the due date moves." in response.text
    draft.refresh_from_db()
    item.refresh_from_db()
    assert (draft.version, draft.summary, item.due_date) == (1, "Checkout failed for 40 minutes after a deploy.", was)
    reason = "The vendor's fix slipped to May."
    data = editor_data(draft, **{"actions-0-due_date": due, "actions-0-due_date_reason": reason})
    assert client.post(edit_url(draft), data).status_code == 302
    item.refresh_from_db()
    assert item.due_date == (date(2026, 5, 1) if due else None)
    change = ActionItemChange.objects.filter(item=item).latest("pk")
    assert change.changes["due_date"] == [str(was), due or None]
    assert change.note == reason


def test_the_service_refuses_a_moved_due_date_without_a_reason(people, draft):
    """The rule holds for every caller of ``postmortem_update``, not only the editor's form."""
    item = draft.action_items.get()
    moved = {"id": item.pk, "delete": False, "due_date": None}
    with pytest.raises(ValidationError, match="Say why the due date moves"):
        postmortem_update(postmortem=draft, user=people.facilitator, data={}, expected_version=1, action_items=[moved])
    item.refresh_from_db()
    assert item.due_date is not None
    draft.refresh_from_db()
    assert draft.version == 1


def _editor_queries(client, draft) -> tuple[int, int]:
    """Queries to open the editor, and to save it untouched."""
    client.get(edit_url(draft))  # warm the session and the content types
    with CaptureQueriesContext(connection) as opened:
        assert client.get(edit_url(draft)).status_code == 200
    with CaptureQueriesContext(connection) as saved:
        assert client.post(edit_url(draft), editor_data(draft)).status_code == 302
    return len(opened), len(saved)


def test_the_editor_and_an_unchanged_save_keep_a_fixed_number_of_queries(client, people, draft):
    """However many action items there are: the owner and team lists are read once, not once
    per item, and an unchanged save reads the items in one query."""
    client.force_login(people.facilitator)
    one = _editor_queries(client, draft)
    for _ in range(5):
        ActionItemFactory(postmortem=draft, owner=people.author)
    assert _editor_queries(client, draft) == one
