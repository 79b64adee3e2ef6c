"""Failure classes suggested from an incident's text, and the migration that improved the seeded
keyword rules without overwriting an admin's edits."""

import importlib
import io
import json

import pytest
from django.apps import apps
from django.core.management import call_command

from incidents.class_model import ClassModel, default_model, using
from incidents.models import FailureClass
from incidents.repeats import DEFAULT_FAILURE_CLASSES, Taxonomy, infer_classes, suggested_classes
from tests.factories import IncidentFactory, UserFactory

improved = importlib.import_module("incidents.migrations.0008_failure_class_keywords")


def _suggested(text: str) -> list[str]:
    return suggested_classes({"root_cause": text}, Taxonomy.default())


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("A content update was sent to all online sensors at once and they crashed.", "config-push"),
        ("The rule file is regenerated and distributed to the whole network every few minutes.", "config-push"),
        (
            "A database software upgrade introduced a fault; the new version stalled primary elections.",
            "deploy-regression",
        ),
        ("An engineer rm'd the data directory on the primary by mistake.", "data-deletion"),
        ("Adding servers pushed every front end over the maximum number of OS threads.", "capacity"),
        ("The payment processor had an outage and every checkout call to it timed out.", "dependency-outage"),
        ("The kernel update shipped with the new image broke the network driver.", "os-kernel-update"),
    ],
)
def test_paraphrases_of_a_failure_mode_suggest_its_class(text, slug):
    assert slug in _suggested(text)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        # Since session 7's third round: the labelled incidents most like it are about keys, and most of
        # those expired, so the neighbours vote for expiry (0.22 against the bar of 0.2).
        pytest.param(
            "The private key was exposed and rotated as a precaution; the key had not expired.",
            "expired-credential",
            marks=pytest.mark.xfail(strict=True, reason="the neighbours' vote takes a key incident for an expiry"),
        ),
        (
            "Stolen tokens were used to pull repositories. Not an expiry: live credentials were taken.",
            "expired-credential",
        ),
        # The rules leave licences out (repeat_pairs.jsonl's n14 calls a licence expiry no repeat
        # of a certificate's). The model from four sets leaned that way under its suggestion bar; the
        # one from five sets, with "lapse" and "end date" read as expiry, gives it 0.15 (bar 0.12).
        pytest.param(
            "The reporting tool's licence expired; renewal waited on a purchase order.",
            "expired-credential",
            marks=pytest.mark.xfail(strict=True, reason="the learned class model takes any expiry for a credential's"),
        ),
        ("The kernel-mode sensor read past the end of an array.", "os-kernel-update"),
        ("New code was copied to the order routing servers, but one was missed.", "routing-bgp"),
        # The labelled incidents call most configuration changes config pushes: a strict xfail until
        # session 7; the neighbours' vote (shrunk when they are barely alike) leaves it out.
        ("A TLS configuration change removed the cipher suites old phones support.", "config-push"),
    ],
)
def test_words_in_passing_or_denied_suggest_no_class(text, slug):
    assert slug not in _suggested(text)


def test_a_denied_word_leaves_its_class_weaker_than_a_stated_one():
    denied = infer_classes({"root_cause": "The key had not expired; it was revoked by mistake."}, Taxonomy.default())
    stated = infer_classes({"root_cause": "The key had expired; nobody renewed it."}, Taxonomy.default())
    assert denied.get("expired-credential", 0.0) < stated["expired-credential"]


@pytest.mark.django_db
def test_the_seeded_rules_are_the_built_in_ones():
    seeded = dict(FailureClass.objects.values_list("slug", "keywords"))
    assert seeded == {slug: keywords for _, slug, keywords in DEFAULT_FAILURE_CLASSES}


@pytest.mark.django_db
def test_the_migration_improves_the_seeded_rules_and_keeps_an_admins_edit():
    slug, seeded, now = improved.KEYWORDS[0]
    other_slug, other_seeded, _ = improved.KEYWORDS[1]
    FailureClass.objects.filter(slug=slug).update(keywords=seeded)
    FailureClass.objects.filter(slug=other_slug).update(keywords="our own rule + edited")

    improved.improve(apps, None)

    assert FailureClass.objects.get(slug=slug).keywords == now
    assert FailureClass.objects.get(slug=other_slug).keywords == "our own rule + edited"
    improved.restore(apps, None)
    assert FailureClass.objects.get(slug=slug).keywords == seeded


# Written for these tests (in no benchmark set), in words no keyword rule of their class matches.
UNSEEN_WORDING = [
    (
        # A strict xfail until session 6 (deploy regression 0.12 over expired credential 0.10); "end date"
        # now reads as an expiry, and the model from five sets gives expired credential 0.22.
        "The signing certificate on the payment gateway reached its end date over the weekend and nobody had "
        "put a new one in place.",
        "expired-credential",
    ),
    ("A utility feed dropped and the backup generators never started, so the whole hall went dark.", "hardware-power"),
    # These two were strict xfails until session 7 (retry storm second to deploy regression; DNS first
    # but under the bar); the neighbours' vote suggests both.
    (
        "When the cache came back cold, every client hammered the backend again and again with no backoff until "
        "it fell over.",
        "retry-storm",
    ),
    ("Lookups of our own hostnames failed for every customer because the zone was published empty.", "dns"),
    (
        "Our carrier started announcing our address space to its peers and traffic went to the wrong network.",
        "routing-bgp",
    ),
]


@pytest.mark.parametrize(("text", "slug"), UNSEEN_WORDING)
def test_a_failure_mode_in_words_no_rule_knows_is_suggested_by_the_learned_model(text, slug):
    with using(None):
        assert slug not in _suggested(text)  # the keyword rules alone miss it
    assert _suggested(text)[:1] == [slug]


def test_a_text_about_no_failure_mode_suggests_nothing():
    assert _suggested("The team met on Tuesday to agree the colours of the weekly dashboard.") == []


def test_a_class_the_admin_adds_is_suggested_by_its_keyword_rules_alone():
    rows = [(name, slug, keywords) for name, slug, keywords in DEFAULT_FAILURE_CLASSES]
    known = Taxonomy.from_rows([*rows, ("Cache stampede", "cache-stampede", "cache + stampede|cold start")])
    text = "The cache stampede after the cold start took the catalogue down."
    assert "cache-stampede" in suggested_classes({"root_cause": text}, known)


def test_the_shipped_weights_are_the_ones_the_command_learns_from_the_development_sets(tmp_path):
    out = tmp_path / "weights.json"
    call_command("train_failure_classes", "--output", str(out), stdout=io.StringIO())
    assert ClassModel.from_json(json.loads(out.read_text())) == default_model()


@pytest.mark.django_db
# A strict xfail until session 7 (routing first, but under the bar); the neighbours' vote suggests it.
def test_the_incident_page_suggests_a_class_told_in_new_words(client):
    user = UserFactory(username="ike", is_staff=True, is_superuser=True)
    incident = IncidentFactory(
        title="Our traffic went to the wrong network", summary=UNSEEN_WORDING[4][0], commander=user
    )
    client.force_login(user)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert ">Confirm Routing or BGP</button>" in page
