"""Inbound webhooks: GitHub ``issues`` events and Jira issue events, each signed with the
connection's secret (HMAC-SHA256 of the raw body). An unsigned or wrongly signed request
is a 403 and changes nothing; the change itself is applied by a task after commit."""

from __future__ import annotations

import hashlib
import hmac
import json

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import TrackerConnection, TrackerIssue


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` ("sha256=<hex>") is the HMAC-SHA256 of ``body`` under ``secret``."""
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def _answer(detail: str, status: int = 200) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _checked(
    request: HttpRequest, connection_id: int, kinds, header: str
) -> tuple[TrackerConnection | None, dict | JsonResponse]:
    connection = get_object_or_404(TrackerConnection, pk=connection_id, kind__in=kinds)
    if not signature_ok(connection.webhook_secret, request.body, request.headers.get(header, "")):
        return None, _answer("Bad or missing signature.", 403)
    try:
        return connection, json.loads(request.body)
    except ValueError:
        return None, _answer("The body is not JSON.", 400)


def _enqueue(connection: TrackerConnection, remote_id: str, *, closed: bool, not_planned: bool) -> JsonResponse:
    from .tasks import apply_tracker_webhook

    issue = TrackerIssue.objects.filter(
        connection=connection, remote_id=remote_id, state=TrackerIssue.State.LINKED
    ).first()
    if issue is None:
        return _answer("No action item is linked to this issue.", 202)
    transaction.on_commit(lambda: apply_tracker_webhook.delay(issue.pk, closed, not_planned))
    return _answer(f"{'Closing' if closed else 'Reopening'} {issue.item.reference}.", 202)


@csrf_exempt
@require_POST
def github(request: HttpRequest, connection_id: int) -> JsonResponse:
    connection, payload = _checked(request, connection_id, [TrackerConnection.Kind.GITHUB], "X-Hub-Signature-256")
    if connection is None:
        return payload
    event = request.headers.get("X-GitHub-Event", "")
    if event == "ping":
        return _answer("pong")
    action = payload.get("action") if event == "issues" else None
    if action not in ("closed", "reopened"):
        return _answer("Ignored: only issues closed and reopened events change items.")
    repository = (payload.get("repository") or {}).get("full_name", "")
    if repository.lower() != connection.repository.lower():
        return _answer(f"Ignored: {repository} is not {connection.repository}.", 202)
    issue = payload.get("issue") or {}
    return _enqueue(
        connection,
        str(issue.get("number", "")),
        closed=action == "closed",
        not_planned=issue.get("state_reason") == "not_planned",
    )


@csrf_exempt
@require_POST
def jira(request: HttpRequest, connection_id: int) -> JsonResponse:
    kinds = [TrackerConnection.Kind.JIRA_CLOUD, TrackerConnection.Kind.JIRA_DC]
    connection, payload = _checked(request, connection_id, kinds, "X-Hub-Signature")
    if connection is None:
        return payload
    if payload.get("webhookEvent") != "jira:issue_updated":
        return _answer("Ignored: only issue updates change items.")
    issue = payload.get("issue") or {}
    fields = issue.get("fields") or {}
    category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
    resolution = (fields.get("resolution") or {}).get("name", "")
    return _enqueue(
        connection,
        issue.get("key", ""),
        closed=category == "done",
        not_planned=resolution in ("Won't Do", "Won't Fix"),
    )
