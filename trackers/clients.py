"""HTTP clients for GitHub's REST API and Jira's REST API (v3 on Cloud, v2 on Data Center).

Each call either returns the parsed JSON or raises one of three errors, which is all the
services need to know: ``TrackerUnavailable`` (down, timing out, rate-limited: retry),
``TrackerRefused`` (the token is revoked or lacks rights, or the request was rejected:
retry, an admin has to act) and ``IssueGone`` (the issue was deleted or moved).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import requests

TIMEOUT = (5, 20)  # connect, read: a tracker that hangs must not hold a worker for long


class TrackerError(Exception):
    """Something the tracker said or did not say; ``str()`` is shown on the item and in the admin."""


class TrackerUnavailable(TrackerError):
    pass


class TrackerRefused(TrackerError):
    pass


class IssueGone(TrackerError):
    pass


@dataclass
class RemoteIssue:
    remote_id: str  # GitHub: the number; Jira: the key
    key: str  # as people say it: acme/payments#12, OPS-12
    url: str  # the page people open
    closed: bool
    not_planned: bool = False


@dataclass
class NewIssue:
    title: str
    body: str  # plain text with the links
    priority: str  # p1..p4
    due_date: date | None


@dataclass
class IssueChange:
    """What an item changed here that its issue must take: each field None when unchanged."""

    title: str | None = None
    closed: bool | None = None
    not_planned: bool = False  # with closed: won't do rather than done
    due_date: date | None = None
    due_changed: bool = False  # due_date None with this set clears it

    def __bool__(self) -> bool:
        return self.title is not None or self.closed is not None or self.due_changed


def _request(session: requests.Session, method: str, url: str, **kwargs) -> dict | list:
    try:
        response = session.request(method, url, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise TrackerUnavailable(f"Could not reach {url.split('/')[2]}: {type(exc).__name__}") from exc
    status = response.status_code
    if status in (404, 410):
        raise IssueGone(
            f"{status} from the tracker: the issue or project no longer exists, or the token cannot see it."
        )
    if status in (401, 403) and not _rate_limited(response):
        raise TrackerRefused(f"{status} from the tracker: the token was refused (revoked, expired or missing rights).")
    if status == 429 or status >= 500 or _rate_limited(response):
        raise TrackerUnavailable(f"{status} from the tracker: it is down or rate-limiting; will retry.")
    if status >= 400:
        raise TrackerRefused(f"{status} from the tracker: {response.text[:300]}")
    return response.json() if response.content else {}


def _rate_limited(response: requests.Response) -> bool:
    return response.status_code == 403 and response.headers.get("x-ratelimit-remaining") == "0"


class GitHubClient:
    def __init__(self, *, base_url: str, repository: str, token: str):
        self.base = f"{base_url}/repos/{repository}"
        self.repository = repository
        self.session = requests.Session()
        self.session.headers.update(
            {
                # GitHub answers application/json the same as its own media type.
                "Accept": "application/json",
                "Authorization": f"Bearer {token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "postmortem-tracker",
            }
        )

    def _issue(self, data: dict) -> RemoteIssue:
        return RemoteIssue(
            remote_id=str(data["number"]),
            key=f"{self.repository}#{data['number']}",
            url=data["html_url"],
            closed=data.get("state") == "closed",
            not_planned=data.get("state_reason") == "not_planned",
        )

    def create(self, new: NewIssue) -> RemoteIssue:
        labels = [f"priority:{new.priority}"]
        if new.due_date:
            labels.append(f"due:{new.due_date.isoformat()}")
        payload = {"title": new.title, "body": new.body, "labels": labels}
        return self._issue(_request(self.session, "POST", f"{self.base}/issues", json=payload))

    def get(self, remote_id: str) -> RemoteIssue:
        return self._issue(_request(self.session, "GET", f"{self.base}/issues/{int(remote_id)}"))

    def update(self, remote_id: str, change: IssueChange) -> None:
        """One PATCH with the new title, state and due-date label. The labels are replaced as a
        whole, so the issue's other labels are read first and kept."""
        url = f"{self.base}/issues/{int(remote_id)}"
        payload: dict = {}
        if change.title is not None:
            payload["title"] = change.title
        if change.closed is not None:
            payload["state"] = "closed" if change.closed else "open"
            payload["state_reason"] = (
                ("not_planned" if change.not_planned else "completed") if change.closed else "reopened"
            )
        if change.due_changed:
            current = _request(self.session, "GET", url).get("labels") or []
            names = [label if isinstance(label, str) else label.get("name", "") for label in current]
            payload["labels"] = [name for name in names if name and not name.startswith("due:")]
            if change.due_date:
                payload["labels"].append(f"due:{change.due_date.isoformat()}")
        _request(self.session, "PATCH", url, json=payload)

    def last_comment(self, remote_id: str) -> str:
        comments = _request(
            self.session, "GET", f"{self.base}/issues/{int(remote_id)}/comments", params={"per_page": 100}
        )
        return comments[-1].get("body") or "" if comments else ""


