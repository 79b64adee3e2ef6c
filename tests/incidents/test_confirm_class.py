"""The incident page's "Confirm" button beside a failure class suggested from the text."""

import pytest
from django.urls import reverse

from incidents.models import FailureClass
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

TITLE = "Sign-in down: TLS certificate expired"
BUTTON = ">Confirm Expired certificate or credential</button>"


@pytest.fixture
def commander():
    return UserFactory(username="ike")


@pytest.fixture
def incident(commander):
    return IncidentFactory(
        title=TITLE, summary="The certificate on the login host ran out overnight.", commander=commander
    )


def _confirm(client, incident, slug):
    return client.post(reverse("incidents:confirm-class", args=[incident.reference]), {"failure_class": slug})


def test_the_commander_confirms_a_suggested_class_in_one_click(
    client, commander, incident, django_capture_on_commit_callbacks
):
    client.force_login(commander)
    assert BUTTON in client.get(incident.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = _confirm(client, incident, "expired-credential")
    assert response.status_code == 302
    assert list(incident.failure_classes.values_list("slug", flat=True)) == ["expired-credential"]
    # Repeat detection runs again once the change commits (test_repeat_triggers runs it in a worker).
    assert any("schedule_repeat_detection" in callback.__qualname__ for callback in callbacks)
    page = client.get(response["Location"]).content.decode()
    assert "Confirmed the failure class Expired certificate or credential for" in page
    assert "Expired certificate or credential</span>" in page and BUTTON not in page


def test_a_reader_who_may_not_edit_sees_the_suggestion_without_a_button_and_cannot_post(client, incident):
    reader = UserFactory(username="rita")
    client.force_login(reader)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Suggested from the text: Expired certificate or credential" in page and BUTTON not in page
    assert _confirm(client, incident, "expired-credential").status_code == 403
    assert not incident.failure_classes.exists()


def test_an_unknown_class_is_refused_with_a_message_and_changes_nothing(client, commander, incident):
    dns = FailureClass.objects.get(slug="dns")
    incident.failure_classes.set([dns])
    client.force_login(commander)
    response = _confirm(client, incident, "no-such-class")
    page = client.get(response["Location"]).content.decode()
    assert "That failure class does not exist (any more): nothing was changed." in page
    assert list(incident.failure_classes.all()) == [dns]


def test_confirming_twice_keeps_one_class_and_writes_nothing_the_second_time(
    client, commander, incident, django_capture_on_commit_callbacks
):
    client.force_login(commander)
    _confirm(client, incident, "expired-credential")
    incident.refresh_from_db()
    updated = incident.updated_at
    with django_capture_on_commit_callbacks() as callbacks:
        _confirm(client, incident, "expired-credential")
    incident.refresh_from_db()
    assert list(incident.failure_classes.values_list("slug", flat=True)) == ["expired-credential"]
    assert incident.updated_at == updated and callbacks == []


def test_only_a_post_confirms(client, commander, incident):
    client.force_login(commander)
    assert client.get(reverse("incidents:confirm-class", args=[incident.reference])).status_code == 405
    assert not incident.failure_classes.exists()
