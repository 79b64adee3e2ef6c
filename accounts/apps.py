from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-in through the organisation's OpenID Connect provider, and teams from its groups."""

    name = "accounts"
    verbose_name = "Single sign-on"
