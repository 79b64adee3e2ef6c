"""Bringing an existing archive in (import_postmortems) and taking it out (export_postmortems)."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actions.jobs import chase_overdue_items
from actions.models import ActionItem, Notification
from incidents.models import Incident, RepeatLink, Team
from incidents.tasks import detect_recent_repeats
from postmortems import search_index
from postmortems.importer import import_archive
from postmortems.models import Postmortem, PostmortemSearchDocument
from tests.factories import ActionItemFactory, PostmortemFactory, UserFactory, ensure_taxonomies

SAMPLE = Path(__file__).resolve().parents[2] / "bench" / "data" / "import_sample.jsonl"
# A Monday at 10:00 UTC: chase time for everyone in the default zone.
CHASE_TIME = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def record(n: int = 1, **changes) -> dict:
    """One archive record: a resolved SEV2 with a published postmortem, one done item and one open one."""
    data = {
        "format": "postmortem-archive/1",
        "incident": {
            "external_id": f"OLD-{n}",
            "source_url": f"https://wiki.example.com/pm/{n}",
            "title": f"Checkout timeouts after a pool resize ({n})",
            "summary": "Checkout timed out for a third of requests.",
            "severity": "SEV2",
            "status": "resolved",
            "cause_category": "Deploy",
            "services": [{"name": "checkout", "team": "Payments"}],
            "tags": ["database", "pool"],
            "started_at": "2021-03-04T09:58:00Z",
            "detected_at": "2021-03-04T10:02:00Z",
            "declared_at": "2021-03-04T10:05:00Z",
            "mitigated_at": "2021-03-04T10:40:00Z",
            "resolved_at": "2021-03-04T11:30:00Z",
            "commander": {"username": "ines", "name": "Ines Ortega", "email": "ines@example.com"},
            "timeline": [
                {"occurred_at": "2021-03-04T10:02:00Z", "kind": "detection", "text": "Latency alert fired."},
                {"occurred_at": "2021-03-04T10:40:00Z", "kind": "mitigation", "text": "Pool size rolled back."},
            ],
        },
        "postmortem": {
            "status": "published",
            "facilitator": "ines@example.com",
            "authors": ["ines@example.com"],
            "reviewers": [{"username": "raj", "email": "raj@example.com", "name": "Raj Patel"}],
            "due_date": "2021-03-11",
            "submitted_at": "2021-03-09T15:00:00Z",
            "published_at": "2021-03-10T16:20:00Z",
            "sections": {
                "summary": "A pool resize starved checkout of connections.",
                "root_cause": "The new pool size exceeded the database's connection limit.",
                "lessons": "Check the limit before resizing.",
            },
            "reviews": [
                {
                    "reviewer": "raj@example.com",
                    "decision": "approve",
                    "comment": "Clear.",
                    "reviewed_at": "2021-03-10T09:00:00Z",
                }
            ],
        },
        "action_items": [
            {
                "external_id": f"OLD-{n}-A",
                "title": "Alert on connection saturation",
                "owner": "raj@example.com",
                "team": "Payments",
                "due_date": "2021-04-01",
                "status": "done",
                "completed_at": "2021-03-28T12:00:00Z",
                "resolution_note": "Alert added in the monitoring repo.",
            },
            {
                "external_id": f"OLD-{n}-B",
                "title": "Load-test pool changes",
                "owner": "raj@example.com",
                "due_date": "2021-06-01",
                "status": "open",
            },
        ],
    }
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = data
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[last] = value
    return data


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


@pytest.fixture
def archive(db):
    ensure_taxonomies()


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_postmortems", *map(str, args), stdout=out)
    return out.getvalue()


def test_an_import_keeps_the_history_and_sets_off_no_email_or_reminder(
    archive, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        output = run(write_jsonl(tmp_path / "a.jsonl", [record()]), "--create-missing")
    pm = Postmortem.objects.get(external_id="OLD-1")
    assert pm.published_at == datetime(2021, 3, 10, 16, 20, tzinfo=UTC)
    assert str(pm.due_date) == "2021-03-11"
    assert pm.incident.resolved_at == datetime(2021, 3, 4, 11, 30, tzinfo=UTC)
    assert pm.incident.source_url == "https://wiki.example.com/pm/1"
    assert [e.text for e in pm.incident.timeline_events.all()] == ["Latency alert fired.", "Pool size rolled back."]
    assert pm.reviews.get().created_at == datetime(2021, 3, 10, 9, 0, tzinfo=UTC)
    # Its history reads in order: begun when the incident was declared, then published.
    assert list(pm.events.values_list("kind", "created_at", "note")) == [
        ("created", datetime(2021, 3, 4, 10, 5, tzinfo=UTC), "Imported from OLD-1."),
        ("published", datetime(2021, 3, 10, 16, 20, tzinfo=UTC), ""),
    ]
    done = ActionItem.objects.get(external_id="OLD-1-A")
    assert done.completed_at == datetime(2021, 3, 28, 12, 0, tzinfo=UTC)
    assert done.status == "done"
    assert "Postmortems: 1 were created, 0 updated, 0 refused." in output
    assert "Teams: 0 matched, 1 were created (Payments)." in output
    assert "People: 0 matched, 2 were created (ines@example.com, raj@example.com)." in output
    assert "Cause categories: 1 matched." in output
    assert mail.outbox == []
    assert not Notification.objects.exists()
    # The first chase afterwards leaves the imported items alone, the overdue open one too.
    assert chase_overdue_items(now=CHASE_TIME, enqueue=False) == {"reminders": 0, "escalations": 0}
    assert not Notification.objects.exists()


def test_an_imported_overdue_item_joins_the_chase_once_its_due_date_moves(archive, tmp_path):
    UserFactory(username="raj", email="raj@example.com")  # an active owner, who can be chased
    run(write_jsonl(tmp_path / "a.jsonl", [record()]), "--create-missing")
    ActionItem.objects.filter(external_id="OLD-1-B").update(due_date="2026-11-01")
    assert chase_overdue_items(now=CHASE_TIME, enqueue=False)["reminders"] == 1


def test_with_chase_open_overdue_items_are_chased_at_once(archive, tmp_path):
    UserFactory(username="raj", email="raj@example.com")
    run(write_jsonl(tmp_path / "a.jsonl", [record()]), "--create-missing", "--chase")
    assert chase_overdue_items(now=CHASE_TIME, enqueue=False)["reminders"] == 1


def test_a_rerun_updates_instead_of_duplicating(archive, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [record()])
    run(path, "--create-missing")
    changed = record(incident__title="Checkout timeouts (revised)")
    output = run(write_jsonl(tmp_path / "a.jsonl", [changed]), "--create-missing")
    assert "Postmortems: 0 were created, 1 updated, 0 refused." in output
    assert Incident.objects.get().title == "Checkout timeouts (revised)"
    assert ActionItem.objects.count() == 2
    assert Incident.objects.get().timeline_events.count() == 2


ESCALATED = [
    {
        "changed_at": "2021-03-04T10:20:00Z",
        "from_severity": "SEV3",
        "to_severity": "SEV2",
        "changed_by": "ines@example.com",
        "reason": "A third of checkouts failing, not a few.",
    }
]


def test_severity_changes_are_kept_with_who_when_and_why_and_a_rerun_replaces_them(archive, tmp_path):
    run(write_jsonl(tmp_path / "a.jsonl", [record(incident__severity_changes=ESCALATED)]), "--create-missing")
    change = Incident.objects.get().severity_changes.get()
    assert (change.from_severity.name, change.to_severity.name) == ("SEV3", "SEV2")
    assert change.changed_by.email == "ines@example.com"
    assert change.changed_at == datetime(2021, 3, 4, 10, 20, tzinfo=UTC)
    assert change.reason == "A third of checkouts failing, not a few."
    again = [dict(ESCALATED[0], reason="Checkout failing for a third of requests.")]
    run(write_jsonl(tmp_path / "a.jsonl", [record(incident__severity_changes=again)]), "--create-missing")
    assert list(Incident.objects.get().severity_changes.values_list("reason", flat=True)) == [
        "Checkout failing for a third of requests."
    ]


def test_a_severity_change_that_changes_nothing_or_names_no_severity_is_refused(archive, tmp_path):
    same = [dict(ESCALATED[0], from_severity="SEV2")]
    unknown = [dict(ESCALATED[0], to_severity="SEV9")]
    untimed = [dict(ESCALATED[0], changed_at=None)]
    records = [record(n, incident__severity_changes=changes) for n, changes in ((1, same), (2, unknown), (3, untimed))]
    path = write_jsonl(tmp_path / "a.jsonl", [*records, record(4, incident__severity_changes=ESCALATED)])
    output = run(path, "--create-missing")
    prefix = "incident.severity_changes[0]"
    assert f"Refused {path}:1: {prefix}.to_severity: a severity change must change the severity" in output
    assert f"Refused {path}:2: {prefix}.severity: no severity “SEV9”" in output
    assert f"Refused {path}:3: {prefix}.changed_at: required" in output
    assert set(Incident.objects.values_list("external_id", flat=True)) == {"OLD-4"}


def test_an_incident_without_a_postmortem_goes_in_alone_and_a_rerun_leaves_its_postmortem_alone(archive, tmp_path):
    alone = {"format": "postmortem-archive/1", "incident": record(2)["incident"]}
    with_items = dict(alone, action_items=record(3)["action_items"])
    path = write_jsonl(tmp_path / "a.jsonl", [record(1), alone, with_items])
    output = run(path, "--create-missing")
    assert "Incidents without a postmortem: 1 were created, 0 updated." in output
    assert f"Refused {path}:3: action_items: an incident without a postmortem has no action items" in output
    assert Incident.objects.get(external_id="OLD-2").timeline_events.count() == 2
    assert not Postmortem.objects.filter(incident__external_id="OLD-2").exists()
    # A record without its postmortem updates the incident and leaves the postmortem it has.
    bare = {"format": "postmortem-archive/1", "incident": record(1, incident__title="Revised")["incident"]}
    output = run(write_jsonl(tmp_path / "b.jsonl", [bare, dict(alone, postmortem=None)]), "--create-missing")
    assert "Incidents without a postmortem: 0 were created, 2 updated." in output
    assert Postmortem.objects.get(external_id="OLD-1").incident.title == "Revised"
    assert Incident.objects.count() == 2


STARTED_AND_DONE = [
    {
        "changed_at": "2021-03-12T09:00:00Z",
        "changed_by": "raj@example.com",
        "changes": {"status": ["open", "in_progress"]},
    },
    {
        "changed_at": "2021-03-28T12:00:00Z",
        "changed_by": "raj@example.com",
        "changes": {"status": ["in_progress", "done"]},
        "note": "Shipped.",
    },
]


def test_an_items_history_is_kept_in_place_of_the_imported_row_and_a_rerun_leaves_it_alone(archive, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [record(action_items__0__history=STARTED_AND_DONE)])
    run(path, "--create-missing")
    done = ActionItem.objects.get(external_id="OLD-1-A")
    rows = list(done.changes.values_list("changed_at", "changed_by__email", "changes", "note", "created"))
    assert rows == [
        (datetime(2021, 3, 12, 9, 0, tzinfo=UTC), "raj@example.com", {"status": ["open", "in_progress"]}, "", False),
        (
            datetime(2021, 3, 28, 12, 0, tzinfo=UTC),
            "raj@example.com",
            {"status": ["in_progress", "done"]},
            "Shipped.",
            False,
        ),
    ]
    # An item without history gets the row saying it was imported; one with an empty one, none.
    assert ActionItem.objects.get(external_id="OLD-1-B").changes.get().note == "Imported."
    run(write_jsonl(tmp_path / "b.jsonl", [record(2, action_items__0__history=[])]), "--create-missing")
    assert not ActionItem.objects.get(external_id="OLD-2-A").changes.exists()
    run(path, "--create-missing")
    assert done.changes.count() == 2


def test_a_history_naming_a_field_it_cannot_hold_is_refused(archive, tmp_path):
    owner_change = [dict(STARTED_AND_DONE[0], changes={"owner": ["1", "2"]})]
    half = [dict(STARTED_AND_DONE[0], changes={"status": ["open"]})]
    records = [record(1, action_items__0__history=owner_change), record(2, action_items__0__history=half)]
    path = write_jsonl(tmp_path / "a.jsonl", records)
    refused = import_archive([path], create_missing=True).refused
    assert refused[0].startswith(f"{path}:1: action_items[0].history[0].changes: unknown owner; choose from title,")
    assert refused[1].startswith(f"{path}:2: action_items[0].history[0].changes.status: give the old and the new")
    assert not Incident.objects.exists()


def repeating(n: int, **link) -> dict:
    """Record ``n``, a year later, linked as a repeat of OLD-1."""
    return a_year_later(
        record(n, incident__repeats=[{"earlier": "OLD-1", "score": 0.8, "reason": "Same pool.", **link}])
    )


def test_a_repeat_link_is_kept_with_its_decision_and_a_rerun_updates_it(archive, tmp_path):
    confirmed = {"state": "confirmed", "decided_by": "ines@example.com", "decided_at": "2022-03-10T16:00:00Z"}
    path = write_jsonl(tmp_path / "a.jsonl", [record(1), repeating(2, **confirmed)])
    run(path, "--create-missing", "--no-repeats")
    link = RepeatLink.objects.get()
    assert (link.incident.external_id, link.earlier.external_id) == ("OLD-2", "OLD-1")
    assert (link.state, link.score, link.reason, link.decided_by.email) == (
        "confirmed",
        0.8,
        "Same pool.",
        "ines@example.com",
    )
    assert link.decided_at == datetime(2022, 3, 10, 16, 0, tzinfo=UTC)
    # Found again by its pair: updated, not duplicated; the summary's repeat finding leaves it be.
    run(write_jsonl(tmp_path / "a.jsonl", [repeating(2, **confirmed, reason="Same pool size.")]), "--create-missing")
    assert RepeatLink.objects.get().reason == "Same pool size."


def test_a_repeat_of_an_unknown_incident_or_out_of_range_is_refused(archive, tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [record(1), repeating(2, earlier="OLD-9"), repeating(3, score=1.5), repeating(4, state="confirmed")],
    )
    refused = import_archive([path], create_missing=True, repeats=False).refused
    assert refused == [
        f"{path}:2: incident.repeats[0].earlier: no incident “OLD-9” (import the earlier incident first)",
        f"{path}:3: incident.repeats[0].score: “1.5” is not a number from 0 to 1",
        f"{path}:4: incident.repeats[0].decided_at: a confirmed or dismissed link needs the time it was decided",
    ]
    assert not RepeatLink.objects.exists()


@pytest.mark.parametrize("now", [datetime(2026, 3, 2, 0, 30, tzinfo=UTC), datetime(2026, 3, 2, 23, 30, tzinfo=UTC)])
def test_a_shifted_import_moves_times_and_dates_so_the_archive_day_is_today(archive, tmp_path, now):
    anchor = datetime(2021, 5, 30, 12, 0, tzinfo=UTC)  # the open item was due 2 days later
    bad = record(2, incident__resolved_at="not yet")
    with time_machine.travel(now, tick=False):
        report = import_archive(
            [write_jsonl(tmp_path / "a.jsonl", [record(1), bad])], create_missing=True, shift_from=anchor
        )
    assert report.refused == [
        f"{tmp_path / 'a.jsonl'}:2: incident.resolved_at: “not yet” is not a time like 2024-03-05T14:30:00Z"
    ]
    incident = Incident.objects.get()
    assert incident.started_at == datetime(2021, 3, 4, 9, 58, tzinfo=UTC) + (now - anchor)
    assert incident.timeline_events.first().occurred_at == datetime(2021, 3, 4, 10, 2, tzinfo=UTC) + (now - anchor)
    assert str(ActionItem.objects.get(external_id="OLD-1-B").due_date) == "2026-03-04"
    assert str(incident.postmortem.due_date) == "2025-12-12"  # 2021-03-11: 80 days before the anchor's day


def test_a_bad_record_is_refused_with_its_file_and_line_and_the_rest_go_in(archive, tmp_path):
    bad_time = record(2, incident__detected_at="2021-03-04T09:00:00Z")  # before impact started
    future = record(3, postmortem__published_at="2999-01-01T00:00:00Z")
    path = write_jsonl(tmp_path / "a.jsonl", [record(1), bad_time, "{not json", future, record(5)])
    output = run(path, "--create-missing")
    assert f"Refused {path}:2: incident.detected_at: Detected time cannot be before the time impact started." in output
    assert f"Refused {path}:3: not valid JSON" in output
    assert f"Refused {path}:4: postmortem.published_at: Enter a time no later than a day from now" in output
    assert set(Incident.objects.values_list("external_id", flat=True)) == {"OLD-1", "OLD-5"}
    assert not Incident.objects.filter(external_id="OLD-2").exists()


def test_a_line_that_is_not_utf8_is_refused_by_its_line_and_the_next_goes_in(archive, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(json.dumps(record(1)).encode() + b"\n\xff\xfe\n" + json.dumps(record(3)).encode() + b"\n")
    output = run(path, "--create-missing")
    assert f"Refused {path}:2: not UTF-8 text" in output
    assert set(Incident.objects.values_list("external_id", flat=True)) == {"OLD-1", "OLD-3"}


def test_missing_people_and_teams_are_refused_without_create_missing(archive, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [record()])
    with pytest.raises(CommandError, match="No record was imported"):
        run(path)
    UserFactory(username="ines", email="ines@example.com")
    report = import_archive([path])
    assert report.refused == [f"{path}:1: incident: no service “checkout” (run with --create-missing to create it)"]
    assert not Team.objects.exists() and not Incident.objects.exists()


def test_a_dry_run_says_what_would_happen_and_saves_nothing(archive, tmp_path):
    output = run(write_jsonl(tmp_path / "a.jsonl", [record(1), record(2)]), "--create-missing", "--dry-run")
    assert "Postmortems: 2 would be created, 0 updated, 0 refused." in output
    assert "Dry run: nothing was saved." in output
    assert not Incident.objects.exists() and not Team.objects.exists()


def test_the_archive_search_finds_imported_postmortems(archive, tmp_path, client):
    run(write_jsonl(tmp_path / "a.jsonl", [record()]), "--create-missing")
    client.force_login(UserFactory(username="reader"))
    page = client.get(reverse("archive:index"), {"q": "connection limit"}).content.decode()
    assert "Checkout timeouts after a pool resize (1)" in page


def _export(tmp_path: Path, name: str) -> list[dict]:
    path = tmp_path / name
    call_command("export_postmortems", "--output", str(path), stdout=io.StringIO())
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.django_db(transaction=True)
def test_export_then_import_into_an_empty_database_gives_back_the_same_archive(tmp_path):
    ensure_taxonomies()
    escalated = record(1, incident__severity_changes=ESCALATED)
    run(write_jsonl(tmp_path / "a.jsonl", [escalated, record(2, postmortem__status="draft")]), "--create-missing")
    first = _export(tmp_path, "first.jsonl")
    assert first[0]["incident"]["severity_changes"][0]["reason"] == ESCALATED[0]["reason"]
    call_command("flush", "--no-input")
    ensure_taxonomies()
    run(tmp_path / "first.jsonl", "--create-missing")
    assert _export(tmp_path, "second.jsonl") == first


def test_markdown_export_imports_back_as_the_same_postmortem(archive, tmp_path):
    run(write_jsonl(tmp_path / "a.jsonl", [record()]), "--create-missing")
    first = _export(tmp_path, "first.jsonl")
    call_command("export_postmortems", "--output", str(tmp_path / "x.jsonl"), "--markdown", str(tmp_path / "md"))
    Postmortem.objects.all().delete()
    Incident.objects.all().delete()
    output = run(tmp_path / "md", "--create-missing")
    assert "Postmortems: 1 were created" in output
    assert _export(tmp_path, "second.jsonl") == first


def test_the_sample_archive_imports_with_its_history_and_sends_nothing(archive, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = import_archive([SAMPLE], create_missing=True)
    assert report.refused == []
    assert Postmortem.objects.count() == 30
    for line in SAMPLE.read_text().splitlines():
        data = json.loads(line)
        pm = Postmortem.objects.get(external_id=data["postmortem"]["external_id"])
        assert (pm.status, _iso(pm.published_at)) == (data["postmortem"]["status"], data["postmortem"]["published_at"])
        assert _iso(pm.incident.resolved_at) == data["incident"]["resolved_at"]
        for item in data["action_items"]:
            stored = ActionItem.objects.get(external_id=item["external_id"])
            assert (stored.status, _iso(stored.completed_at)) == (item["status"], item.get("completed_at"))
    assert mail.outbox == []
    assert not Notification.objects.exists()
    assert chase_overdue_items(now=CHASE_TIME, enqueue=False) == {"reminders": 0, "escalations": 0}
    assert not Notification.objects.exists()


def _iso(value) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def test_the_api_shows_where_each_imported_record_came_from(archive, tmp_path, admin_client):
    run(write_jsonl(tmp_path / "a.jsonl", [record()]), "--create-missing")
    pm = Postmortem.objects.get()
    incident = admin_client.get(f"/api/v1/incidents/{pm.incident.pk}/").json()
    postmortem = admin_client.get(f"/api/v1/postmortems/{pm.pk}/").json()
    item = admin_client.get("/api/v1/action-items/", {"status": "done"}).json()["results"][0]
    assert (incident["external_id"], incident["source_url"]) == ("OLD-1", "https://wiki.example.com/pm/1")
    assert postmortem["external_id"] == "OLD-1"
    assert item["external_id"] == "OLD-1-A"


def test_a_folder_of_markdown_and_json_lines_goes_in_and_a_file_without_front_matter_is_refused(archive, tmp_path):
    (tmp_path / "wiki").mkdir()
    write_jsonl(tmp_path / "wiki" / "a.jsonl", [record(1)])
    (tmp_path / "wiki" / "notes.md").write_text("# Just notes\n\nNo front matter here.\n")
    output = run(tmp_path / "wiki", "--create-missing")
    assert "Postmortems: 1 were created, 0 updated, 1 refused." in output
    assert f"Refused {tmp_path / 'wiki' / 'notes.md'}:1: no YAML front matter" in output


def test_sections_redacted_in_a_readers_export_are_left_alone_on_import(archive, tmp_path, client):
    data = record(postmortem__internal_sections=["root_cause"], postmortem__visibility="restricted")
    data["postmortem"]["teams"] = ["Payments"]
    run(write_jsonl(tmp_path / "a.jsonl", [data]), "--create-missing")
    pm = Postmortem.objects.get()
    client.force_login(UserFactory(username="outsider"))
    Postmortem.objects.filter(pk=pm.pk).update(visibility="organisation")
    text = client.get(reverse("archive:export", args=[pm.pk])).content.decode()
    assert "The new pool size exceeded" not in text and "redacted_sections:\n  - root_cause" in text
    assert "ines@example.com" not in text  # a reader's export carries no email addresses
    (tmp_path / "pm.md").write_text(text.replace("Check the limit before resizing.", "Check limits first."))
    output = run(tmp_path / "pm.md", "--create-missing")
    assert "Postmortems: 0 were created, 1 updated, 0 refused." in output
    pm.refresh_from_db()
    assert pm.lessons == "Check limits first."
    assert pm.root_cause == "The new pool size exceeded the database's connection limit."


def a_year_later(data: dict) -> dict:
    """The same record with every time a year later (a repeat of the first, not a twin)."""
    return json.loads(json.dumps(data).replace('"2021-', '"2022-'))


def test_repeats_among_imported_incidents_are_suggested_once_and_nobody_is_emailed_then_or_by_the_nightly_job(
    archive, tmp_path, django_capture_on_commit_callbacks
):
    UserFactory(username="ines", email="ines@example.com")  # an active facilitator, who could be emailed
    path = write_jsonl(tmp_path / "a.jsonl", [record(1), a_year_later(record(2))])
    with django_capture_on_commit_callbacks(execute=True):
        output = run(path, "--create-missing")
        nightly = detect_recent_repeats()

    link = RepeatLink.objects.get()
    assert (link.incident.external_id, link.earlier.external_id, link.state) == ("OLD-2", "OLD-1", "suggested")
    assert "Repeat links suggested among the imported incidents: 1." in output
    # The imported rows carry the archive's times, so the nightly job does not take them for new.
    incident = Incident.objects.get(external_id="OLD-2")
    assert incident.updated_at == datetime(2022, 3, 4, 11, 30, tzinfo=UTC)
    assert incident.postmortem.updated_at == datetime(2022, 3, 10, 16, 20, tzinfo=UTC)
    assert nightly == 0
    assert mail.outbox == [] and not Notification.objects.exists()


def test_without_repeats_no_link_is_suggested(archive, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [record(1), a_year_later(record(2))])
    output = run(path, "--create-missing", "--no-repeats")
    assert not RepeatLink.objects.exists()
    assert "Repeat links" not in output


def test_references_follow_on_without_a_gap_even_after_a_refused_record(archive, tmp_path):
    refused = record(2, action_items__1__status="lost")  # refused after its incident was numbered
    output = run(write_jsonl(tmp_path / "a.jsonl", [record(1), refused, record(3)]), "--create-missing")
    assert "1 refused" in output
    assert sorted(Incident.objects.values_list("reference", flat=True)) == ["INC-2021-0001", "INC-2021-0002"]
    assert sorted(ActionItem.objects.values_list("reference", flat=True)) == [f"AI-000{n}" for n in range(1, 5)]
    # The numbers taken a block at a time and not used are given back: the next item follows on.
    assert ActionItemFactory().reference == "AI-0005"


def test_the_queries_of_an_import_do_not_grow_with_the_archive(archive, tmp_path):
    run(write_jsonl(tmp_path / "first.jsonl", [record(n) for n in range(1, 4)]), "--create-missing")
    counts = []
    for name, numbers in (("ten.jsonl", range(10, 20)), ("twenty.jsonl", range(20, 40))):
        with CaptureQueriesContext(connection) as queries:
            import_archive([write_jsonl(tmp_path / name, [record(n) for n in numbers])], repeats=False)
        counts.append(len(queries))
    # Each new record: its incident, services, tags, timeline, postmortem, authors, reviewers,
    # reviews (insert, then their times), history event, items and their first change rows, and
    # the savepoint and its release around it; the rest (index rebuild, backdating) is once per import.
    assert counts[1] - counts[0] == 10 * 14


@pytest.mark.django_db(transaction=True)
def test_an_import_pauses_index_upkeep_for_its_own_thread_only():
    ensure_taxonomies()
    elsewhere = {}

    def web_request() -> None:
        elsewhere["pk"] = PostmortemFactory().pk
        connection.close()

    with search_index.paused():
        thread = threading.Thread(target=web_request)
        thread.start()
        thread.join()
        imported = PostmortemFactory()
    assert PostmortemSearchDocument.objects.filter(postmortem_id=elsewhere["pk"]).exists()
    assert not PostmortemSearchDocument.objects.filter(postmortem_id=imported.pk).exists()


def test_a_rerun_updates_the_action_items_it_finds_again(archive, tmp_path):
    run(write_jsonl(tmp_path / "a.jsonl", [record()]), "--create-missing")
    finished = record(
        action_items__1__status="done",
        action_items__1__completed_at="2021-05-20T08:00:00Z",
        action_items__1__resolution_note="Load tests run in CI.",
        action_items__1__title="Load-test every pool change",
    )
    output = run(write_jsonl(tmp_path / "a.jsonl", [finished]), "--create-missing")
    assert "Action items: 0 were created, 2 updated." in output
    item = ActionItem.objects.get(external_id="OLD-1-B")
    assert (item.title, item.status, item.resolution_note) == (
        "Load-test every pool change",
        "done",
        "Load tests run in CI.",
    )
    assert item.completed_at == datetime(2021, 5, 20, 8, 0, tzinfo=UTC)
