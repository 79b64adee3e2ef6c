"""Accounts from claims and teams from groups, without a provider."""

import pytest

from accounts.models import GroupMapping, KeptLead, OidcIdentity
from accounts.services import SignInRefused, groups_from_claims, oidc_user_for_claims, teams_sync_from_groups
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
ISSUER = "https://sso.example.org"


def claims(sub="s-1", **extra):
    return {"sub": sub, "email": "ada@example.org", "email_verified": True, **extra}


def test_a_linked_subject_finds_its_account_whatever_the_email_says():
    ada = UserFactory(username="ada", email="ada@example.org")
    OidcIdentity.objects.create(user=ada, issuer=ISSUER, subject="s-1")

    user = oidc_user_for_claims(issuer=ISSUER, claims=claims(email="someone@else.org", email_verified=False))

    assert user == ada and user.email == "ada@example.org"


def test_a_new_person_gets_a_username_of_their_own():
    UserFactory(username="ada")

    user = oidc_user_for_claims(issuer=ISSUER, claims=claims(preferred_username="ada", email="ada@new.org"))

    assert user.username == "ada-2" and not user.has_usable_password()


def test_two_accounts_with_the_verified_email_are_refused():
    UserFactory(username="a1", email="ada@example.org")
    UserFactory(username="a2", email="ADA@example.org")

    with pytest.raises(SignInRefused, match="More than one account"):
        oidc_user_for_claims(issuer=ISSUER, claims=claims())


def test_the_same_subject_at_another_issuer_is_another_person():
    ada = UserFactory(username="ada", email="ada@example.org")
    OidcIdentity.objects.create(user=ada, issuer="https://other.example.org", subject="s-1")

    with pytest.raises(SignInRefused):
        oidc_user_for_claims(issuer=ISSUER, claims=claims(email_verified="false"))


@pytest.mark.parametrize("value, groups", [(None, None), (["a", "b"], ["a", "b"]), ("a", ["a"]), ([], [])], ids=str)
def test_groups_claim(value, groups):
    assert groups_from_claims({} if value is None else {"groups": value}, "groups") == groups


def test_sync_joins_and_leaves_mapped_teams_only_and_keeps_a_lead():
    ada = UserFactory(username="ada")
    payments, search, led, manual = (TeamFactory(name=n) for n in ("Payments", "Search", "Led", "Manual"))
    for group, team in (("g-pay", payments), ("g-search", search), ("g-led", led)):
        GroupMapping.objects.create(group=group, team=team)
    led.lead = ada
    led.save()
    search.members.add(ada)
    led.members.add(ada)
    manual.members.add(ada)

    kept = teams_sync_from_groups(user=ada, groups=["g-pay", "other"])

    assert kept == [led]
    assert set(ada.teams.values_list("name", flat=True)) == {"Payments", "Led", "Manual"}
    assert KeptLead.objects.get().team == led
