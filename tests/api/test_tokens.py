"""/api/v1/tokens/: each user lists, creates (from a signed-in session) and revokes their own
API tokens; the key is shown once, in the creating response."""

import pytest

from incidents.api_auth import api_token_create
from incidents.models import ApiToken

pytestmark = pytest.mark.django_db

URL = "/api/v1/tokens/"


def test_a_signed_in_user_creates_a_token_for_a_ci_job_and_it_works(client, people):
    client.force_login(people.reader)
    response = client.post(URL, {"name": "  CI deploy job "}, content_type="application/json")
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    token = ApiToken.objects.get(pk=body["id"])
    assert body["name"] == token.name == "CI deploy job" and body["key"].startswith(body["prefix"])
    assert body["key"] not in token.key_hash  # only the hash is stored
    ci = client.__class__()
    assert ci.get("/api/v1/incidents/", HTTP_AUTHORIZATION=f"Bearer {body['key']}").status_code == 200
    # The key is never shown again.
    listed = client.get(URL).json()["results"]
    assert [row["id"] for row in listed] == [token.pk] and "key" not in listed[0]
    assert "key" not in client.get(f"{URL}{token.pk}/").json()


def test_a_token_cannot_mint_more_tokens(api, people):
    response = api(people.reader).post(URL, {"name": "copy"})
    assert response.status_code == 403 and "signed in" in response.json()["detail"]
    assert ApiToken.objects.filter(user=people.reader).count() == 1


def test_a_name_is_required(client, people):
    client.force_login(people.reader)
    response = client.post(URL, {"name": "   "}, content_type="application/json")
    assert response.status_code == 400 and "name" in response.json()["errors"]
    assert not ApiToken.objects.exists()


def test_each_user_sees_and_revokes_only_their_own(api, people):
    theirs, _ = api_token_create(user=people.member, name="member's job")
    client = api(people.reader)
    assert [row["name"] for row in client.get(URL).json()["results"]] == ["tests"]
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404
    assert client.post(f"{URL}{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_a_revoked_token_is_refused_at_once(api, people):
    doomed, key = api_token_create(user=people.reader, name="leaked")
    client = api(people.reader)
    response = client.post(f"{URL}{doomed.pk}/revoke/")
    assert response.status_code == 200 and response.json()["revoked_at"]
    leaked = api(None)
    leaked.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    refused = leaked.get("/api/v1/incidents/")
    assert refused.status_code == 403 and refused.json()["detail"] == "Invalid or revoked token."
    assert client.post(f"{URL}{doomed.pk}/revoke/").status_code == 200  # twice is harmless
