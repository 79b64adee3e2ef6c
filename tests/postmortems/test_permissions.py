"""The permission matrix: each named person × each page and action, on an organisation-wide
published, a restricted published, a draft and an in-review postmortem.

Not visible → 404 (whatever the action); visible but not allowed → 403.
"""

import pytest
from django.urls import reverse

from .conftest import ORG_SECRET, editor_data, make_postmortem

pytestmark = pytest.mark.django_db

PEOPLE = ["facilitator", "author", "reviewer", "member", "outsider", "admin"]

# Detail page: who reads which postmortem.
DETAIL = {
    "org_published": dict(facilitator=200, author=200, reviewer=200, member=200, outsider=200, admin=200),
    "restricted_published": dict(facilitator=200, author=200, reviewer=200, member=200, outsider=404, admin=200),
    "draft": dict(facilitator=200, author=200, reviewer=200, member=404, outsider=404, admin=200),
}

# Opening the editor: editors get it (published ones redirect to amend), other readers 403.
EDIT_GET = {
    "org_published": dict(facilitator=302, author=302, reviewer=403, member=403, outsider=403, admin=302),
    "restricted_published": dict(facilitator=302, author=302, reviewer=403, member=403, outsider=404, admin=302),
    "draft": dict(facilitator=200, author=200, reviewer=403, member=404, outsider=404, admin=200),
}

AMEND_GET = {
    "org_published": dict(facilitator=200, author=200, reviewer=403, member=403, outsider=403, admin=200),
    "restricted_published": dict(facilitator=200, author=200, reviewer=403, member=403, outsider=404, admin=200),
    "draft": dict(facilitator=302, author=302, reviewer=403, member=404, outsider=404, admin=302),
}


def make(people, which):
    if which == "org_published":
        return make_postmortem(people, status="published", root_cause=ORG_SECRET, internal_sections=["root_cause"])
    if which == "restricted_published":
        return make_postmortem(people, status="published", visibility="restricted")
    return make_postmortem(people, status=which)


def cases(table):
    return [(which, person, status) for which, row in table.items() for person, status in row.items()]


@pytest.mark.parametrize(("which", "person", "expected"), cases(DETAIL))
def test_detail(client, people, which, person, expected):
    postmortem = make(people, which)
    client.force_login(getattr(people, person))
    assert client.get(reverse("postmortems:detail", args=[postmortem.pk])).status_code == expected


@pytest.mark.parametrize(("which", "person", "expected"), cases(EDIT_GET))
def test_edit_get(client, people, which, person, expected):
    postmortem = make(people, which)
    client.force_login(getattr(people, person))
    assert client.get(reverse("postmortems:edit", args=[postmortem.pk])).status_code == expected


@pytest.mark.parametrize(("which", "person", "expected"), cases(AMEND_GET))
def test_amend_get(client, people, which, person, expected):
    postmortem = make(people, which)
    client.force_login(getattr(people, person))
    assert client.get(reverse("postmortems:amend", args=[postmortem.pk])).status_code == expected


@pytest.mark.parametrize(
    ("person", "expected"),
    [("facilitator", 302), ("author", 302), ("admin", 302), ("reviewer", 403), ("member", 404), ("outsider", 404)],
)
def test_edit_post_on_a_draft(client, people, person, expected):
    postmortem = make_postmortem(people)
    client.force_login(getattr(people, person))
    response = client.post(reverse("postmortems:edit", args=[postmortem.pk]), editor_data(postmortem, summary="New"))
    assert response.status_code == expected
    postmortem.refresh_from_db()
    assert (postmortem.summary == "New") == (expected == 302)


@pytest.mark.parametrize(
    ("which", "person", "expected"),
    [
        ("org_published", "facilitator", 302),
        ("org_published", "author", 302),
        ("org_published", "admin", 302),
        ("org_published", "reviewer", 403),
        ("org_published", "member", 403),
        ("org_published", "outsider", 403),
        ("restricted_published", "member", 403),
        ("restricted_published", "outsider", 404),
    ],
)
def test_amend_post(client, people, which, person, expected):
    postmortem = make(people, which)
    client.force_login(getattr(people, person))
    data = editor_data(postmortem, lessons="Amended lesson", amendment_note="Typo")
    response = client.post(reverse("postmortems:amend", args=[postmortem.pk]), data)
    assert response.status_code == expected
    postmortem.refresh_from_db()
    assert (postmortem.lessons == "Amended lesson") == (expected == 302)


