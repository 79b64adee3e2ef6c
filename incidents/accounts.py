"""Signing in and recovering an account: the lockout page (django-axes), the client address
every limit counts by, and a password reset that is rate-limited and mailed by a task.

The reset page answers the same way, and in the same time, whether or not an account has the
address: it only queues the task, which looks the address up and sends the mail. Choosing a new
password through the emailed link lifts the account's lock.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from axes.helpers import get_client_username, get_cool_off
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import timezone
from django_ratelimit.core import get_usage

RESET_EMAIL_TEMPLATE = "registration/password_reset_email.txt"
RESET_SUBJECT_TEMPLATE = "registration/password_reset_subject.txt"


def client_ip(request) -> str:
    """The client's address: behind TRUSTED_PROXY_COUNT proxies, the one the outermost proxy saw
    (the last but N-1 in X-Forwarded-For; entries left of it are the client's own and could be
    forged); otherwise REMOTE_ADDR."""
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"


def too_many(request, *, template: str, wait: timedelta, context: dict | None = None):
    """A 429 page saying when to try again, with the same in ``Retry-After``."""
    minutes = max(1, round(wait / timedelta(minutes=1)))
    context = {**(context or {}), "retry_at": timezone.now() + wait, "wait_minutes": minutes}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(int(wait.total_seconds()))
    return response


def lockout_response(request, original_response=None, credentials=None):
    """axes' answer to a locked-out sign-in (the site's or the admin's)."""
    context = {"username": get_client_username(request, credentials) or "", "admin": request.path.startswith("/admin/")}
    return too_many(request, template="registration/locked_out.html", wait=get_cool_off(request), context=context)


def password_reset_send(*, email: str) -> None:
    """Mail a reset link to each active account with ``email`` and a usable password (none if
    there is no such account). Links point at SITE_URL, never at the request's Host header."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return
    site = urlsplit(settings.SITE_URL)
    form.save(
        domain_override=site.netloc,
        use_https=site.scheme == "https",
        subject_template_name=RESET_SUBJECT_TEMPLATE,
        email_template_name=RESET_EMAIL_TEMPLATE,
        from_email=settings.DEFAULT_FROM_EMAIL,
    )


class QueuedPasswordResetForm(PasswordResetForm):
    """Queues the mail instead of looking up accounts and sending it during the request."""

    def save(self, *args, **kwargs) -> None:
        from .tasks import send_password_reset

        send_password_reset.delay_on_commit(self.cleaned_data["email"])


def _reset_email(group, request) -> str:
    return request.POST.get("email", "").strip().lower()


# Each limit: its name, what it counts by, and the setting that holds its rate.
RESET_LIMITS = (("ip", "ip", "PASSWORD_RESET_RATE_PER_IP"), ("email", _reset_email, "PASSWORD_RESET_RATE_PER_EMAIL"))


def password_reset_wait(request) -> timedelta | None:
    """Count this reset request against each limit; how long until all allow another, if one is exceeded."""
    waits = []
    for name, key, setting in RESET_LIMITS:
        rate = getattr(settings, setting)
        usage = get_usage(request, group=f"password-reset:{name}", key=key, rate=rate, increment=True)
        if usage and usage["should_limit"]:
            waits.append(timedelta(seconds=max(usage["time_left"], 60)))
    return max(waits, default=None)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page, limited per client address and per email address."""

    form_class = QueuedPasswordResetForm
    success_url = reverse_lazy("password_reset_done")

    def post(self, request, *args, **kwargs):
        wait = password_reset_wait(request)
        if wait is not None:
            return too_many(request, template="registration/password_reset_limited.html", wait=wait)
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's page for choosing the new password; it also lifts the account's sign-in lock,
    since whoever holds the link owns the account."""

    def form_valid(self, form):
        response = super().form_valid(form)
        axes_reset(username=form.user.get_username())
        return response
