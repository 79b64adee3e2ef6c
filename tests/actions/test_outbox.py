"""Sent mail is easy to find: admins read every queued, sent and failed message on the
outbox page, and the admin keeps sent messages as they were."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from actions.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OUTBOX = reverse("actions:outbox")
LOST = "SMTPServerDisconnected: Connection unexpectedly closed"


def message(n: int = 0, **fields) -> Notification:
    values = {
        "recipient_email": f"person{n}@example.com",
        "kind": Notification.Kind.ASSIGNED,
        "subject_key": f"AI-{n:04d}",
        "period_key": "change-1",
        "subject": f"[AI-{n:04d}] assigned to you by Zoë Ó Súilleabháin: message {n}",
        "body_text": f"Plain body of message {n}",
        "body_html": f'<p class="x">HTML body of message {n} &amp; more</p>',
        **fields,
    }
    return Notification.objects.create(**values)


@pytest.fixture
def admin_user_(db):
    return UserFactory(username="boss", is_staff=True)


@pytest.fixture
def rows(db):
    now = timezone.now()
    return {
        "pending": message(1),
        "sent": message(2, state="sent", sent_at=now, attempts=1),
        "failed": message(
            3, state="failed", attempts=2, last_error="SMTPServerDisconnected: Connection unexpectedly closed"
        ),
    }


def test_admins_read_pending_sent_and_failed_messages_with_their_bodies(client, admin_user_, rows):
    client.force_login(admin_user_)
    page = client.get(OUTBOX)
    assert page.status_code == 200
    text = page.text
    for n in (1, 2, 3):
        assert f"[AI-{n:04d}] assigned to you by Zoë Ó Súilleabháin: message {n}" in text
        assert f"Plain body of message {n}" in text
        assert f"person{n}@example.com" in text
    # The HTML body is shown in a sandboxed frame, escaped into its srcdoc attribute.
    assert 'srcdoc="&lt;p class=&quot;x&quot;&gt;HTML body of message 1 &amp;amp; more&lt;/p&gt;"' in text
    assert "sandbox" in text
    assert ">Pending<" in text and ">Sent<" in text and ">Failed<" in text
    assert LOST in text
    # Newest first.
    assert text.index("message 3") < text.index("message 2") < text.index("message 1")


def test_the_outbox_filters_by_status(client, admin_user_, rows):
    client.force_login(admin_user_)
    text = client.get(OUTBOX, {"state": "failed"}).text
    assert "Plain body of message 3" in text
    assert "Plain body of message 1" not in text and "Plain body of message 2" not in text
    assert "1 message<" in text


def test_only_admins_read_the_outbox(client, rows):
    assert client.get(OUTBOX).url.startswith(reverse("login"))
    client.force_login(UserFactory(username="reader"))
    response = client.get(OUTBOX)
    assert response.status_code == 403
    assert "Plain body" not in response.text


def test_the_outbox_pages_and_its_queries_do_not_grow_with_its_rows(
    client, admin_user_, django_assert_num_queries, django_assert_max_num_queries
):
    client.force_login(admin_user_)
    for n in range(3):
        message(n)
    # session, user, the count, the page's rows
    with django_assert_max_num_queries(4) as few:
        client.get(OUTBOX)
    base = timezone.now() - timedelta(hours=1)
    for n in range(3, 45):
        Notification.objects.filter(pk=message(n).pk).update(created_at=base + timedelta(minutes=n))
    with django_assert_num_queries(len(few)):
        first = client.get(OUTBOX)
    assert first.text.count('class="card mb-3 outbox-message"') == 20
    assert "Page 1 of 3" in first.text
    last = client.get(OUTBOX, {"page": 3})
    assert last.text.count('class="card mb-3 outbox-message"') == 5
    assert "Plain body of message 3<" in last.text  # the oldest come last


def test_a_sent_message_is_read_only_in_the_admin(client, rows):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    sent, pending = rows["sent"], rows["pending"]
    change_sent = reverse("admin:actions_notification_change", args=[sent.pk])
    page = client.get(change_sent)
    assert page.status_code == 200
    assert 'name="_save"' not in page.text  # viewed, not edited
    client.post(change_sent, {"recipient_email": "someone@else.example", "subject": "Changed"})
    sent.refresh_from_db()
    assert (sent.recipient_email, sent.subject) == ("person2@example.com", rows["sent"].subject)
    assert client.post(reverse("admin:actions_notification_delete", args=[sent.pk]), {"post": "yes"}).status_code == 403
    assert Notification.objects.filter(pk=sent.pk).exists()
    # A message not sent yet can still be corrected (or deleted).
    assert 'name="_save"' in client.get(reverse("admin:actions_notification_change", args=[pending.pk])).text
    changelist = client.get(reverse("admin:actions_notification_changelist")).text
    assert "delete_selected" not in changelist
