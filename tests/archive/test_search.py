"""The archive search: ranking, snippets, filters, pagination, query syntax, drafts, query count."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from incidents.models import RepeatLink
from postmortems import services
from postmortems.models import PostmortemSearchDocument
from postmortems.search import attach_snippets, highlight, parse_query, search_postmortems
from postmortems.search import results as search_results
from postmortems.synonyms import synonym_table
from tests.factories import T0, ActionItemFactory, IncidentFactory, ServiceFactory, cause, severity

pytestmark = pytest.mark.django_db

URL = reverse("archive:index")


def found(user, query, **kwargs):
    return [pm.pk for pm in search_postmortems(user, query, **kwargs)]


def page_ids(response):
    return [pm.pk for pm in response.context["page"].object_list]


def test_a_title_match_outranks_a_body_only_match(make_pm, people):
    body = make_pm(summary="Routine deploy.", root_cause="The kafka brokers ran out of disk.")
    title = make_pm(incident=IncidentFactory(title="Kafka consumer lag"), summary="Consumers fell behind.")
    assert found(people[1]["outsider"], "kafka") == [title.pk, body.pk]


def test_a_phrase_outranks_scattered_words(make_pm, people):
    outsider = people[1]["outsider"]
    scattered = make_pm(summary="The payment form was slow. Later the gateway of the office network failed.")
    phrase = make_pm(summary="Requests to the payment gateway timed out.")
    assert found(outsider, "payment gateway") == [phrase.pk, scattered.pk]
    assert found(outsider, '"payment gateway"') == [phrase.pk]


def test_or_and_exclusion(make_pm, people):
    outsider = people[1]["outsider"]
    redis = make_pm(summary="Redis failover took too long.")
    memcached = make_pm(summary="Memcached evictions spiked after a failover.")
    make_pm(summary="Postgres ran out of connections.")
    assert set(found(outsider, "redis OR memcached")) == {redis.pk, memcached.pk}
    assert found(outsider, "failover -redis") == [memcached.pk]
    assert found(outsider, '(redis OR postgres) -"out of connections"') == [redis.pk]


def test_snippets_highlight_the_matched_words_and_escape_the_rest(make_pm, people):
    make_pm(summary="The <script>alert(1)</script> payment gateway timed out during the sale.")
    results = list(search_postmortems(people[1]["outsider"], "gateway"))
    attach_snippets(results, parse_query("gateway"))
    snippet = results[0].snippet
    assert "<mark>gateway</mark>" in snippet
    assert "<script>" not in snippet


def test_the_page_shows_snippets_and_filters_combine_with_the_query(make_pm, as_user):
    checkout = ServiceFactory(name="Checkout", slug="checkout")
    wanted = make_pm(
        incident=IncidentFactory(severity=severity("SEV1"), cause_category=cause("deploy")),
        summary="The payment gateway timed out.",
        tags=["payments"],
    )
    wanted.incident.services.add(checkout)
    ActionItemFactory(postmortem=wanted)
    make_pm(incident=IncidentFactory(severity=severity("SEV3")), summary="The payment gateway timed out.")
    make_pm(incident=IncidentFactory(severity=severity("SEV1")), summary="Disk filled up.", tags=["payments"])
    client = as_user("outsider")
    params = {
        "q": "gateway",
        "severity": "SEV1",
        "service": "checkout",
        "cause": "deploy",
        "tags": "Payments",
        "open_actions": "true",
        "date_from": "2026-03-01",
        "date_to": "2026-03-31",
    }
    response = client.get(URL, params)
    assert response.status_code == 200
    assert page_ids(response) == [wanted.pk]
    assert b"<mark>gateway</mark>" in response.content
    assert page_ids(client.get(URL, {**params, "date_from": "2026-04-01"})) == []
    assert page_ids(client.get(URL, {**params, "open_actions": "false"})) == []


def test_team_and_repeat_filters(make_pm, people, as_user):
    team, users = people
    earlier = make_pm(summary="Cache stampede.")
    repeat = make_pm(summary="Cache stampede again.")
    RepeatLink.objects.create(incident=repeat.incident, earlier=earlier.incident, score=0.9, reason="Same cause")
    other = make_pm(summary="Cache stampede elsewhere.")
    other.teams.clear()
    client = as_user("outsider")
    assert page_ids(client.get(URL, {"q": "cache", "repeat": "true"})) == [repeat.pk]
    assert set(page_ids(client.get(URL, {"q": "cache", "team": "payments"}))) == {earlier.pk, repeat.pk}


def test_pagination_is_stable_with_equal_ranks(make_pm, as_user):
    pms = [make_pm(summary="Identical words about a timeout.") for _ in range(25)]
    client = as_user("outsider")
    first = page_ids(client.get(URL, {"q": "timeout"}))
    second = page_ids(client.get(URL, {"q": "timeout", "page": 2}))
    assert len(first) == 20 and len(second) == 5
    assert set(first) | set(second) == {pm.pk for pm in pms}
    assert first == page_ids(client.get(URL, {"q": "timeout"}))


def test_an_empty_query_lists_the_newest_published_first(make_pm, as_user):
    old = make_pm(summary="Old.")
    new = make_pm(summary="New.")
    type(old).objects.filter(pk=old.pk).update(published_at=timezone.now() - timedelta(days=30))
    assert page_ids(as_user("outsider").get(URL)) == [new.pk, old.pk]


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced quote',
        'payment "gateway',
        "- -- OR OR",
        '""',
        "OR",
        "-timeout",
        "x" * 10_000,
        "timeout " * 2_000,
        "time\x00out\x01\x1f\x7f",
        "\u202etimeout\u200b",
        "NEAR(timeout) AND * ^ : { } ( ) + col:timeout",
        "'; DROP TABLE postmortems_postmortem; --",
    ],
)
def test_malformed_queries_never_fail(make_pm, as_user, query):
    make_pm(summary="The timeout hit the payment gateway.")
    response = as_user("outsider").get(URL, {"q": query})
    # A NUL is refused for every page and endpoint alike (incidents.middleware), with a 400.
    assert response.status_code == (400 if "\x00" in query else 200)


def test_overlong_queries_say_what_happened(make_pm, as_user):
    make_pm(summary="The timeout hit.")
    client = as_user("outsider")
    assert b"first 500 characters" in client.get(URL, {"q": "timeout " + "x" * 10_000}).content


def test_control_characters_are_ignored(make_pm, people):
    pm = make_pm(summary="The timeout hit.")
    assert found(people[1]["outsider"], "time\x00out timeout\x07") == [pm.pk]


def test_drafts_are_found_only_by_their_authors_and_reviewers(make_pm, people):
    _, users = people
    draft = make_pm(status="draft", summary="Zanzibar outage draft.")
    in_review = make_pm(status="in_review", summary="Zanzibar outage in review.")
    for name in ("facilitator", "author", "reviewer"):
        assert set(found(users[name], "zanzibar")) == {draft.pk, in_review.pk}
    for name in ("teammate", "outsider"):
        assert found(users[name], "zanzibar") == []


@pytest.mark.parametrize("count", [5, 50])
def test_the_page_query_count_does_not_grow_with_the_results(make_pm, as_user, count, django_assert_max_num_queries):
    for n in range(count):
        pm = make_pm(summary=f"Timeout number {n}.", tags=["network"])
        pm.incident.services.add(ServiceFactory())
        ActionItemFactory(postmortem=pm)
    client = as_user("teammate")
    # session, user, the first pass (on PostgreSQL between two settings: the reader's insiders,
    # their documents with internal text that match; the reader's visibility, one list of the
    # restricted and unpublished postmortems they may read; the count, the window: on
    # PostgreSQL title-and-summary matches then the rest), the page, services, tags, snippets,
    # open action items, and the filter form's choices (severity, service, team, cause). The
    # synonym groups come from the cache (a cold one adds a query).
    synonym_table()
    with django_assert_max_num_queries(21):
        response = client.get(URL, {"q": "timeout", "tags": "network", "severity": "SEV2"})
    assert len(page_ids(response)) == min(count, 20)


def test_the_archive_needs_a_sign_in(client):
    assert client.get(URL).status_code == 302


def test_dates_filter_on_when_the_incident_happened(make_pm, as_user):
    march = make_pm(summary="March.", incident=IncidentFactory())
    later = T0 + timedelta(days=60)
    may = make_pm(
        summary="May.",
        incident=IncidentFactory(
            started_at=later, detected_at=later, acknowledged_at=later, declared_at=later, mitigated_at=later,
            resolved_at=later,
        ),
    )  # fmt: skip
    client = as_user("outsider")
    assert page_ids(client.get(URL, {"date_to": "2026-03-31"})) == [march.pk]
    assert page_ids(client.get(URL, {"date_from": "2026-04-01"})) == [may.pk]


def test_every_match_is_shown_once_across_the_rescoring_window(make_pm, people, monkeypatch):
    """The first RESCORE_WINDOW matches are re-ranked on all their text, the rest keep the
    first pass's order (on PostgreSQL: title and summary, then newest): either way every
    match appears exactly once, the count is exact and a title match comes first."""
    monkeypatch.setattr(search_results, "RESCORE_WINDOW", 3)
    title = make_pm(incident=IncidentFactory(title="Quokka outage"), summary="The brokers stalled.")
    bodies = [make_pm(summary="Routine deploy.", root_cause=f"A quokka chewed cable {n}.") for n in range(4)]
    results = search_postmortems(people[1]["outsider"], "quokka")
    shown = [pm.pk for start in range(0, 6, 2) for pm in results[start : start + 2]]
    assert results.count() == 5 and len(results) == 5
    assert sorted(shown) == sorted([title.pk, *(pm.pk for pm in bodies)])
    assert shown[0] == title.pk
    assert shown == [pm.pk for pm in results] == [pm.pk for pm in search_postmortems(people[1]["outsider"], "quokka")]
    if connection.vendor == "postgresql":
        # Body-only matches tie on title and summary: the window takes the newest two.
        assert set(shown[1:3]) == {bodies[3].pk, bodies[2].pk}
        assert shown[3:] == [bodies[1].pk, bodies[0].pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"payment gateway"', {"adjacent", "three"}),
        ('"gateway payment"', set()),
        ('"payment gateway timed"', {"three"}),
        ('"page of status"', {"stop word"}),
        ('"on-call rotation"', {"hyphen"}),
        ('"payment gateway" -timed', {"adjacent"}),
        ('"payment gateway" OR "status page"', {"adjacent", "three"}),
    ],
)
def test_phrases_match_adjacent_words_only(make_pm, people, query, expected):
    texts = {
        "adjacent": "Calls to the payment gateway failed.",
        "apart": "The payment was retried; the gateway was fine.",
        "three": "The payment gateway timed out twice.",
        "stop word": "Nobody read the page of status updates.",
        "hyphen": "The on-call rotation was short of people.",
    }
    pms = {name: make_pm(summary=text) for name, text in texts.items()}
    names = {pm.pk: name for name, pm in pms.items()}
    assert {names[pk] for pk in found(people[1]["outsider"], query)} == expected


def test_a_restricted_postmortem_leaves_outsiders_results_with_the_change_itself(
    make_pm, people, django_capture_on_commit_callbacks
):
    """The search document's copy of the visibility changes in the editor's transaction; the
    rest of the document is rebuilt after commit (not run here)."""
    team, users = people
    pm = make_pm(summary="The narwhal cluster fell over.")
    assert found(users["outsider"], "narwhal") == [pm.pk]
    with django_capture_on_commit_callbacks(execute=False):
        services.postmortem_update(
            postmortem=pm,
            user=users["facilitator"],
            data={"visibility": "restricted", "teams": [team]},
            expected_version=pm.version,
            amendment_note="Restricted to the team.",
        )
    assert search_postmortems(users["outsider"], "narwhal").count() == 0
    assert found(users["outsider"], "narwhal") == []
    assert found(users["teammate"], "narwhal") == [pm.pk]


def test_a_stale_search_document_never_shows_what_its_postmortem_hides(make_pm, people):
    """Documents copy the status and visibility for the first pass; the page is fetched
    through the postmortems' own rules, so a copy that lags behind shows nothing more."""
    _, users = people
    pm = make_pm(summary="The ocelot queue jammed.", visibility="restricted")
    assert found(users["outsider"], "ocelot") == []
    PostmortemSearchDocument.objects.filter(pk=pm.pk).update(visibility="organisation")
    assert found(users["outsider"], "ocelot") == []
    assert found(users["teammate"], "ocelot") == [pm.pk]


