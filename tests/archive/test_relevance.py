"""Archive search for what people type: the labelled query set's targets, words held by most
rather than all matches, stop words, prefixes, synonyms, operators and "Did you mean", on
whichever database the tests run (SQLite by default, PostgreSQL with DATABASE_URL)."""

import pytest
from django.urls import reverse

from bench.search_relevance import evaluate as evaluate_set
from bench.search_relevance import figures, load_set, seed_set
from postmortems import search_index
from postmortems.search import Term, parse_query, search_postmortems
from tests.factories import ActionItemFactory, IncidentFactory

pytestmark = pytest.mark.django_db

URL = reverse("archive:index")


def found(user, query):
    return [pm.pk for pm in search_postmortems(user, query)]


def test_the_labelled_query_set_meets_the_issue_targets(db):
    postmortems, queries = load_set()
    user, ids = seed_set(postmortems)
    rows = evaluate_set(user, ids, queries)
    overall = figures(rows)
    natural = figures([r for r in rows if r["kind"] != "keyword"])
    assert [r["q"] for r in rows if r["empty"]] == []
    assert overall["mrr"] >= 0.9, overall
    assert natural["mrr"] >= 0.8, natural


def test_postmortems_holding_most_words_follow_those_holding_every_word(make_pm, people):
    outsider = people[1]["outsider"]
    every = make_pm(summary="The orders database was deleted by mistake during a replica rebuild.")
    most = make_pm(summary="An operator deleted the orders database while cleaning up disks.")
    make_pm(summary="The orders database ran out of connections.")
    assert found(outsider, "database deleted by mistake")[:2] == [every.pk, most.pk]


def test_a_query_no_postmortem_holds_whole_says_so_and_still_finds_the_closest(make_pm, as_user):
    typo = make_pm(summary="A typo in the removal command removed far more servers than planned.")
    response = as_user("outsider").get(URL, {"q": "typo removed servers fleet"})
    assert [pm.pk for pm in response.context["page"].object_list] == [typo.pk]
    assert "No postmortem holds every word; these hold most of them." in response.text


def test_stop_words_are_not_required(make_pm, people):
    lost = make_pm(summary="Writes to the ledger were lost when a replica was promoted.")
    assert found(people[1]["outsider"], "why were the writes lost") == [lost.pk]


def test_the_last_word_finds_the_words_it_begins(make_pm, people):
    expired = make_pm(summary="The API certificate expired on a Saturday.")
    assert found(people[1]["outsider"], "expired certi") == [expired.pk]


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("expired cert", "The TLS certificate of the API expired."),
        ("k8s upgrade", "Upgrading Kubernetes left pods without addresses."),
        ("db failover", "The database failover promoted a replica in the wrong region."),
        ("config push", "A configuration push reached every load balancer at once."),
        ("DNS outage", "Internal DNS was unavailable for an hour."),
        ("sites deleted", "A script removed four hundred customer sites."),
    ],
)
def test_synonyms_find_the_word_the_postmortem_uses(make_pm, people, query, text):
    wanted = make_pm(summary=text)
    make_pm(summary="Checkout was slow after a deploy.")
    assert found(people[1]["outsider"], query)[0] == wanted.pk


def test_rm_rf_and_cplusplus_are_searched_as_written(make_pm, people):
    outsider = people[1]["outsider"]
    rm = make_pm(summary="An engineer ran rm -rf on the primary's data directory.")
    cpp = make_pm(summary="The C++ matching engine crashed on a malformed order.")
    make_pm(summary="The rm service was slow.")
    assert found(outsider, "rm -rf") == [rm.pk]
    assert cpp.pk in found(outsider, "C++")


def test_a_dash_excludes_the_word_except_as_a_known_commands_flag(make_pm, people):
    """``failover -db`` leaves out what mentions db; only after a command such as rm or kill is
    a dash and one or two characters that command's flag, searched as written."""
    outsider = people[1]["outsider"]
    standby = make_pm(summary="The failover to the standby took four minutes.")
    make_pm(summary="The db failover stalled replication.")
    killed = make_pm(summary="Someone ran kill -9 on the scheduler.")
    make_pm(summary="The kernel killed the scheduler; 9 jobs were lost.")
    assert found(outsider, "failover -db") == [standby.pk]
    assert found(outsider, "kill -9") == [killed.pk]
    assert parse_query("failover -db").excluded == (Term("db"),)
    assert parse_query("RM -rf").required == ((Term("RM -rf", phrase=True),),)


