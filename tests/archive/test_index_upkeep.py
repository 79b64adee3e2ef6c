"""The index follows every change to the text it holds, after commit."""

import pytest
from django.core.management import call_command

from postmortems import services
from postmortems.models import PostmortemSearchDocument
from postmortems.search import search_postmortems
from postmortems.search_index import remove_from_index
from tests.factories import ActionItemFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(people):
    return people[1]["teammate"]


def ids(user, query):
    return [pm.pk for pm in search_postmortems(user, query)]


def test_a_section_edit_through_the_editor_replaces_the_old_words(
    make_pm, people, reader, django_capture_on_commit_callbacks
):
    pm = make_pm(root_cause="The flamingo service leaked memory.")
    assert ids(reader, "flamingo") == [pm.pk]
    with django_capture_on_commit_callbacks(execute=True):
        services.postmortem_update(
            postmortem=pm,
            user=people[1]["facilitator"],
            data={"root_cause": "The pelican service leaked memory."},
            expected_version=pm.version,
            amendment_note="Corrected the service name.",
        )
    assert ids(reader, "flamingo") == []
    assert ids(reader, "pelican") == [pm.pk]


def test_a_saved_section_and_new_timeline_event_and_action_item_are_found(
    make_pm, reader, django_capture_on_commit_callbacks
):
    pm = make_pm()
    with django_capture_on_commit_callbacks(execute=True):
        pm.lessons = "Walrus alarms were too noisy."
        pm.save()
        TimelineEventFactory(incident=pm.incident, text="Paged the narwhal on-call")
        ActionItemFactory(postmortem=pm, title="Retire the manatee cron")
    for word in ("walrus", "narwhal", "manatee"):
        assert ids(reader, word) == [pm.pk], word


def test_incident_title_and_tags_are_found(make_pm, reader, django_capture_on_commit_callbacks):
    pm = make_pm()
    with django_capture_on_commit_callbacks(execute=True):
        pm.incident.title = "Ocelot latency"
        pm.incident.save()
        pm.incident.tags.add("capybara")
    assert ids(reader, "ocelot") == [pm.pk]
    assert ids(reader, "capybara") == [pm.pk]
    with django_capture_on_commit_callbacks(execute=True):
        pm.incident.tags.clear()
    assert ids(reader, "capybara") == []


def test_marking_a_section_internal_hides_its_words_from_outsiders(make_pm, people, django_capture_on_commit_callbacks):
    _, users = people
    pm = make_pm(root_cause="The wombat credentials leaked.")
    assert ids(users["outsider"], "wombat") == [pm.pk]
    with django_capture_on_commit_callbacks(execute=True):
        pm.internal_sections = ["root_cause"]
        pm.save()
    assert ids(users["outsider"], "wombat") == []
    assert ids(users["teammate"], "wombat") == [pm.pk]


def test_a_deleted_timeline_event_and_postmortem_leave_the_index(make_pm, reader, django_capture_on_commit_callbacks):
    pm = make_pm()
    with django_capture_on_commit_callbacks(execute=True):
        event = TimelineEventFactory(incident=pm.incident, text="The axolotl failed over")
    assert ids(reader, "axolotl") == [pm.pk]
    with django_capture_on_commit_callbacks(execute=True):
        event.delete()
    assert ids(reader, "axolotl") == []
    with django_capture_on_commit_callbacks(execute=True):
        pm.delete()
    assert not PostmortemSearchDocument.objects.exists()


def test_rebuild_search_index_restores_a_lost_index(make_pm, reader):
    pms = [make_pm(summary=f"Gecko outage {n}.") for n in range(3)]
    for pm in pms:
        remove_from_index(pm.pk)
    assert ids(reader, "gecko") == []
    call_command("rebuild_search_index", chunk_size=2, verbosity=0)
    assert sorted(ids(reader, "gecko")) == sorted(pm.pk for pm in pms)
    assert ids(reader, "quagga") == []


def test_renaming_a_service_team_cause_or_failure_class_reindexes_its_postmortems(
    make_pm, reader, django_capture_on_commit_callbacks, eager_tasks
):
    from incidents.models import FailureClass
    from tests.factories import IncidentFactory, ServiceFactory, TeamFactory, cause

    incident = IncidentFactory(cause_category=cause("capacity"))
    labels = [
        ServiceFactory(name="Ledger", slug="ledger"),
        TeamFactory(name="Storage", slug="storage"),
        incident.cause_category,
        FailureClass.objects.create(name="Thundering herd", slug="thundering-herd"),
    ]
    pm = make_pm(incident=incident, summary="Things were slow.")
    with django_capture_on_commit_callbacks(execute=True):
        incident.services.add(labels[0])
        incident.failure_classes.add(labels[3])
        pm.teams.add(labels[1])
        incident.save()
    others = [make_pm(summary="Unrelated.") for _ in range(3)]
    renames = ["Abacus", "Bellows", "Cormorant", "Dromedary"]
    for label, new_name in zip(labels, renames, strict=True):
        old_name, label.name = label.name, new_name
        with django_capture_on_commit_callbacks(execute=True):
            label.save()
        assert ids(reader, new_name) == [pm.pk], new_name
        assert ids(reader, f'"{old_name}"') == [], old_name
    assert all(ids(reader, "unrelated").count(o.pk) == 1 for o in others)


def test_saving_a_label_without_renaming_it_reindexes_nothing(make_pm, django_capture_on_commit_callbacks):
    from tests.factories import IncidentFactory, ServiceFactory

    service = ServiceFactory(name="Ledger", slug="ledger")
    incident = IncidentFactory()
    incident.services.add(service)
    make_pm(incident=incident)
    service.description = "The books."
    with django_capture_on_commit_callbacks() as callbacks:
        service.save()
    assert callbacks == []


def test_a_deleted_failure_class_leaves_its_postmortems_documents(
    make_pm, reader, django_capture_on_commit_callbacks, eager_tasks
):
    from incidents.models import FailureClass
    from tests.factories import IncidentFactory

    herd = FailureClass.objects.create(name="Thundering herd", slug="thundering-herd")
    incidents = [IncidentFactory() for _ in range(3)]
    for incident in incidents:
        incident.failure_classes.add(herd)
    pms = [make_pm(incident=incident, summary="Retries piled up.") for incident in incidents]
    assert sorted(ids(reader, '"thundering herd"')) == sorted(pm.pk for pm in pms)
    with django_capture_on_commit_callbacks(execute=True):
        herd.delete()
    assert ids(reader, '"thundering herd"') == []


def test_reindexing_in_chunks_covers_every_postmortem_once(make_pm, reader):
    from postmortems.models import Postmortem
    from postmortems.search_index import reindex_in_chunks

    pms = [make_pm(summary=f"Chunk {n}.") for n in range(5)]
    for pm in pms:
        remove_from_index(pm.pk)
    assert ids(reader, "chunk") == []
    assert reindex_in_chunks(Postmortem.objects.filter(pk__in=[pm.pk for pm in pms]), chunk_size=2) == 5
    assert sorted(ids(reader, "chunk")) == sorted(pm.pk for pm in pms)
