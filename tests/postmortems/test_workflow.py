"""The review workflow: start, submit, review, publish, amend; every step recorded once."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from actions.models import Notification
from actions.notifications import deliver
from postmortems import services
from postmortems.models import Postmortem, PostmortemEvent, Review
from tests.factories import ActionItemFactory, IncidentFactory

from .conftest import make_postmortem

pytestmark = pytest.mark.django_db


def kinds(postmortem):
    return list(postmortem.events.exclude(kind="edited").values_list("kind", flat=True))


def test_starting_a_postmortem_uses_the_template(client, people):
    incident = IncidentFactory(commander=people.facilitator)
    client.force_login(people.facilitator)
    url = reverse("postmortems:start", args=[incident.reference])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Start the postmortem" in confirm.text
    response = client.post(url)
    postmortem = Postmortem.objects.get(incident=incident)
    assert response.url == reverse("postmortems:edit", args=[postmortem.pk])
    assert postmortem.facilitator == people.facilitator
    assert list(postmortem.authors.all()) == [people.facilitator]
    assert postmortem.status == "draft"
    assert postmortem.summary == ""  # prompts are placeholders, never stored
    assert kinds(postmortem) == ["created"]
    # A second start (double click, or someone else) goes to the existing one.
    again = client.post(url)
    assert again.url == postmortem.get_absolute_url()
    assert Postmortem.objects.count() == 1


def test_starting_for_an_unknown_incident_is_404(client, people):
    client.force_login(people.facilitator)
    assert client.get(reverse("postmortems:start", args=["INC-1999-0001"])).status_code == 404


def test_submit_needs_a_reviewer(people, draft):
    draft.reviewers.clear()
    with pytest.raises(services.WorkflowError, match="at least one reviewer"):
        services.postmortem_submit(postmortem=draft, user=people.facilitator)
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_submit_moves_to_review_once_and_emails_each_reviewer_once(
    client, people, draft, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://pm.example.com"
    draft.reviewers.add(people.member)
    client.force_login(people.facilitator)
    url = reverse("postmortems:submit", args=[draft.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        first = client.post(url)
        second = client.post(url)  # a double click
    assert first.status_code == second.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "in_review" and draft.submitted_at
    assert kinds(draft) == ["submitted"]
    rows = Notification.objects.filter(kind="review_request", postmortem=draft)
    assert sorted(rows.values_list("recipient_email", flat=True)) == ["member@example.com", "reviewer@example.com"]
    deliveries = [callback for callback in callbacks if callback.__qualname__.startswith("notify.")]
    assert len(deliveries) == 2  # one delivery enqueued per reviewer, after commit
    for row in rows:
        deliver(row.pk)
        deliver(row.pk)
    assert len(mail.outbox) == 2
    message = next(m for m in mail.outbox if m.to == ["reviewer@example.com"])
    link = f"https://pm.example.com/postmortems/{draft.pk}/"
    assert draft.incident.reference in message.subject
    assert link in message.body
    assert f'href="{link}"' in message.alternatives[0][0]
    page = client.get(draft.get_absolute_url())
    assert "already moved on" in page.text or "Only a draft" in page.text


def test_review_emails_go_out_through_celery_when_eager(people, draft, settings, django_capture_on_commit_callbacks):
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.postmortem_submit(postmortem=draft, user=people.facilitator)
    finally:
        app.conf.task_always_eager = False
    assert [m.to for m in mail.outbox] == [["reviewer@example.com"]]
    assert Notification.objects.get(kind="review_request").state == "sent"


def test_a_reviewer_added_during_review_is_asked_once(people, in_review, django_capture_on_commit_callbacks):
    data = {"reviewers": [people.reviewer, people.member]}
    services.postmortem_update(postmortem=in_review, user=people.facilitator, data=data, expected_version=1)
    services.postmortem_update(postmortem=in_review, user=people.facilitator, data=data, expected_version=2)
    assert list(Notification.objects.values_list("recipient_email", flat=True)) == ["member@example.com"]


def test_request_changes_needs_a_comment(client, people, in_review):
    client.force_login(people.reviewer)
    url = reverse("postmortems:review", args=[in_review.pk])
    response = client.post(url, {"decision": "request_changes", "comment": "  "})
    assert response.status_code == 400
    assert 'id="id_comment_errors"' in response.text
    assert not Review.objects.exists()
    with pytest.raises(ValidationError):
        services.postmortem_review(postmortem=in_review, user=people.reviewer, decision="request_changes")
    assert client.post(url, {"decision": "maybe"}).status_code == 400


def test_reviews_record_the_version_and_the_log(client, people, in_review):
    client.force_login(people.reviewer)
    url = reverse("postmortems:review", args=[in_review.pk])
    client.post(url, {"decision": "request_changes", "comment": "Say why the alert was silent."})
    client.post(url, {"decision": "approve", "comment": "Thanks."})
    assert list(in_review.reviews.values_list("decision", "postmortem_version")) == [
        ("approve", 1),
        ("request_changes", 1),
    ]
    assert kinds(in_review) == ["changes_requested", "approved"]
    page = client.get(in_review.get_absolute_url())
    assert "Say why the alert was silent." in page.text


def test_reviewing_a_draft_is_refused(people, draft):
    with pytest.raises(services.WorkflowError):
        services.postmortem_review(postmortem=draft, user=people.reviewer, decision="approve")


def approve(postmortem, reviewer):
    return services.postmortem_review(postmortem=postmortem, user=reviewer, decision="approve")


def test_publish_needs_an_approval_of_the_current_version(people, in_review):
    with pytest.raises(services.WorkflowError, match="No reviewer has approved"):
        services.postmortem_publish(postmortem=in_review, user=people.facilitator)
    approve(in_review, people.reviewer)
    services.postmortem_update(
        postmortem=in_review, user=people.author, data={"lessons": "New text"}, expected_version=1
    )
    in_review.refresh_from_db()
    with pytest.raises(services.WorkflowError, match=r"approved this version \(v2\)"):
        services.postmortem_publish(postmortem=in_review, user=people.facilitator)
    approve(in_review, people.reviewer)
    services.postmortem_publish(postmortem=in_review, user=people.facilitator)
    in_review.refresh_from_db()
    assert in_review.status == "published" and in_review.published_at


def test_publish_is_blocked_by_outstanding_changes_requested(people, in_review):
    in_review.reviewers.add(people.member)
    approve(in_review, people.reviewer)
    services.postmortem_review(postmortem=in_review, user=people.member, decision="request_changes", comment="No.")
    with pytest.raises(services.WorkflowError, match="requested changes"):
        services.postmortem_publish(postmortem=in_review, user=people.facilitator)
    approve(in_review, people.member)  # the same reviewer changes their mind
    services.postmortem_publish(postmortem=in_review, user=people.facilitator)


def test_publish_lists_action_items_without_owner_or_due_date(client, people, in_review):
    no_owner = ActionItemFactory(postmortem=in_review, title="Page the DB team", owner=None)
    no_date = ActionItemFactory(postmortem=in_review, title="Rotate keys", due_date=None)
    approve(in_review, people.reviewer)
    client.force_login(people.facilitator)
    response = client.post(reverse("postmortems:publish", args=[in_review.pk]), follow=True)
    in_review.refresh_from_db()
    assert in_review.status == "in_review"
    text = response.text
    assert "Every action item needs an owner and a due date" in text
    assert f"{no_owner.reference} “Page the DB team” (needs an owner)" in text
    assert f"{no_date.reference} “Rotate keys” (needs a due date)" in text
    assert "Alert on failover key expiry" not in text.split("Every action item needs")[1].split("</")[0]


def test_publish_needs_summary_and_root_cause(people, in_review):
    Postmortem.objects.filter(pk=in_review.pk).update(root_cause="")
    in_review.refresh_from_db()
    approve(in_review, people.reviewer)
    with pytest.raises(services.WorkflowError, match="Root cause"):
        services.postmortem_publish(postmortem=in_review, user=people.facilitator)


def test_only_the_facilitator_or_an_admin_publishes(people, in_review):
    approve(in_review, people.reviewer)
    for user in (people.author, people.reviewer):
        with pytest.raises(PermissionDenied):
            services.postmortem_publish(postmortem=in_review, user=user)
    services.postmortem_publish(postmortem=in_review, user=people.admin)


def test_publishing_twice_publishes_once(client, people, in_review):
    approve(in_review, people.reviewer)
    client.force_login(people.facilitator)
    url = reverse("postmortems:publish", args=[in_review.pk])
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 302
    assert kinds(in_review) == ["approved", "published"]


def test_the_whole_history_is_shown_on_the_page(client, people):
    postmortem = make_postmortem(people)
    services.postmortem_submit(postmortem=postmortem, user=people.facilitator)
    approve(postmortem, people.reviewer)
    services.postmortem_publish(postmortem=postmortem, user=people.facilitator)
    postmortem.refresh_from_db()
    services.postmortem_update(
        postmortem=postmortem,
        user=people.author,
        data={"lessons": "Rotate keys yearly."},
        expected_version=postmortem.version,
        amendment_note="Added a lesson from the follow-up.",
    )
    client.force_login(people.outsider)
    page = client.get(postmortem.get_absolute_url())
    log = page.text.split('id="transition-log"')[1]
    for label in ("Submitted for review", "Approved", "Published", "Amended"):
        assert label in log
    assert "Draft → In review" in log and "In review → Published" in log
    assert "Amended on" in page.text and "by Ava" in page.text and "Added a lesson from the follow-up." in page.text
    assert PostmortemEvent.objects.filter(kind="amended", actor=people.author).count() == 1


def test_amending_needs_a_note(people, org_published):
    with pytest.raises(ValidationError):
        services.postmortem_update(
            postmortem=org_published, user=people.facilitator, data={"lessons": "x"}, expected_version=1
        )


def test_a_stale_version_raises_and_writes_nothing(people, draft):
    services.postmortem_update(postmortem=draft, user=people.facilitator, data={"summary": "A"}, expected_version=1)
    with pytest.raises(services.StaleVersion) as stale:
        services.postmortem_update(
            postmortem=draft,
            user=people.author,
            data={"summary": "B"},
            expected_version=1,
            action_items=[{"id": None, "delete": False, "title": "Should not exist"}],
        )
    assert stale.value.current.summary == "A"
    draft.refresh_from_db()
    assert (draft.summary, draft.version) == ("A", 2)
    assert not draft.action_items.filter(title="Should not exist").exists()