def test_a_search_matching_more_than_the_limit_says_so_and_pages_through_the_limit(make_pm, as_user, monkeypatch):
    monkeypatch.setattr(search_results, "COUNT_LIMIT", 3)
    for n in range(5):
        make_pm(summary=f"Timeout number {n}.")
    client = as_user("outsider")
    response = client.get(URL, {"q": "timeout", "page": 1})
    assert "More than 3 postmortems match; the first 3 are shown" in " ".join(response.content.decode().split())
    assert len(page_ids(response)) == 3
    assert response.context["page"].paginator.num_pages == 1
    response = client.get(URL, {"q": "timeout", "sort": "date"})
    assert len(page_ids(response)) == 3


# --- A search typed into the box is ranked (issue 11, item 4) ---------------------------------


def selected_sort(response) -> str:
    """The value the sort select shows, as the browser would submit it with the form."""
    select = re.search(r'<select[^>]*name="sort"[^>]*>(.*?)</select>', response.text, re.S).group(1)
    return re.search(r'<option value="([^"]*)" selected', select).group(1)


def test_a_search_typed_into_the_archive_box_is_ranked_by_relevance(make_pm, as_user):
    older_title_match = make_pm(incident=IncidentFactory(title="Kafka consumer lag"), summary="Consumers fell behind.")
    newer_body_match = make_pm(summary="Routine deploy.", root_cause="The kafka brokers ran out of disk.")
    type(older_title_match).objects.filter(pk=older_title_match.pk).update(
        published_at=timezone.now() - timedelta(days=30)
    )
    client = as_user("outsider")
    # The box is typed into on the archive's first page, and the form sends the select too.
    sort = selected_sort(client.get(URL))
    assert sort == "relevance"
    response = client.get(URL, {"q": "kafka", "sort": sort})
    assert page_ids(response) == [older_title_match.pk, newer_body_match.pk]
    assert selected_sort(response) == "relevance"
    assert "best matches first" in response.text
    # Without a search there is nothing to rank: newest first, and the page says so.
    listing = client.get(URL)
    assert page_ids(listing) == [newer_body_match.pk, older_title_match.pk]
    assert "newest first" in listing.text
    # Choosing newest first still works, and the select keeps the choice.
    by_date = client.get(URL, {"q": "kafka", "sort": "date"})
    assert page_ids(by_date) == [newer_body_match.pk, older_title_match.pk]
    assert selected_sort(by_date) == "date"


