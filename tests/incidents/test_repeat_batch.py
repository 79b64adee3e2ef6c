"""Repeat detection for a whole import at once (``repeat_batch``): it suggests what scoring each
incident on its own suggests, keeps decisions, stores each pair once, and its queries do not grow
with the number of incidents."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import repeat_batch, repeat_index, repeats
from incidents.models import Incident, RepeatLink
from tests.factories import T0, ServiceFactory
from tests.incidents.test_repeat_index import ROOT_CAUSES, _incident
from tests.incidents.test_repeats import _incident as published_incident

pytestmark = pytest.mark.django_db

# Share words with the failure modes of ROOT_CAUSES, not their failure.
LOOK_ALIKES = [
    "The certificate renewal job for {s} moved to a new host; it ran on time and nothing expired.",
    "A DNS migration for {s} was planned for the weekend; the change window slipped by a week.",
    "The {s} database was upgraded to a new version ahead of schedule with no downtime.",
]


@pytest.fixture
def archive() -> list[Incident]:
    """Thirty-one incidents: eight failure modes across services and years, look-alikes, three
    copies of one certificate expiry (the same text, service and start), and a later expiry
    whose suggestions among those copies tie."""
    incidents = [_incident(i, ROOT_CAUSES[i % 8].format(s=f"svc-{i}"), days=40 * i) for i in range(24)]
    incidents += [_incident(30 + i, text.format(s="svc-x"), days=45 * i + 7) for i, text in enumerate(LOOK_ALIKES)]
    shared = ServiceFactory(name="svc-copied")
    copied = ROOT_CAUSES[0].format(s="svc-copied")
    started = T0 + timedelta(1500)
    incidents += [
        published_incident(shared, None, title="Incident 40", root_cause=copied, started=started) for _ in range(3)
    ]
    return [*incidents, _incident(50, ROOT_CAUSES[0].format(s="svc-50"), days=2000)]


@pytest.fixture(autouse=True)
def indexed(monkeypatch):
    """Every archive counts as large: scores come from the kept index, as on 10,000 incidents."""
    monkeypatch.setattr(repeats, "REUSE_FROM", 0)
    repeat_index.forget()
    yield
    repeat_index.forget()


def _links() -> dict[tuple[int, int], tuple[float, str, str]]:
    return {
        (link.incident_id, link.earlier_id): (link.score, link.reason, link.state) for link in RepeatLink.objects.all()
    }


def _one_at_a_time(incidents) -> dict[tuple[int, int], tuple[float, str, str]]:
    return {
        (incident.pk, pk): (result.score, result.reason, "suggested")
        for incident in sorted(incidents, key=lambda incident: incident.pk)
        for pk, result in repeats.repeats_of(incident)
    }


def test_the_batch_suggests_what_scoring_each_incident_on_its_own_suggests(archive):
    found = repeat_batch.suggest_repeats(incident.pk for incident in archive)

    batch = _links()
    # With the same kept index (the batch brought it in step with the whole archive).
    assert batch == _one_at_a_time(archive)
    assert found == len(batch) >= 20
    # The copies of a certificate expiry each find the three earlier ones, and not each other
    # (they began at the same moment).
    copies = [incident.pk for incident in archive[-4:-1]]
    for copy in copies:
        assert {earlier for incident, earlier in batch if incident == copy} >= {archive[i].pk for i in (0, 8, 16)}
    assert not any(incident in copies and earlier in copies for incident, earlier in batch)
    # The latest expiry: five of the six earlier ones, the copies (one rank) by id.
    latest = sorted(earlier for incident, earlier in batch if incident == archive[-1].pk)
    assert len(latest) == repeats.MAX_SUGGESTIONS and set(copies) < set(latest)
    assert mail.outbox == []


def test_a_rerun_keeps_each_pair_once_leaves_decisions_alone_and_refreshes_pending_ones(archive):
    ids = [incident.pk for incident in archive]
    repeat_batch.suggest_repeats(ids)
    first = _links()
    dismissed, stale, *_ = RepeatLink.objects.order_by("pk")
    dismissed.state = RepeatLink.State.DISMISSED
    dismissed.save()
    RepeatLink.objects.filter(pk=stale.pk).update(score=0.99, reason="Edited by hand.")

    assert repeat_batch.suggest_repeats(ids) == len(first)

    again = _links()
    assert again.keys() == first.keys()
    assert again[(dismissed.incident_id, dismissed.earlier_id)][2] == "dismissed"
    assert again[(stale.incident_id, stale.earlier_id)] == first[(stale.incident_id, stale.earlier_id)]


def test_the_queries_do_not_grow_with_the_number_of_incidents_scored(archive):
    ids = [incident.pk for incident in archive]
    repeat_batch.suggest_repeats(ids)  # the kept index is built once (its queries grow with the archive)
    counts = []
    for batch in (ids[-6:], ids):
        RepeatLink.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            repeat_batch.suggest_repeats(batch)
        assert RepeatLink.objects.exists()
        counts.append(len(queries))
    # Once: the archive's size, its digests (2), the failure classes, the outlines (2); then per 500
    # incidents: their documents (3), those of their best earlier ones (3), the links there are
    # and the new ones.
    assert counts[0] == counts[1] == 14
