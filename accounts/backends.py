"""mozilla-django-oidc's backend, stricter: the ID token's audience, issuer and expiry are
checked, and accounts are found by subject or verified email (accounts.services)."""

from __future__ import annotations

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .oidc import expected_issuer, oidc_setting
from .services import SignInRefused, oidc_user_for_claims


class OIDCBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Django makes a backend for every sign-in and every request's session, the password
        # sign-in too: the endpoints are looked up (discovery) only when a provider sign-in
        # needs them, so a provider that is down leaves the local sign-in working.
        ModelBackend.__init__(self, *args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # noqa: N802 (the base class's names)
        return oidc_setting("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:  # noqa: N802
        return oidc_setting("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # noqa: N802
        return oidc_setting("OIDC_OP_JWKS_ENDPOINT")

    def verify_token(self, token, **kwargs):
        """The ID token (called with ``nonce``) must be signed with the expected algorithm by
        the provider's key, be for this client from this issuer, be unexpired, and carry the
        sign-in's nonce. A userinfo answer sent as a JWT gets the signature check only."""
        if "nonce" not in kwargs:
            return super().verify_token(token, **kwargs)
        if self.OIDC_RP_SIGN_ALGO.startswith("HS"):
            key = self.OIDC_RP_CLIENT_SECRET  # a token signed with the shared secret
        else:
            key = self.OIDC_RP_IDP_SIGN_KEY or self.retrieve_matching_jwk(token)
        issuer = expected_issuer()
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=issuer,
                leeway=settings.OIDC_CLOCK_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "aud", "iss", "sub"], "verify_iss": bool(issuer)},
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc
        if payload.get("nonce") != kwargs["nonce"]:
            raise SuspiciousOperation("ID token refused: its nonce is not this sign-in's")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        """The account for the ID token's subject (claims from userinfo added to the token's)."""
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if str(userinfo.get("sub")) != str(payload["sub"]):
            raise SuspiciousOperation("userinfo answered for another subject than the ID token's")
        claims = {**payload, **userinfo}
        try:
            user = oidc_user_for_claims(issuer=payload["iss"], claims=claims)
        except SignInRefused as exc:
            self.request.oidc_refusal = str(exc)
            return None
        # The callback view syncs teams from these once the sign-in succeeds.
        self.request.oidc_claims = claims
        return user

    def get_user(self, user_id):
        # Unlike mozilla-django-oidc's, a deactivated account's session ends at its next request.
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
