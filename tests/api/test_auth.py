"""Sessions and personal tokens; users create and revoke their own tokens at /api/tokens/."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from incidents.api_auth import api_token_create, hash_key
from incidents.models import ApiToken

pytestmark = pytest.mark.django_db


def test_anonymous_requests_get_a_json_403(api, people):
    response = api(None).get("/api/v1/incidents/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
def test_a_token_authenticates_with_either_keyword(people, keyword):
    _, key = api_token_create(user=people.reader, name="script")
    client = APIClient(HTTP_AUTHORIZATION=f"{keyword} {key}")
    assert client.get("/api/v1/incidents/").status_code == 200


def test_wrong_revoked_and_inactive_users_tokens_are_refused(people):
    token, key = api_token_create(user=people.reader, name="script")
    assert APIClient(HTTP_AUTHORIZATION="Bearer pmt_wrong").get("/api/v1/teams/").json()["detail"] == (
        "Invalid or revoked token."
    )
    token.revoked_at = token.created_at
    token.save()
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/teams/").status_code == 403
    _, key2 = api_token_create(user=people.owner, name="script")
    people.owner.is_active = False
    people.owner.save()
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {key2}").get("/api/v1/teams/").status_code == 403


def test_only_the_keys_hash_is_stored_and_use_is_recorded(people):
    token, key = api_token_create(user=people.reader, name="Jira sync")
    assert token.key_hash == hash_key(key) and key not in token.key_hash
    assert key.startswith(token.prefix) and len(key) > 40
    assert token.last_used_at is None
    APIClient(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/teams/")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_session_works_and_needs_csrf_for_writes(people):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(people.reader)
    assert client.get("/api/v1/incidents/").status_code == 200
    response = client.post("/api/v1/incidents/", {"title": "x", "severity": 1}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_the_tokens_page_creates_a_token_shown_once_and_revokes_it(client, people):
    client.force_login(people.reader)
    url = reverse("api:tokens")
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "Jira sync"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=people.reader)
    key = response.context["new_key"]
    assert key in response.content.decode() and token.key_hash == hash_key(key)
    # Shown once: the list shows only the prefix afterwards.
    page = client.get(url).content.decode()
    assert key not in page and token.prefix in page and "Jira sync" in page
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/teams/").status_code == 200

    client.post(reverse("api:token-revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/teams/").status_code == 403


def test_nobody_revokes_or_sees_someone_elses_token(client, people):
    token, _ = api_token_create(user=people.owner, name="Owner's script")
    client.force_login(people.reader)
    assert "Owner's script" not in client.get(reverse("api:tokens")).content.decode()
    client.post(reverse("api:token-revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_tokens_page_needs_sign_in_and_a_name(client, people):
    assert client.get(reverse("api:tokens")).status_code == 302
    client.force_login(people.reader)
    assert client.post(reverse("api:tokens"), {"name": ""}).status_code == 400
    assert not ApiToken.objects.exists()