# --- Excluded words alone (issue 11, item 5) --------------------------------------------------


def test_excluded_words_alone_list_everything_but_their_matches(make_pm, people, as_user):
    in_title = make_pm(incident=IncidentFactory(title="Kafka consumer lag"), summary="Consumers fell behind.")
    in_section = make_pm(summary="Routine deploy.", root_cause="The kafka brokers ran out of disk.")
    in_phrase = make_pm(summary="The payment gateway timed out.")
    other = make_pm(summary="Redis failover took too long.")
    outsider = people[1]["outsider"]
    assert set(found(outsider, "-kafka")) == {in_phrase.pk, other.pk}
    assert set(found(outsider, '-kafka -"payment gateway"')) == {other.pk}
    assert found(outsider, "-kafka", order="date") == found(outsider, "-kafka", order="relevance")
    response = as_user("outsider").get(URL, {"q": "-kafka"})
    assert set(page_ids(response)) == {in_phrase.pk, other.pk}
    assert "Kafka consumer lag" not in response.text
    assert "2 postmortems match" in " ".join(response.text.split())
    assert in_title.pk and in_section.pk  # both left out above


def test_excluded_words_alone_look_only_at_text_the_reader_may_see(make_pm, people):
    _, users = people
    secret = make_pm(summary="Quokka outage.", root_cause="The xylophone vendor.", internal_sections=["root_cause"])
    plain = make_pm(summary="Quokka restart.")
    # The outsider may not read the root cause, so its word leaves nothing out for them.
    assert set(found(users["outsider"], "-xylophone")) == {secret.pk, plain.pk}
    assert found(users["teammate"], "-xylophone") == [plain.pk]
    assert found(users["admin"], "-xylophone") == [plain.pk]


