"""The ledger sends each message once, records failures and delivers once the server is back."""

import pytest
from django.core import mail

from actions.models import Notification
from actions.notifications import deliver, notify

pytestmark = pytest.mark.django_db


def _claim(**overrides):
    args = dict(
        kind=Notification.Kind.DIGEST,
        recipient_email="owner@example.com",
        period_key="2026-W10",
        template="emails/test_message",
        context={"name": "Owner"},
        enqueue=False,
    )
    args.update(overrides)
    return notify(**args)


@pytest.fixture(autouse=True)
def message_template(tmp_path, settings):
    folder = tmp_path / "emails"
    folder.mkdir()
    (folder / "test_message_subject.txt").write_text("Hello {{ name }}\n")
    (folder / "test_message.txt").write_text("Plain for {{ name }}")
    (folder / "test_message.html").write_text("<p>HTML for {{ name }}</p>")
    # Assign (not mutate) the setting, so Django rebuilds its template engines with this folder.
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]


def test_a_message_is_claimed_once_and_sent_once():
    row = _claim()
    assert _claim() is None
    assert deliver(row.pk) is True
    assert deliver(row.pk) is False
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.subject == "Hello Owner"
    assert sent.body == "Plain for Owner"
    assert sent.alternatives[0][0] == "<p>HTML for Owner</p>"
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("sent", 1)
    assert row.sent_at is not None


def test_a_failed_send_is_recorded_and_retried_later(settings):
    row = _claim()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens
    with pytest.raises(OSError):
        deliver(row.pk)
    row.refresh_from_db()
    assert row.state == "failed"
    assert row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliver(row.pk) is True
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, "")
    assert len(mail.outbox) == 1
