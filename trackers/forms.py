from django import forms
from django.core.exceptions import ImproperlyConfigured

from . import services
from .models import TrackerConnection


class TrackerConnectionForm(forms.ModelForm):
    """The admin's form: credentials are write-only (never shown again); blank keeps the stored one."""

    token = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "GitHub: a fine-grained token with Issues read and write. Jira: an API token (Cloud) or a "
            "personal access token (Data Center). Stored encrypted; leave blank to keep the stored one."
        ),
    )
    webhook_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The secret you give the tracker's webhook. Stored encrypted; leave blank to keep the stored one.",
    )

    class Meta:
        model = TrackerConnection
        fields = [
            "team", "kind", "repository", "api_url", "site_url", "project_key", "issue_type",
            "account_email", "create_on_publish", "acting_user",
        ]  # fmt: skip

    def clean(self):
        data = super().clean()
        if not self.instance.has_token and not data.get("token"):
            self.add_error("token", "The tracker needs a token.")
        try:
            services.connection_save_secrets(
                connection=self.instance, token=data.get("token", ""), webhook_secret=data.get("webhook_secret", "")
            )
        except ImproperlyConfigured as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data