# --- Snippets quote words, not Markdown syntax (issue 11, item 6) ----------------------------


def test_snippets_show_the_words_of_markdown_without_its_syntax(make_pm, as_user):
    make_pm(
        summary="## What happened\n\nThe **payment gateway** timed out; see [the runbook](https://runbooks.example/pay)"
        " and `retry_budget`.\n\n- _first_ retry\n- ~~second~~ retry",
    )
    for query in ("gateway", ""):
        response = as_user("outsider").get(URL, {"q": query})
        snippet = re.search(r'<p class="mb-1 snippet">(.*?)</p>', response.text, re.S).group(1)
        for syntax in ("**", "##", "](", "https://runbooks", "`", "~~", "_first_"):
            assert syntax not in snippet, (query, syntax, snippet)
        assert "What happened · The" in snippet
        assert "the runbook and retry_budget" in snippet
    assert "<mark>gateway</mark>" in as_user("outsider").get(URL, {"q": "gateway"}).text


def test_a_snippet_cut_inside_markdown_shows_no_stray_marks():
    from postmortems.search_index import MARK_END, MARK_START

    cut = f"… was **very {MARK_START}slow{MARK_END}** to [recover](https://x.example/a … ## Timeline"
    snippet = highlight(cut)
    assert snippet == "… was very <mark>slow</mark> to recover … Timeline"


