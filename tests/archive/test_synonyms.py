"""The archive search's synonym groups: admins edit them in the admin and the next search uses
them (no reindex); the seeded vocabulary finds what reports say for what engineers type; on
whichever database the tests run (SQLite by default, PostgreSQL with DATABASE_URL)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from postmortems.models import SearchSynonym
from postmortems.search import search_postmortems
from postmortems.synonyms import DEFAULT_SYNONYMS, split_terms, synonym_table, term_errors

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:postmortems_searchsynonym_add")
LIST_URL = reverse("admin:postmortems_searchsynonym_changelist")


def found(user, query):
    return [pm.pk for pm in search_postmortems(user, query)]


def add_group(client, terms: str, note: str = ""):
    return client.post(ADD_URL, {"terms": terms, "note": note, "_save": "Save"})


def test_a_group_an_admin_adds_finds_postmortems_by_its_words_at_once_and_stops_when_deleted(make_pm, as_user, people):
    outsider = people[1]["outsider"]
    ledger = make_pm(summary="The ledger service ran out of database connections at noon.")
    make_pm(summary="Checkout was slow after a deploy.")
    assert found(outsider, "hydra") == []

    response = add_group(as_user("admin"), "Hydra, ledger service", note="The ledger's internal nickname.")
    assert response.status_code == 302
    group = SearchSynonym.objects.get(note="The ledger's internal nickname.")
    assert group.terms == "hydra, ledger service"
    assert found(outsider, "hydra") == [ledger.pk]

    delete_url = reverse("admin:postmortems_searchsynonym_delete", args=[group.pk])
    assert as_user("admin").post(delete_url, {"post": "yes"}).status_code == 302
    assert found(outsider, "hydra") == []


def test_a_changed_group_applies_to_the_next_search(make_pm, as_user, people):
    outsider = people[1]["outsider"]
    incident = make_pm(summary="The blue cluster's nodes ran out of disk.")
    group = SearchSynonym.objects.create(terms="hydra, ledger service")
    assert found(outsider, "hydra") == []
    change_url = reverse("admin:postmortems_searchsynonym_change", args=[group.pk])
    response = as_user("admin").post(change_url, {"terms": "hydra, blue cluster", "note": "", "_save": "Save"})
    assert response.status_code == 302
    assert found(outsider, "hydra") == [incident.pk]


def test_saving_a_group_untouched_changes_nothing(as_user):
    from django.contrib.admin.models import LogEntry

    group = SearchSynonym.objects.create(terms="hydra, ledger service", note="The ledger's nickname.")
    before = SearchSynonym.objects.values().get(pk=group.pk)
    change_url = reverse("admin:postmortems_searchsynonym_change", args=[group.pk])
    form = {"terms": group.terms, "note": group.note, "_save": "Save"}
    assert as_user("admin").post(change_url, form).status_code == 302
    assert SearchSynonym.objects.values().get(pk=group.pk) == before
    assert not LogEntry.objects.filter(object_id=str(group.pk)).exists()


@pytest.mark.parametrize(
    ("terms", "error"),
    [
        ("hydra", "Give at least 2 words or phrases, separated by commas."),
        ("hydra, , HYDRA", "Give at least 2 words or phrases, separated by commas."),
        ("hydra, the", "“the” holds only words that search ignores"),
        ("hydra, the ledger service that pays", "“the ledger service that pays” is too long"),
        ("hydra, --", "“--” needs letters or digits in each of its words."),
        (", ".join(f"word{n}" for n in range(17)), "Give at most 16 words or phrases in one group (this has 17)."),
        ("x" * 501, "Ensure this value has at most 500 characters"),
    ],
)
def test_a_group_the_search_could_not_use_is_refused_with_the_reason_on_the_form(as_user, terms, error):
    before = SearchSynonym.objects.count()
    response = add_group(as_user("admin"), terms)
    assert response.status_code == 200
    assert error in response.text
    assert SearchSynonym.objects.count() == before


def test_a_term_already_in_another_group_is_refused_and_named(as_user):
    SearchSynonym.objects.create(terms="hydra, ledger service")
    response = add_group(as_user("admin"), "hydra, payments core")
    assert response.status_code == 200
    assert "“hydra” is already in the group “hydra, ledger service”" in response.text
    assert not SearchSynonym.objects.filter(terms__contains="payments core").exists()


@pytest.mark.parametrize("name", ["outsider", "teammate", "facilitator"])
def test_only_admins_see_or_edit_the_groups(as_user, name):
    client = as_user(name)
    before = SearchSynonym.objects.count()
    assert client.get(LIST_URL).status_code == 302  # to the admin's sign-in page
    add_group(client, "hydra, ledger service")
    assert SearchSynonym.objects.count() == before


def test_the_admin_lists_and_searches_the_groups(as_user):
    SearchSynonym.objects.create(terms="hydra, ledger service", note="The ledger's nickname.")
    client = as_user("admin")
    assert "hydra, ledger service" in client.get(LIST_URL).text
    searched = client.get(LIST_URL, {"q": "ledger"}).text
    assert "hydra, ledger service" in searched
    assert "k8s, kube, kubernetes" not in searched


def test_with_no_group_left_the_seeded_vocabulary_applies(make_pm, people):
    SearchSynonym.objects.all().delete()
    upgrade = make_pm(summary="Upgrading Kubernetes left pods without addresses.")
    assert found(people[1]["outsider"], "k8s") == [upgrade.pk]


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("oom", "The JVM ran out of memory during the nightly batch."),
        ("lb health checks", "The load balancer marked every backend unhealthy."),
        ("thundering herd", "A cache stampede followed the restart of the session store."),
        ('"thundering herd"', "A cache stampede followed the restart of the session store."),
        ("dogpile", "Every client hit the origin at once: a thundering herd."),
        ("rollback", "The release was reverted after ten minutes."),
        ("throttled", "The payment provider rate limited our requests."),
        ("dst bug", "Jobs ran twice when the clocks changed for daylight saving."),
        ("crashloopbackoff", "The pods were stuck in a restart loop after the upgrade."),
        ("5xx", "Customers saw 503 responses from the API."),
        ("leaked secret", "An API key was exposed in a public repository."),
        ("p99", "Tail latency rose to four seconds."),
        ("timezone", "The report used the server's time zone instead of the customer's."),
        ("pull request", "A PR changed the retry settings of every client."),
        ("counter overflow", "The sequence number wrapped around after two billion writes."),
    ],
)
def test_the_seeded_vocabulary_finds_what_reports_say_for_what_engineers_type(make_pm, people, query, text):
    wanted = make_pm(summary=text)
    make_pm(summary="Checkout was slow after a deploy.")
    make_pm(summary="A certificate expired on the billing host.")
    assert found(people[1]["outsider"], query)[:1] == [wanted.pk]


def test_every_seeded_group_is_one_an_admin_could_save():
    """So an admin who edits a seeded group meets only their own mistakes."""
    groups = [split_terms(line) for line in DEFAULT_SYNONYMS]
    assert [(terms, term_errors(terms)) for terms in groups if term_errors(terms)] == []
    every_term = [term for terms in groups for term in terms]
    assert sorted({t for t in every_term if every_term.count(t) > 1}) == []


def test_a_warm_search_reads_no_synonyms_and_a_save_makes_the_next_one_read_them(make_pm, people):
    make_pm(summary="The ledger service ran out of database connections.")
    outsider = people[1]["outsider"]
    synonym_table()

    def queries(query) -> int:
        with CaptureQueriesContext(connection) as captured:
            found(outsider, query)
        return len(captured)

    warm = queries("ledger")
    assert queries("ledger") == warm
    SearchSynonym.objects.create(terms="hydra, ledger service")
    assert queries("ledger") == warm + 1
    assert queries("ledger") == warm
