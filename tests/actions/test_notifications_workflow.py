"""The workflow emails people: an item's new owner, the facilitator after a review, and the
teams' members who asked to hear of publications. Each message goes through the ledger,
is enqueued after commit, runs on Celery (eager here) and reaches a real SMTP server."""

from datetime import date
from email import message_from_bytes, policy

import pytest
from django.urls import reverse

from actions import services as action_services
from actions.models import ActionItem, Notification, NotificationPreference
from postmortems import services
from tests.factories import UserFactory
from tests.postmortems import conftest as postmortem_fixtures

from .smtp import smtp_server

pytestmark = pytest.mark.django_db

# The postmortem tests' named people (facilitator "Fay", reviewer "Rex", member "Mia") and postmortems.
people, draft, in_review = postmortem_fixtures.people, postmortem_fixtures.draft, postmortem_fixtures.in_review


@pytest.fixture
def inbox(settings):
    """Mail goes to an aiosmtpd server on loopback; Celery runs the delivery tasks eagerly."""
    from config.celery import app

    settings.SITE_URL = "https://pm.example.com"
    with smtp_server() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        app.conf.task_always_eager = True
        try:
            yield server
        finally:
            app.conf.task_always_eager = False


def received(server) -> list:
    """The messages the server accepted, parsed as a mail client would (headers decoded)."""
    return [message_from_bytes(envelope.original_content, policy=policy.default) for envelope in server.messages]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Call a service in a transaction and run what it enqueued after commit."""

    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def new_item(**fields) -> dict:
    return {"id": None, "title": "Alert on expired keys", "kind": "detect", "due_date": date(2026, 12, 14), **fields}


def test_a_new_items_owner_is_emailed_once_and_a_new_owner_again(inbox, run, people, draft):
    run(
        services.postmortem_update,
        postmortem=draft,
        user=people.facilitator,
        data={},
        expected_version=1,
        action_items=[new_item(owner=people.member)],
    )
    item = ActionItem.objects.get(title="Alert on expired keys")
    [message] = received(inbox)
    assert message["To"] == "member@example.com"
    assert (
        message["Subject"]
        == f"[{item.reference}] assigned to you by Fay {people.facilitator.last_name}: Alert on expired keys"
    )
    assert f"https://pm.example.com/actions/{item.reference}/" in body(message)
    assert "14 December 2026" in body(message)

    # Saving it again with the same owner sends nothing; a new owner is told.
    same = {"id": item.pk, "title": item.title, "owner": people.member}
    run(
        services.postmortem_update,
        postmortem=draft,
        user=people.facilitator,
        data={},
        expected_version=2,
        action_items=[same],
    )
    assert len(inbox.messages) == 1
    run(
        action_services.action_item_update,
        item=item,
        user=people.facilitator,
        data={"owner": people.author},
    )
    assert [m["To"] for m in received(inbox)] == ["member@example.com", "author@example.com"]
    assert Notification.objects.filter(kind="assigned", state="sent").count() == 2


def test_taking_an_item_yourself_or_opting_out_sends_nothing(inbox, run, people, draft):
    NotificationPreference.objects.create(user=people.member, email_assigned=False)
    run(
        services.postmortem_update,
        postmortem=draft,
        user=people.facilitator,
        data={},
        expected_version=1,
        action_items=[new_item(owner=people.facilitator), new_item(title="Rotate keys", owner=people.member)],
    )
    assert ActionItem.objects.filter(title__in=["Alert on expired keys", "Rotate keys"]).count() == 2
    assert inbox.messages == []
    assert not Notification.objects.filter(kind="assigned").exists()


def test_a_rolled_back_assignment_emails_nobody(inbox, people, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        from django.db import transaction

        with transaction.atomic():
            services.postmortem_update(
                postmortem=draft,
                user=people.facilitator,
                data={},
                expected_version=1,
                action_items=[new_item(owner=people.member)],
            )
            raise RuntimeError("the request failed after the save")
    assert inbox.messages == []
    assert not Notification.objects.exists()


def test_an_approval_emails_the_facilitator_who_may_publish_now(inbox, run, people, in_review):
    people.reviewer.first_name, people.reviewer.last_name = "Zoë", "Ó Súilleabháin"
    people.reviewer.save()
    incident = in_review.incident
    incident.title = "Checkout's “cart” & payments failed"
    incident.save()
    run(services.postmortem_review, postmortem=in_review, user=people.reviewer, decision="approve", comment="")
    [message] = received(inbox)
    assert message["To"] == "facilitator@example.com"
    # The subject is MIME-encoded on the wire; a mail client shows the names as written.
    assert message["Subject"] == (
        f"Zoë Ó Súilleabháin approved the postmortem for {incident.reference} Checkout's “cart” & payments failed"
    )
    text = body(message)
    assert "Zoë Ó Súilleabháin approved version 1" in text
    assert "You can publish it now." in text
    assert f"https://pm.example.com/postmortems/{in_review.pk}/" in text


def test_a_review_request_subject_reads_as_written(inbox, run, people, draft):
    incident = draft.incident
    incident.title = "Zoë's “cart” & payments failed"
    incident.save()
    run(services.postmortem_submit, postmortem=draft, user=people.facilitator)
    [message] = received(inbox)
    assert message["Subject"] == f"Review requested: postmortem for {incident.reference} Zoë's “cart” & payments failed"


def test_changes_requested_email_the_facilitator_with_the_comment(inbox, run, people, in_review):
    run(
        services.postmortem_review,
        postmortem=in_review,
        user=people.reviewer,
        decision="request_changes",
        comment="Say why the alert was silent.",
    )
    [message] = received(inbox)
    assert message["To"] == "facilitator@example.com"
    assert message["Subject"].startswith(f"Rex {people.reviewer.last_name} requested changes to the postmortem for")
    text = body(message)
    assert "Say why the alert was silent." in text
    assert "Before it can be published:" in text and "A reviewer has requested changes" in text


def test_the_facilitator_who_reviews_or_opted_out_gets_no_review_email(inbox, run, people, in_review):
    in_review.reviewers.add(people.facilitator)
    run(services.postmortem_review, postmortem=in_review, user=people.facilitator, decision="approve")
    NotificationPreference.objects.create(user=people.facilitator, email_review=False)
    run(services.postmortem_review, postmortem=in_review, user=people.reviewer, decision="approve")
    assert inbox.messages == []


def test_publication_emails_the_teams_members_who_opted_in(inbox, run, people, in_review):
    quiet = UserFactory(username="quiet")  # a member with the default: no publication emails
    people.team.members.add(quiet, people.facilitator)
    stranger = UserFactory(username="stranger")  # opted in, but not in the postmortem's team
    for user in (people.member, people.facilitator, stranger):
        NotificationPreference.objects.create(user=user, email_published=True)
    services.postmortem_review(postmortem=in_review, user=people.reviewer, decision="approve")
    inbox.messages.clear()
    Notification.objects.all().delete()

    run(services.postmortem_publish, postmortem=in_review, user=people.facilitator)
    [message] = received(inbox)  # not the publisher, not quiet, not the stranger
    assert message["To"] == "member@example.com"
    assert message["Subject"] == f"Published: postmortem for {in_review.incident.reference} {in_review.incident.title}"
    assert f"https://pm.example.com/postmortems/{in_review.pk}/" in body(message)
    assert list(Notification.objects.values_list("kind", "state")) == [("published", "sent")]


def test_the_preferences_page_saves_the_new_choices(client, people):
    client.force_login(people.member)
    page = client.get(reverse("actions:preferences"))
    assert "When an action item is assigned to me" in page.text
    assert "When a postmortem of one of my teams is published" in page.text
    client.post(
        reverse("actions:preferences"),
        {"time_zone": "Europe/London", "email_review": "on", "email_published": "on"},
    )
    saved = NotificationPreference.objects.get(user=people.member)
    assert (saved.email_assigned, saved.email_review, saved.email_published) == (False, True, True)
