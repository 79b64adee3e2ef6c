"""Accounts from the provider's claims, and team membership from its groups."""

from __future__ import annotations

import logging
import re

from django.contrib.auth import get_user_model
from django.db import transaction

from incidents.models import Team

from .models import GroupMapping, KeptLead, OidcIdentity

logger = logging.getLogger(__name__)
User = get_user_model()


class SignInRefused(Exception):
    """The claims cannot be tied to an account safely; the message says why, for the person."""


def email_verified(claims: dict) -> bool:
    # Some providers send the flag as a string.
    return claims.get("email_verified") in (True, "true", "True")


def oidc_user_for_claims(*, issuer: str, claims: dict):
    """The account for a signed-in subject: the one linked to it, else the one account whose
    email matches a verified email claim (then linked), else a new account. An unverified
    email never finds an account, and never makes a second account with the same address."""
    subject = str(claims["sub"])
    identity = OidcIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if identity:
        return _user_update(identity.user, claims)
    email = (claims.get("email") or "").strip()
    matches = list(User.objects.filter(email__iexact=email)[:2]) if email else []
    if matches and not email_verified(claims):
        raise SignInRefused(
            "An account already uses this email address, but the provider has not verified it. "
            "Ask an administrator to link your account."
        )
    if len(matches) > 1:
        raise SignInRefused("More than one account uses this email address. Ask an administrator to link yours.")
    with transaction.atomic():
        user = matches[0] if matches else _user_create(claims)
        OidcIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    return _user_update(user, claims)


def _user_create(claims: dict):
    user = User(username=_free_username(claims), email=(claims.get("email") or "").strip())
    user.set_unusable_password()
    user.save()
    logger.info("Created account %s for a first sign-in with the provider", user.username)
    return user


def _free_username(claims: dict) -> str:
    """preferred_username, else the email's local part, made valid and unused."""
    wanted = claims.get("preferred_username") or (claims.get("email") or "").split("@")[0] or str(claims["sub"])
    base = re.sub(r"[^\w.@+-]", "", wanted)[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _user_update(user, claims: dict):
    """Names from the claims, and the email address when the provider has verified it."""
    changes = {
        "first_name": (claims.get("given_name") or user.first_name)[:150],
        "last_name": (claims.get("family_name") or user.last_name)[:150],
    }
    if email_verified(claims) and claims.get("email"):
        changes["email"] = claims["email"].strip()
    changed = [field for field, value in changes.items() if getattr(user, field) != value]
    for field in changed:
        setattr(user, field, changes[field])
    if changed:
        user.save(update_fields=changed)
    return user


def groups_from_claims(claims: dict, claim: str) -> list[str] | None:
    """The groups the claim lists; None when it is missing (then no sync happens: a provider
    that sends no claim must not empty every team)."""
    if not claim or claim not in claims:
        return None
    value = claims[claim]
    if isinstance(value, str):
        return [value]
    return [str(group) for group in value or []]


def teams_sync_from_groups(*, user, groups: list[str]) -> list[Team]:
    """Make ``user``'s membership of every mapped team follow their groups: join the teams
    their groups map to, leave the other mapped teams, except a team they lead. Teams no
    mapping names are left alone. Returns the led teams kept despite the groups, which are
    logged and listed in the admin (KeptLead) until the groups or the lead change."""
    mappings = list(GroupMapping.objects.all())
    managed = {m.team_id for m in mappings}
    wanted = {m.team_id for m in mappings if m.group in set(groups)}
    current = set(user.teams.filter(pk__in=managed).values_list("pk", flat=True))
    leaving = current - wanted
    kept = list(Team.objects.filter(pk__in=leaving, lead=user))
    with transaction.atomic():
        user.teams.add(*(wanted - current))
        user.teams.remove(*(leaving - {team.pk for team in kept}))
        KeptLead.objects.filter(user=user).exclude(team__in=kept).delete()
        for team in kept:
            KeptLead.objects.update_or_create(user=user, team=team)
    for team in kept:
        logger.warning("Kept %s in %s: they lead it, though their groups no longer map to it", user, team)
    return kept
