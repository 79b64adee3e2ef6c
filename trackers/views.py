"""The item page's tracker actions: create the issue, link one that exists, or send a change again."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from actions import selectors

from . import services


def _back(request, item):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(item)


def _errors(error: ValidationError) -> str:
    return " ".join(message for message in error.messages)


def _act(request, reference: str, action, done) -> HttpResponse:
    """Run ``action(item)`` for the item page; say ``done(item, issue)`` or why it was refused."""
    item = selectors.action_item_detail(request.user, reference)
    try:
        issue = action(item)
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, done(item, issue))
    return _back(request, item)


@login_required
@require_POST
def create(request, reference: str):
    return _act(
        request,
        reference,
        lambda item: services.tracker_issue_request(item=item, user=request.user),
        lambda item, issue: (
            f"Creating the {issue.tracker_name} issue for {item.reference}; it shows here once the tracker answers."
        ),
    )


@login_required
@require_POST
def link(request, reference: str):
    return _act(
        request,
        reference,
        lambda item: services.tracker_issue_link(item=item, user=request.user, url=request.POST.get("url", "")),
        lambda item, issue: f"{item.reference} is linked to {issue.key}.",
    )


@login_required
@require_POST
def push(request, reference: str):
    return _act(
        request,
        reference,
        lambda item: services.tracker_issue_push_retry(item=item, user=request.user),
        lambda item, issue: f"Sending {item.reference}'s changes to {issue.key} again.",
    )