# --- /api/v1/search/ ----------------------------------------------------------------------------

API_URL = reverse("api:search")


def test_the_search_api_answers_as_the_archive_page_does(make_pm, as_user):
    checkout = ServiceFactory(name="Checkout", slug="checkout")
    titled = make_pm(incident=IncidentFactory(title="Payment gateway timeouts"), summary="The gateway timed out.")
    titled.incident.services.add(checkout)
    make_pm(summary="A gateway in the office network failed.")
    client = as_user("outsider")
    page = client.get(URL, {"q": "gateway"})
    body = client.get(API_URL, {"q": "gateway"}).json()
    assert [r["id"] for r in body["results"]] == page_ids(page) == [titled.pk, body["results"][1]["id"]]
    first = body["results"][0]
    assert first["reference"] == titled.incident.reference and first["services"] == ["Checkout"]
    assert "<mark>gateway</mark>" in first["snippet"]
    assert body["count"] == 2 and body["order"] == "relevance" and body["next"] is None


def test_the_search_api_takes_the_archive_filters_and_refuses_ones_it_cannot_read(make_pm, as_user):
    wanted = make_pm(incident=IncidentFactory(severity=severity("SEV1")), summary="The gateway timed out.")
    make_pm(incident=IncidentFactory(severity=severity("SEV3")), summary="The gateway timed out.")
    client = as_user("outsider")
    assert [r["id"] for r in client.get(API_URL, {"q": "gateway", "severity": "SEV1"}).json()["results"]] == [wanted.pk]
    refused = client.get(API_URL, {"q": "gateway", "date_from": "yesterday"})
    assert refused.status_code == 400 and "date_from" in refused.json()["errors"]


def test_the_search_api_never_shows_what_the_reader_may_not_read(make_pm, as_user):
    make_pm(visibility="restricted", summary="Restricted zanzibar story.")
    make_pm(summary="Public quokka outage.", root_cause="The zanzibar vendor failed.", internal_sections=["root_cause"])
    body = as_user("outsider").get(API_URL, {"q": "zanzibar"}).json()
    assert body["results"] == [] and body["count"] == 0
    assert "zanzibar" not in str(as_user("outsider").get(API_URL, {"q": "quokka"}).json()).lower()
    assert len(as_user("teammate").get(API_URL, {"q": "zanzibar"}).json()["results"]) == 2


def test_the_search_api_needs_a_sign_in_and_is_in_the_schema(client):
    assert client.get(API_URL, {"q": "x"}).status_code == 403
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/search/"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"q", "sort", "page", "severity", "service", "team", "cause", "tags"} <= names


def test_the_search_api_query_count_does_not_grow_with_the_results(make_pm, as_user, django_assert_max_num_queries):
    for n in range(25):
        pm = make_pm(summary=f"Timeout number {n}.", tags=["network"])
        pm.incident.services.add(ServiceFactory())
    client = as_user("teammate")
    # session, user, the first pass (insiders, the reader's visibility list, the count and the
    # window; on PostgreSQL between two settings), the page, services, tags, snippets, open
    # action items. The synonym groups come from the cache.
    synonym_table()
    with django_assert_max_num_queries(16):
        body = client.get(API_URL, {"q": "timeout"}).json()
    assert len(body["results"]) == 20 and body["next"]
