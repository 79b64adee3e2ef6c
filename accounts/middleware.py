import logging

from django.utils.deprecation import MiddlewareMixin
from mozilla_django_oidc.middleware import SessionRefresh as BaseSessionRefresh

from .oidc import DiscoveryError, oidc_setting

logger = logging.getLogger(__name__)


class SessionRefresh(BaseSessionRefresh):
    """mozilla-django-oidc's session refresh: past OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS a page
    request from a provider sign-in goes to the provider again (prompt=none), so an account
    deactivated there is signed out here. The authorization endpoint is looked up (discovery)
    when a refresh needs it, not when the middleware starts."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, get_response):
        MiddlewareMixin.__init__(self, get_response)
        self.OIDC_EXEMPT_URLS = oidc_setting("OIDC_EXEMPT_URLS", [])
        self.OIDC_RP_CLIENT_ID = oidc_setting("OIDC_RP_CLIENT_ID")
        self.OIDC_STATE_SIZE = oidc_setting("OIDC_STATE_SIZE", 32)
        self.OIDC_AUTHENTICATION_CALLBACK_URL = oidc_setting(
            "OIDC_AUTHENTICATION_CALLBACK_URL", "oidc_authentication_callback"
        )
        self.OIDC_RP_SCOPES = oidc_setting("OIDC_RP_SCOPES", "openid email")
        self.OIDC_USE_NONCE = oidc_setting("OIDC_USE_NONCE", True)
        self.OIDC_NONCE_SIZE = oidc_setting("OIDC_NONCE_SIZE", 32)

    @property
    def OIDC_OP_AUTHORIZATION_ENDPOINT(self) -> str:  # noqa: N802 (the base class's name)
        return oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")

    def process_request(self, request):
        try:
            return super().process_request(request)
        except DiscoveryError as exc:
            # The provider is unreachable: the session goes on until a refresh can be made.
            logger.warning("Session refresh postponed: %s", exc)
            return None