@pytest.mark.parametrize(
    ("person", "expected", "moved"),
    [
        ("facilitator", 302, True),
        ("author", 302, True),
        ("admin", 302, True),
        ("reviewer", 403, False),
        ("member", 404, False),
        ("outsider", 404, False),
    ],
)
def test_submit(client, people, person, expected, moved):
    postmortem = make_postmortem(people)
    client.force_login(getattr(people, person))
    assert client.post(reverse("postmortems:submit", args=[postmortem.pk])).status_code == expected
    postmortem.refresh_from_db()
    assert (postmortem.status == "in_review") == moved


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ("reviewer", 302),
        ("facilitator", 403),
        ("author", 403),
        ("admin", 403),  # admins edit and publish; reviewing is for the named reviewers
        ("member", 404),
        ("outsider", 404),
    ],
)
def test_review(client, people, person, expected):
    postmortem = make_postmortem(people, status="in_review")
    client.force_login(getattr(people, person))
    response = client.post(reverse("postmortems:review", args=[postmortem.pk]), {"decision": "approve"})
    assert response.status_code == expected
    assert postmortem.reviews.exists() == (expected == 302)


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ("facilitator", 302),
        ("admin", 302),
        ("author", 403),
        ("reviewer", 403),
        ("member", 404),
        ("outsider", 404),
    ],
)
def test_publish(client, people, person, expected):
    from postmortems.services import postmortem_review

    postmortem = make_postmortem(people, status="in_review")
    postmortem_review(postmortem=postmortem, user=people.reviewer, decision="approve")
    client.force_login(getattr(people, person))
    assert client.post(reverse("postmortems:publish", args=[postmortem.pk])).status_code == expected
    postmortem.refresh_from_db()
    assert (postmortem.status == "published") == (expected == 302)


@pytest.mark.parametrize("url_name", ["detail", "edit", "amend", "submit", "review", "publish"])
def test_signed_out_visitors_are_sent_to_sign_in(client, draft, url_name):
    url = reverse(f"postmortems:{url_name}", args=[draft.pk])
    response = client.post(url) if url_name in ("submit", "review", "publish") else client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_buttons_follow_permissions(client, people, in_review):
    client.force_login(people.reviewer)
    page = client.get(in_review.get_absolute_url()).text
    assert 'id="review-form"' in page
    assert reverse("postmortems:publish", args=[in_review.pk]) not in page
    assert reverse("postmortems:edit", args=[in_review.pk]) not in page
    client.force_login(people.facilitator)
    page = client.get(in_review.get_absolute_url()).text
    assert 'id="review-form"' not in page
    assert reverse("postmortems:publish", args=[in_review.pk]) in page
    assert reverse("postmortems:edit", args=[in_review.pk]) in page
    assert "No reviewer has approved" in page


def test_an_internal_section_is_redacted_for_readers_outside_the_teams(client, people, org_published):
    client.force_login(people.outsider)
    page = client.get(org_published.get_absolute_url()).text
    assert ORG_SECRET not in page
    assert "failover key expired" not in page
    assert "This section is internal to Payments." in page
    for person in ("member", "facilitator", "reviewer", "admin"):
        client.force_login(getattr(people, person))
        page = client.get(org_published.get_absolute_url()).text
        assert "failover key expired" in page, person
        assert "This section is internal to" not in page


def test_the_list_shows_only_what_each_person_may_read(client, people, org_published, restricted_published, draft):
    def listed(person):
        client.force_login(getattr(people, person))
        page = client.get(reverse("postmortems:list")).text
        return {pm.pk for pm in (org_published, restricted_published, draft) if pm.get_absolute_url() in page}

    assert listed("outsider") == {org_published.pk}
    assert listed("member") == {org_published.pk, restricted_published.pk}
    assert listed("reviewer") == {org_published.pk, restricted_published.pk, draft.pk}
    assert listed("admin") == {org_published.pk, restricted_published.pk, draft.pk}