def _adf_paragraphs(text: str) -> dict:
    """Plain text as an Atlassian Document Format document, one paragraph per line."""
    content = [{"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in text.splitlines() if line]
    return {"type": "doc", "version": 1, "content": content}


def _adf_text(node) -> str:
    """The text of an ADF document (Jira Cloud's comment bodies); a string is returned as is."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        if node.get("type") == "text":
            return node.get("text", "")
        parts = [_adf_text(child) for child in node.get("content", [])]
        return ("\n" if node.get("type") == "doc" else "").join(parts)
    return ""


class JiraClient:
    def __init__(self, *, site_url: str, project_key: str, issue_type: str, token: str, email: str = ""):
        self.site = site_url
        self.project_key = project_key
        self.issue_type = issue_type
        self.cloud = bool(email)
        self.api = f"{site_url}/rest/api/{3 if self.cloud else 2}"
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "postmortem-tracker"})
        if self.cloud:
            self.session.auth = (email, token)
        else:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _issue(self, data: dict) -> RemoteIssue:
        status = (data.get("fields") or {}).get("status") or {}
        resolution = ((data.get("fields") or {}).get("resolution") or {}).get("name", "")
        return RemoteIssue(
            remote_id=data["key"],
            key=data["key"],
            url=f"{self.site}/browse/{data['key']}",
            closed=(status.get("statusCategory") or {}).get("key") == "done",
            not_planned=resolution in ("Won't Do", "Won't Fix"),
        )

    def create(self, new: NewIssue) -> RemoteIssue:
        fields = {
            "project": {"key": self.project_key},
            "issuetype": {"name": self.issue_type},
            "summary": new.title,
            "description": _adf_paragraphs(new.body) if self.cloud else new.body,
            "labels": [f"priority-{new.priority}"],
        }
        if new.due_date:
            fields["duedate"] = new.due_date.isoformat()
        data = _request(self.session, "POST", f"{self.api}/issue", json={"fields": fields})
        return RemoteIssue(
            remote_id=data["key"], key=data["key"], url=f"{self.site}/browse/{data['key']}", closed=False
        )

    def get(self, remote_id: str) -> RemoteIssue:
        return self._issue(
            _request(self.session, "GET", f"{self.api}/issue/{remote_id}", params={"fields": "status,resolution"})
        )

    def update(self, remote_id: str, change: IssueChange) -> None:
        """Edit the summary and due date, then move the issue through the workflow: the transition
        is the one whose target status is in the "done" category (closing) or, reopening, in "to
        do" (else "in progress"). Workflows differ, so no transition id is assumed."""
        fields: dict = {}
        if change.title is not None:
            fields["summary"] = change.title
        if change.due_changed:
            fields["duedate"] = change.due_date.isoformat() if change.due_date else None
        if fields:
            _request(self.session, "PUT", f"{self.api}/issue/{remote_id}", json={"fields": fields})
        if change.closed is not None:
            self._transition(remote_id, ["done"] if change.closed else ["new", "indeterminate"])

    def _transition(self, remote_id: str, categories: list[str]) -> None:
        url = f"{self.api}/issue/{remote_id}/transitions"
        transitions = _request(self.session, "GET", url).get("transitions") or []
        by_category = {}
        for transition in transitions:
            category = ((transition.get("to") or {}).get("statusCategory") or {}).get("key")
            by_category.setdefault(category, transition)
        chosen = next((by_category[c] for c in categories if c in by_category), None)
        if chosen is None:
            raise TrackerRefused(
                f"{remote_id} has no transition to a status in {' or '.join(categories)} from where it is now."
            )
        _request(self.session, "POST", url, json={"transition": {"id": chosen["id"]}})

    def last_comment(self, remote_id: str) -> str:
        params = {"orderBy": "-created", "maxResults": 1}
        data = _request(self.session, "GET", f"{self.api}/issue/{remote_id}/comment", params=params)
        comments = data.get("comments") or []
        return _adf_text(comments[0].get("body")).strip() if comments else ""


def client_for(connection):
    """The client for a ``TrackerConnection``."""
    if connection.is_github:
        return GitHubClient(base_url=connection.base_url, repository=connection.repository, token=connection.token)
    email = connection.account_email if connection.kind == connection.Kind.JIRA_CLOUD else ""
    return JiraClient(
        site_url=connection.base_url,
        project_key=connection.project_key,
        issue_type=connection.issue_type,
        token=connection.token,
        email=email,
    )


GITHUB_ISSUE_URL = re.compile(r"^https?://[^/]+/(?P<repo>[^/]+/[^/]+)/issues/(?P<number>\d+)/?(?:[#?].*)?$")
JIRA_ISSUE_URL = re.compile(r"^(?P<site>https?://[^/]+(?:/[^/]+)*?)/browse/(?P<key>[A-Z][A-Z0-9_]*-\d+)/?(?:[#?].*)?$")


def parse_issue_url(connection, url: str) -> RemoteIssue | None:
    """The issue ``url`` names in ``connection``'s repository or Jira project, or None."""
    url = url.strip()
    if connection.is_github:
        match = GITHUB_ISSUE_URL.match(url)
        if not match or match["repo"].lower() != connection.repository.lower():
            return None
        number = match["number"]
        return RemoteIssue(
            remote_id=number, key=f"{connection.repository}#{number}", url=url.split("#")[0], closed=False
        )
    match = JIRA_ISSUE_URL.match(url)
    if (
        not match
        or match["site"].rstrip("/") != connection.base_url
        or not match["key"].startswith(f"{connection.project_key}-")
    ):
        return None
    key = match["key"]
    return RemoteIssue(remote_id=key, key=key, url=f"{connection.base_url}/browse/{key}", closed=False)
