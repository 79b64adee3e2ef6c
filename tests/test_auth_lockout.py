"""Guessing is stopped: wrong passwords lock an account and an address (the admin's sign-in
too), password reset is rate-limited and mailed by a task, and failed API token checks are
throttled. Limits in config/test_settings.py are the production defaults: 10 failures,
15 minutes; 3 resets an hour per address, 10 per client; 20 failed token checks an hour."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.api_auth import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 10


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


def sign_in(client, username: str, password: str, *, ip: str = "10.0.0.1", path: str = "/accounts/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_wrong_passwords_lock_the_account_and_the_right_one_is_then_refused(client, alice):
    for _ in range(LIMIT - 1):
        assert sign_in(client, "alice", "wrong").status_code == 200
    locked = sign_in(client, "alice", "wrong")

    response = sign_in(client, "alice", "pw")

    assert locked.status_code == response.status_code == 429
    assert not signed_in(client)
    page = response.content.decode()
    assert "Too many failed sign-ins" in page
    retry_at = (timezone.now() + timedelta(minutes=15)).strftime("%H:%M")
    assert "Try again after <strong><time" in page and retry_at in page
    assert "15 minutes from now" in page
    assert response["Retry-After"] == str(15 * 60)


def test_a_hundred_wrong_passwords_then_the_right_one_does_not_sign_in(client, alice):
    for _ in range(100):
        sign_in(client, "alice", "wrong")

    response = sign_in(client, "alice", "pw")

    assert response.status_code == 429
    assert not signed_in(client)


def test_the_lock_follows_the_account_to_another_address(client, alice):
    for n in range(LIMIT):
        sign_in(client, "alice", "wrong", ip=f"10.0.1.{n}")

    assert sign_in(client, "alice", "pw", ip="10.0.2.1").status_code == 429
    assert not signed_in(client)


def test_one_address_guessing_many_accounts_is_locked_out_and_others_are_not(client, alice):
    bob = UserFactory(username="bob")
    for n in range(LIMIT):
        sign_in(client, f"guess{n}", "wrong", ip="10.0.0.66")

    assert sign_in(client, "bob", "pw", ip="10.0.0.66").status_code == 429
    assert not signed_in(client)
    assert sign_in(client, bob.username, "pw", ip="10.0.0.7").status_code == 302
    assert signed_in(client)


def test_the_lock_lifts_after_the_cool_off(client, alice):
    for _ in range(LIMIT):
        sign_in(client, "alice", "wrong")

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = sign_in(client, "alice", "pw")

    assert response.status_code == 302
    assert signed_in(client)


def test_a_right_password_before_the_limit_starts_the_count_again(client, alice):
    for _ in range(LIMIT - 1):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "pw").status_code == 302
    client.logout()

    for _ in range(LIMIT - 1):
        sign_in(client, "alice", "wrong")

    assert sign_in(client, "alice", "pw").status_code == 302


def test_the_admin_sign_in_is_locked_too(client):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(LIMIT):
        sign_in(client, "root", "wrong", path="/admin/login/")

    response = sign_in(client, "root", "pw", path="/admin/login/")

    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert not signed_in(client)


def test_the_sign_in_pages_offer_a_password_reset(client):
    assert 'href="/accounts/password_reset/"' in client.get("/accounts/login/").content.decode()
    assert 'href="/admin/password_reset/"' in client.get("/admin/login/").content.decode()


def reset(client, email: str, *, ip: str = "10.0.0.1"):
    return client.post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=ip)


def test_reset_answers_alike_for_known_and_unknown_addresses_and_mails_from_a_task(
    client, alice, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://tracker.example.com"
    with django_capture_on_commit_callbacks() as queued:
        known = reset(client, "alice@example.com")
        unknown = reset(client, "nobody@example.com")

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []  # nothing is sent while the page waits
    assert len(queued) == 2

    from incidents.tasks import send_password_reset

    send_password_reset("alice@example.com")
    send_password_reset("nobody@example.com")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    link = next(line for line in message.body.splitlines() if "/accounts/reset/" in line)
    assert link.startswith("https://tracker.example.com/accounts/reset/")
    page = client.get(link.removeprefix("https://tracker.example.com"), follow=True)
    assert "Choose a new password" in page.content.decode()


def test_reset_is_limited_per_address(client, alice):
    for n in range(3):
        assert reset(client, "Alice@example.com", ip=f"10.0.3.{n}").status_code == 302

    response = reset(client, "alice@example.com", ip="10.0.3.9")

    assert response.status_code == 429
    assert "Too many password reset requests" in response.content.decode()
    assert "Try again after" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert reset(client, "someone@example.com", ip="10.0.3.9").status_code == 302


def test_reset_is_limited_per_client(client):
    for n in range(10):
        assert reset(client, f"user{n}@example.com", ip="10.0.4.1").status_code == 302

    assert reset(client, "other@example.com", ip="10.0.4.1").status_code == 429
    assert reset(client, "other@example.com", ip="10.0.4.2").status_code == 302


def api_get(key: str, ip: str = "10.0.0.1"):
    return APIClient().get("/api/v1/incidents/", HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR=ip)


def test_failed_token_checks_are_throttled_per_client(alice):
    _, key = api_token_create(user=alice, name="script")
    for n in range(20):
        assert api_get(f"pmt_guess{n}").status_code == 403  # refused (a 403: session auth comes first)

    throttled = api_get(key)

    assert throttled.status_code == 429
    assert "Too many failed token checks" in throttled.json()["detail"]
    assert int(throttled["Retry-After"]) > 0
    assert api_get(key, ip="10.0.0.2").status_code == 200


def test_right_tokens_are_not_counted(alice):
    _, key = api_token_create(user=alice, name="script")

    for _ in range(25):
        assert api_get(key).status_code == 200


def test_behind_a_proxy_the_lock_counts_the_address_the_proxy_saw(client, alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.9.9.9"
    for n in range(LIMIT):
        # The client forges the left part of the header; the proxy appends what it saw.
        client.post(
            "/accounts/login/",
            {"username": f"guess{n}", "password": "wrong"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.5",
        )

    right = {"username": "alice", "password": "pw"}
    locked = client.post("/accounts/login/", right, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.5")
    other = client.post("/accounts/login/", right, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.6")

    assert locked.status_code == 429
    assert other.status_code == 302


def test_a_new_password_from_the_emailed_link_lifts_the_lock(client, alice, settings):
    from incidents.tasks import send_password_reset

    for _ in range(LIMIT):
        sign_in(client, "alice", "wrong")
    send_password_reset("alice@example.com")
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    form = client.get(link.removeprefix(settings.SITE_URL), follow=True)
    new = {"new_password1": "a fresh long passphrase", "new_password2": "a fresh long passphrase"}

    done = client.post(form.redirect_chain[-1][0], new, follow=True)

    assert "Your password was changed" in done.content.decode()
    assert sign_in(client, "alice", "a fresh long passphrase").status_code == 302
    assert signed_in(client)
