"""Failure classes suggested from an incident's text, and the migration that improved the seeded
keyword rules without overwriting an admin's edits."""

import importlib

import pytest
from django.apps import apps

from incidents.models import FailureClass
from incidents.repeats import DEFAULT_FAILURE_CLASSES, Taxonomy, infer_classes, suggested_classes

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
        ("The private key was exposed and rotated as a precaution; the key had not expired.", "expired-credential"),
        (
            "Stolen tokens were used to pull repositories. Not an expiry: live credentials were taken.",
            "expired-credential",
        ),
        ("The reporting tool's licence expired; renewal waited on a purchase order.", "expired-credential"),
        ("The kernel-mode sensor read past the end of an array.", "os-kernel-update"),
        ("New code was copied to the order routing servers, but one was missed.", "routing-bgp"),
        ("A TLS configuration change removed the cipher suites old phones support.", "config-push"),
    ],
)
def test_words_in_passing_or_denied_suggest_no_class(text, slug):
    assert slug not in infer_classes({"root_cause": text}, Taxonomy.default())


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
