"""Jira REST v3 request and response shapes, transcribed from Atlassian's published documentation
(developer.atlassian.com, "The Jira Cloud platform REST API": Issues → Create issue, Get issue,
Edit issue, Get transitions, Transition issue;
Issue comments → Get comments; Webhooks → issue_updated). NOT recorded from a live Jira: no
machine-readable description of Jira's API is published on npm, so these fixtures stand in for
one. ``check_create``, ``check_edit`` and ``check_transition`` check requests against the
documented shapes.
"""

from __future__ import annotations

import re

# POST /rest/api/3/issue → 201
CREATE_RESPONSE = {"id": "10000", "key": "OPS-24", "self": "https://acme.atlassian.net/rest/api/3/issue/10000"}

# GET /rest/api/3/issue/OPS-24?fields=status,resolution → 200 (the fields asked for only)
ISSUE_DONE = {
    "id": "10000",
    "key": "OPS-24",
    "self": "https://acme.atlassian.net/rest/api/3/issue/10000",
    "fields": {
        "status": {
            "name": "Done",
            "id": "10001",
            "statusCategory": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
        },
        "resolution": {"id": "10000", "name": "Done", "description": "Work has been completed on this issue."},
    },
}

# GET /rest/api/3/issue/OPS-24/comment?orderBy=-created&maxResults=1 → 200 (bodies in ADF)
COMMENTS = {
    "startAt": 0,
    "maxResults": 1,
    "total": 2,
    "comments": [
        {
            "id": "10001",
            "author": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof"},
            "body": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Deployed in release 4.2."}]}],
            },
            "created": "2026-11-30T10:00:00.000+0000",
        }
    ],
}


def issue_updated_webhook(key: str, category: str = "done", resolution: str | None = "Done") -> dict:
    """The ``jira:issue_updated`` webhook body, the parts the app reads."""
    return {
        "timestamp": 1764496800000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "issue": {
            "id": "10000",
            "key": key,
            "fields": {
                "status": {"name": "Done" if category == "done" else "To Do", "statusCategory": {"key": category}},
                "resolution": {"name": resolution} if resolution else None,
            },
        },
        "changelog": {"items": [{"field": "status", "fromString": "In Progress", "toString": "Done"}]},
    }


def check_create(body: dict) -> list[str]:
    """What is wrong with a create request, against the documented shape (empty: nothing)."""
    problems = []
    fields = body.get("fields")
    if not isinstance(fields, dict):
        return ["fields must be an object"]
    if not isinstance((fields.get("project") or {}).get("key"), str):
        problems.append("fields.project.key must be a string")
    if not isinstance((fields.get("issuetype") or {}).get("name"), str):
        problems.append("fields.issuetype.name must be a string")
    if not isinstance(fields.get("summary"), str) or not fields["summary"] or len(fields["summary"]) > 255:
        problems.append("fields.summary must be a string of 1 to 255 characters")
    description = fields.get("description")
    if description is not None and not (
        isinstance(description, dict) and description.get("type") == "doc" and description.get("version") == 1
    ):
        problems.append("fields.description must be an Atlassian Document Format document (v3)")
    if "duedate" in fields and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(fields["duedate"])):
        problems.append("fields.duedate must be YYYY-MM-DD")
    if any(not isinstance(label, str) or " " in label for label in fields.get("labels", [])):
        problems.append("fields.labels must be strings without spaces")
    return problems


# GET /rest/api/3/issue/OPS-24/transitions → 200 (Issues → Get transitions). The ids belong to
# the project's workflow, so the app picks a transition by its target's status category.
TRANSITIONS = {
    "expand": "transitions",
    "transitions": [
        {
            "id": "21",
            "name": "Start progress",
            "to": {"id": "3", "name": "In Progress", "statusCategory": {"id": 4, "key": "indeterminate"}},
            "hasScreen": False,
            "isAvailable": True,
        },
        {
            "id": "31",
            "name": "Resolve",
            "to": {"id": "10001", "name": "Done", "statusCategory": {"id": 3, "key": "done"}},
            "hasScreen": False,
            "isAvailable": True,
        },
        {
            "id": "11",
            "name": "Back to to do",
            "to": {"id": "10000", "name": "To Do", "statusCategory": {"id": 2, "key": "new"}},
            "hasScreen": False,
            "isAvailable": True,
        },
    ],
}


def check_transition(body: dict) -> list[str]:
    """POST /rest/api/3/issue/{key}/transitions → 204: ``{"transition": {"id": "<id>"}}``, an id
    from the issue's transitions (Jira answers 400 for another)."""
    transition_id = (body.get("transition") or {}).get("id")
    if transition_id not in {t["id"] for t in TRANSITIONS["transitions"]}:
        return ["transition.id must be one of the issue's transitions"]
    return []


def check_edit(body: dict) -> list[str]:
    """PUT /rest/api/3/issue/{key} → 204 (Issues → Edit issue): ``{"fields": {...}}``."""
    fields = body.get("fields")
    if not isinstance(fields, dict) or not fields:
        return ["fields must be a non-empty object"]
    problems = []
    if "summary" in fields and not (isinstance(fields["summary"], str) and 0 < len(fields["summary"]) <= 255):
        problems.append("fields.summary must be a string of 1 to 255 characters")
    if "duedate" in fields and not (
        fields["duedate"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(fields["duedate"]))
    ):
        problems.append("fields.duedate must be YYYY-MM-DD or null")
    return problems