def test_an_exclusion_does_not_change_how_the_other_matches_rank(make_pm, people):
    outsider = people[1]["outsider"]
    titled = make_pm(incident=IncidentFactory(title="Expired certificate on the API"), summary="Clients failed.")
    passing = make_pm(summary="Deploys were slow; a certificate was mentioned in passing.", root_cause="Slow disks.")
    make_pm(incident=IncidentFactory(title="Leap day certificate bug"), summary="Certificates were invalid.")
    assert found(outsider, "certificate -leap") == [titled.pk, passing.pk]


def test_a_search_finding_nothing_offers_a_spelling_from_the_archive(make_pm, as_user):
    make_pm(incident=IncidentFactory(title="Kubernetes scheduler stalled"), summary="Pods stayed pending.")
    response = as_user("outsider").get(URL, {"q": "shceduler"})
    assert response.context["page"].paginator.count == 0
    assert "Did you mean" in response.text and response.context["suggestion"] == "scheduler"


def test_did_you_mean_never_spells_a_word_from_a_postmortem_the_reader_may_not_read(make_pm, as_user):
    make_pm(visibility="restricted", incident=IncidentFactory(title="Xylophone vendor outage"), summary="Secret.")
    response = as_user("outsider").get(URL, {"q": "xylophon"})
    assert response.context["suggestion"] is None
    assert "xylophone" not in response.text.lower()
    assert "xylophone" in as_user("teammate").get(URL, {"q": "xylophon"}).text.lower()


def test_service_team_cause_and_failure_class_names_find_the_postmortem(make_pm, people):
    from incidents.models import FailureClass
    from tests.factories import ServiceFactory, TeamFactory, cause

    outsider = people[1]["outsider"]
    incident = IncidentFactory(cause_category=cause("capacity"))
    pm = make_pm(incident=incident, summary="Things were slow.")
    with_names = [
        ServiceFactory(name="Ledger", slug="ledger"),
        FailureClass.objects.create(name="Thundering herd", slug="thundering-herd"),
    ]
    incident.services.add(with_names[0])
    incident.failure_classes.add(with_names[1])
    pm.teams.add(TeamFactory(name="Storage", slug="storage"))
    search_index.reindex_postmortem(pm.pk)
    make_pm(summary="Unrelated.")
    for query in ("ledger", "storage", "capacity", "thundering herd"):
        assert found(outsider, query) == [pm.pk], query


def test_what_went_well_and_action_item_descriptions_find_the_postmortem(make_pm, people):
    outsider = people[1]["outsider"]
    pm = make_pm(summary="The queue backed up.", what_went_well="The runbook for draining was spot on.")
    ActionItemFactory(postmortem=pm, title="Add alerting", description="Page when the backlog passes a million.")
    search_index.reindex_postmortem(pm.pk)
    assert found(outsider, "runbook draining") == [pm.pk]
    assert found(outsider, "backlog million") == [pm.pk]


def test_an_internal_what_went_well_is_not_searchable_from_outside(make_pm, people):
    _, users = people
    pm = make_pm(
        summary="The queue backed up.", what_went_well="Quokka tooling helped.", internal_sections=["what_went_well"]
    )
    assert found(users["outsider"], "quokka") == []
    assert found(users["teammate"], "quokka") == [pm.pk]


def test_host_names_are_found_whole_and_by_their_parts(make_pm, people):
    outsider = people[1]["outsider"]
    titled = make_pm(incident=IncidentFactory(title="Outage of GitLab.com"), summary="Pushes failed.")
    body = make_pm(summary="Calls to api.example.io timed out.")
    assert found(outsider, "gitlab") == [titled.pk]
    assert found(outsider, "GitLab.com") == [titled.pk]
    assert found(outsider, "example") == [body.pk]
    assert found(outsider, "api.example.io") == [body.pk]


def test_among_partial_matches_the_one_holding_the_rarer_word_comes_first(make_pm, people):
    for service in ("checkout", "search", "billing"):
        make_pm(incident=IncidentFactory(title=f"Outage of {service}"), summary=f"The {service} outage lasted an hour.")
    dns = make_pm(summary="Sign-ups failed for an hour.", root_cause="The DNS zone was published empty.")
    assert found(people[1]["outsider"], "DNS outage")[0] == dns.pk


def test_the_postmortems_holding_every_word_stay_first_past_the_rescored_window(make_pm, people, monkeypatch):
    from postmortems.search import results

    every = make_pm(summary="Sign-ups failed.", root_cause="The kafka broker disk was full.")
    for n in range(4):
        make_pm(incident=IncidentFactory(title=f"Kafka lag {n}"), summary="Kafka consumers fell behind.")
    monkeypatch.setattr(results, "RESCORE_WINDOW", 2)
    ids = found(people[1]["outsider"], "kafka broker disk")
    assert ids[0] == every.pk and sorted(ids) == sorted(set(ids)) and len(ids) == 5
