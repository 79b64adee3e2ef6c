"""The kept archive index behind repeat detection on large archives: it suggests what scoring every
earlier incident suggests, follows edits, and a worker's first run starts from the cache's copy."""

from datetime import timedelta

import pytest

from incidents import repeat_index, repeats
from tests.factories import T0, ServiceFactory
from tests.incidents.test_repeats import _incident as published_incident

pytestmark = pytest.mark.django_db

ROOT_CAUSES = [
    "The TLS certificate of the {s} front ends expired; renewal was tracked by hand.",
    "A configuration change to the {s} rate limits was pushed to every region at once.",
    "The {s} database connection pool was exhausted by slow report queries.",
    "A DNS record for {s} was deleted by a cleanup script; resolvers returned NXDOMAIN.",
    "A release of {s} introduced a bug in request parsing and was rolled back.",
    "The leap second made the {s} hosts spin at full CPU.",
    "A kernel update on the {s} hosts broke their network interfaces after reboot.",
    "Our payment provider had an outage and {s} calls to it timed out.",
]


def _incident(number: int, root_cause: str, days: int):
    service = ServiceFactory(name=f"svc-{number}")
    return published_incident(
        service, None, title=f"Incident {number} on {service.name}", root_cause=root_cause, started=T0 + timedelta(days)
    )


@pytest.fixture
def archive():
    """Thirty earlier incidents of eight failure modes, across services and years."""
    return [_incident(i, ROOT_CAUSES[i % len(ROOT_CAUSES)].format(s=f"svc-{i}"), days=40 * i) for i in range(30)]


@pytest.fixture
def later():
    return _incident(99, "The certificate on the svc-99 login endpoints expired; nobody renewed it.", days=3000)


@pytest.fixture(autouse=True)
def no_index_left(monkeypatch):
    repeat_index.forget()
    yield
    repeat_index.forget()


def _indexed(monkeypatch):
    """From now on, every archive counts as large: scores come from the kept index."""
    monkeypatch.setattr(repeats, "REUSE_FROM", 0)


def _suggested(incident) -> list[tuple[int, float]]:
    return [(pk, result.score) for pk, result in repeats.repeats_of(incident)]


def test_the_index_suggests_what_scoring_every_incident_suggests(archive, later, monkeypatch):
    every = _suggested(later)
    assert [pk for pk, _ in every] == [archive[i].pk for i in (24, 16, 8, 0)]  # the four expired certificates

    _indexed(monkeypatch)
    indexed = _suggested(later)
    assert [pk for pk, _ in indexed] == [pk for pk, _ in every]
    # The scores differ only by the IDF: the index counts it over the earlier incidents alone.
    assert all(abs(a - b) < 0.05 for (_, a), (_, b) in zip(indexed, every, strict=True))


def test_an_incident_edited_after_it_was_indexed_is_scored_as_it_reads_now(archive, later, monkeypatch):
    _indexed(monkeypatch)
    first = [pk for pk, _ in _suggested(later)]
    edited = archive[3]  # was a DNS deletion
    assert edited.pk not in first

    edited.postmortem.root_cause = "The TLS certificate of the svc-3 API expired; renewal was manual."
    edited.postmortem.save()
    assert edited.pk in [pk for pk, _ in _suggested(later)]

    archive[0].postmortem.root_cause = "A DNS record was deleted by a cleanup script."
    archive[0].postmortem.save()
    assert archive[0].pk not in [pk for pk, _ in _suggested(later)]


def test_a_workers_first_run_reads_the_cached_index_instead_of_preparing_the_archive(archive, later, monkeypatch):
    _indexed(monkeypatch)
    monkeypatch.setattr(repeat_index, "SAVE_EVERY", 1)
    expected = _suggested(later)

    repeat_index._PROCESS.clear()  # a new worker process: only the cache's copy is left

    def build(*args, **kwargs):
        raise AssertionError("the archive was prepared again")

    monkeypatch.setattr(repeat_index.ArchiveIndex, "build", build)
    assert _suggested(later) == expected


def test_a_changed_taxonomy_builds_the_index_again(archive, later, monkeypatch):
    _indexed(monkeypatch)
    _suggested(later)
    built = []
    real_build = repeat_index.ArchiveIndex.build.__func__

    def build(cls, *args):
        built.append(True)
        return real_build(cls, *args)

    monkeypatch.setattr(repeat_index.ArchiveIndex, "build", classmethod(build))
    _suggested(later)
    assert built == []
    from incidents.models import FailureClass

    FailureClass.objects.filter(slug="dns").update(keywords="dns|nxdomain|resolver")
    _suggested(later)
    assert built == [True]
