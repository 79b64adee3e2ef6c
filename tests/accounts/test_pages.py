"""The sign-in pages with and without a provider configured (no provider process needed: an
unreachable one shows what a person meets when it is down)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import GroupMapping, KeptLead, OidcIdentity
from tests.factories import TeamFactory, UserFactory
from tests.oidc.conftest import PROVIDER_NAME, oidc_settings

pytestmark = pytest.mark.django_db
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers


@pytest.fixture
def provider_down(settings):
    for name, value in oidc_settings(OIDC_OP_ISSUER=UNREACHABLE, OIDC_TIMEOUT=2).items():
        setattr(settings, name, value)
    return settings


def test_without_a_provider_the_sign_in_page_is_the_password_form(client):
    page = client.get("/accounts/login/")

    assert 'name="password"' in page.text and "Sign in with" not in page.text
    assert client.get("/accounts/oidc/authenticate/").status_code == 404
    assert client.get("/accounts/oidc/callback/?code=x&state=y").status_code == 404


def test_without_a_provider_the_admin_hides_the_group_mappings(admin_client, settings):
    assert "Group → team mappings" not in admin_client.get("/admin/").text

    settings.OIDC_ENABLED = True

    assert "Group → team mappings" in admin_client.get("/admin/").text
    assert admin_client.get("/admin/accounts/groupmapping/").status_code == 200
    assert admin_client.get("/admin/accounts/keptlead/").status_code == 200


def test_the_admin_lists_mappings_kept_leads_and_identities(admin_client, settings):
    settings.OIDC_ENABLED = True
    team, ada = TeamFactory(name="Payments"), UserFactory(username="ada")
    rows = [
        GroupMapping.objects.create(group="eng-payments", team=team),
        KeptLead.objects.create(user=ada, team=team),
        OidcIdentity.objects.create(user=ada, issuer="https://sso.example.org", subject="s-1"),
    ]

    for row in rows:
        changelist = admin_client.get(reverse(f"admin:accounts_{row._meta.model_name}_changelist"))
        change = admin_client.get(reverse(f"admin:accounts_{row._meta.model_name}_change", args=[row.pk]))
        assert changelist.status_code == change.status_code == 200
        assert "Payments" in changelist.text or "s-1" in changelist.text


def test_with_the_provider_down_a_password_still_signs_in(client, provider_down):
    UserFactory(username="breakglass")

    answer = client.post("/accounts/login/", {"username": "breakglass", "password": "pw"})

    assert answer.status_code == 302 and answer.url == "/"
    assert client.get("/incidents/").status_code == 200


def test_with_the_provider_down_its_button_says_so(client, provider_down):
    page = client.get("/accounts/oidc/authenticate/", follow=True)

    assert page.request["PATH_INFO"] == "/accounts/login/"
    assert f"{PROVIDER_NAME} cannot be reached just now" in page.text


def test_with_password_sign_in_off_a_password_is_refused(client, provider_down):
    provider_down.LOCAL_LOGIN_ENABLED = False
    provider_down.AUTHENTICATION_BACKENDS = [
        b for b in provider_down.AUTHENTICATION_BACKENDS if not b.endswith("ModelBackend")
    ]
    UserFactory(username="breakglass")

    page = client.post("/accounts/login/", {"username": "breakglass", "password": "pw"}, follow=True)

    assert "Password sign-in is turned off. Sign in with Example SSO." in page.text
    assert 'name="password"' not in page.text
    assert not page.context["user"].is_authenticated
    assert get_user_model().objects.get(username="breakglass").last_login is None
