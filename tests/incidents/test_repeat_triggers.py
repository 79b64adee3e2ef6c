"""Repeat detection runs when an incident is declared, when its postmortem is published and nightly
(the beat schedule's task, sent as beat sends it), in a real Celery worker, each suggestion once
(one link, one ledger entry); ``run_job repeats`` by hand.

The worker is a subprocess started as the Procfile starts it (threads pool) on the configured
broker (kombu's filesystem transport under this run's VAR_DIR by default, Redis when
CELERY_BROKER_URL says so), on a queue of its own, and opens the test database.
"""

import io
from datetime import timedelta
from typing import NamedTuple

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from actions.models import Notification
from config import schedule
from config.celery import app
from incidents import services as incident_services
from incidents import tasks
from incidents.models import FailureClass, Incident, RepeatLink
from incidents.repeats import DEFAULT_FAILURE_CLASSES
from postmortems import services as postmortem_services
from tests.factories import ActionItemFactory, IncidentFactory, PostmortemFactory, ServiceFactory, UserFactory, severity
from tests.workers import wait_for, worker_on_own_queue

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


class Worker(NamedTuple):
    log: object
    queue: str


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """A worker on a queue of its own; the app's ``detect_repeats.delay`` sends there (the broker is
    the one this test process is configured with, so other runs' workers never take the task)."""
    log = tmp_path / "worker.log"
    env = {"EMAIL_URL": "consolemail://"}
    with worker_on_own_queue(log, var_dir=settings.VAR_DIR, broker_url=settings.CELERY_BROKER_URL, env=env) as queue:
        real_apply = tasks.detect_repeats.apply_async
        monkeypatch.setattr(tasks.detect_repeats, "delay", lambda *args: real_apply(args, queue=queue))
        yield Worker(log, queue)


EXPIRED = "The TLS certificate of the login service expired; it was renewed by hand every year."


@pytest.fixture
def taxonomy():
    """The seeded failure classes (a transactional test's flush removes what migrations seeded)."""
    for name, slug, keywords in DEFAULT_FAILURE_CLASSES:
        FailureClass.objects.get_or_create(slug=slug, defaults={"name": name, "keywords": keywords})


@pytest.fixture
def earlier(taxonomy):
    """A published incident of another team, years ago, with an action item that never shipped."""
    started = timezone.now() - timedelta(days=4 * 365)
    incident = IncidentFactory(
        title="Login broken: certificate expired",
        started_at=started,
        detected_at=started + timedelta(minutes=5),
        declared_at=started + timedelta(minutes=10),
    )
    incident.services.add(ServiceFactory(name="login-web"))
    postmortem = PostmortemFactory(
        incident=incident, status="published", published_at=started + timedelta(days=3), root_cause=EXPIRED
    )
    ActionItemFactory(postmortem=postmortem, title="Automate certificate renewal with ACME", status="open")
    return incident


def _links(incident) -> list[tuple[int, str]]:
    return list(RepeatLink.objects.filter(incident=incident).values_list("earlier_id", "state"))


def test_declaring_a_repeat_shows_looks_like_with_the_items_that_never_shipped(worker, earlier, client):
    commander = UserFactory(username="ike")
    client.force_login(commander)
    response = client.post(
        reverse("incidents:declare"),
        {
            "title": "Mobile API down: SSL cert expired",
            "summary": "Every app call fails the TLS handshake; the API's certificate has expired.",
            "severity": severity("SEV1").pk,
            "status": "investigating",
            "trigger": "unknown",
            "declared_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "commander": commander.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    later = Incident.objects.exclude(pk=earlier.pk).get()

    wait_for(lambda: _links(later) == [(earlier.pk, "suggested")], "the worker to flag the repeat", worker.log)
    page = client.get(later.get_absolute_url()).content.decode()
    assert f'Looks like <a href="{earlier.get_absolute_url()}">{earlier.reference}</a>' in page
    assert "Automate certificate renewal with ACME" in page
    assert "Expired certificate or credential" in page  # the class it was matched on, and suggested


def test_confirming_a_class_on_the_incident_page_flags_the_repeat_the_text_alone_missed(worker, taxonomy, client):
    # Two write-ups that share no telling word; their confirmed class makes them the same failure.
    checkout = ServiceFactory(name="checkout-web")
    started = timezone.now() - timedelta(days=3 * 365)
    first = IncidentFactory(title="Checkout down", started_at=started, declared_at=started + timedelta(minutes=5))
    first.services.add(checkout)
    first.failure_classes.add(FailureClass.objects.get(slug="dns"))
    commander = UserFactory(username="ike")
    later = IncidentFactory(title="Basket page errors", summary="Clients saw errors for an hour.", commander=commander)
    later.services.add(checkout)
    assert incident_services.repeat_detect(incident=later) == []  # as at declaration: the text finds nothing
    assert _links(later) == []

    client.force_login(commander)
    response = client.post(reverse("incidents:confirm-class", args=[later.reference]), {"failure_class": "dns"})
    assert response.status_code == 302

    wait_for(lambda: _links(later) == [(first.pk, "suggested")], "the worker to flag the repeat", worker.log)
    page = client.get(later.get_absolute_url()).content.decode()
    assert f'Looks like <a href="{first.get_absolute_url()}">{first.reference}</a>' in page


def test_publishing_flags_the_repeat_once_and_the_nightly_run_adds_nothing(worker, earlier):
    # Declared with words that match nothing; only the postmortem says what happened.
    later = IncidentFactory(title="Partner integrations failing", declared_at=timezone.now() - timedelta(days=2))
    facilitator = UserFactory(username="fay", email="fay@example.com")
    reviewer = UserFactory(username="rex")
    postmortem = PostmortemFactory(
        incident=later,
        facilitator=facilitator,
        status="in_review",
        submitted_at=timezone.now(),
        summary="Partner calls failed for two hours.",
        root_cause="The client certificate we present to partners expired; its renewal was manual.",
    )
    postmortem.reviewers.add(reviewer)
    postmortem_services.postmortem_review(postmortem=postmortem, user=reviewer, decision="approve")
    assert _links(later) == []

    postmortem_services.postmortem_publish(postmortem=postmortem, user=facilitator)

    wait_for(lambda: _links(later) == [(earlier.pk, "suggested")], "the worker to flag the repeat", worker.log)
    wait_for(
        lambda: Notification.objects.filter(kind=Notification.Kind.REPEAT).exists(),
        "the facilitator's notice",
        worker.log,
    )
    out = io.StringIO()
    call_command("run_job", "repeats", stdout=out)  # the nightly job, by hand
    assert "repeats:" in out.getvalue()
    assert _links(later) == [(earlier.pk, "suggested")]
    notices = Notification.objects.filter(kind=Notification.Kind.REPEAT)
    assert list(notices.values_list("recipient__username", "subject_key")) == [("fay", later.reference)]


def test_the_nightly_schedule_flags_a_repeat_that_nothing_flagged_by_day(worker, earlier):
    # Changed yesterday, but nothing ran then (say the worker was down): only the night catches it.
    later = IncidentFactory(title="Partner integrations failing", declared_at=timezone.now() - timedelta(days=1))
    PostmortemFactory(incident=later, root_cause="The client certificate we present to partners expired.")
    assert _links(later) == []
    schedule.install_schedule()
    nightly = PeriodicTask.objects.select_related("crontab").get(name="Flag repeat-class incidents")
    assert (nightly.crontab.hour, nightly.crontab.minute) == ("2", "30")

    app.send_task(nightly.task, queue=worker.queue)  # what beat sends at 02:30

    wait_for(lambda: _links(later) == [(earlier.pk, "suggested")], "the nightly run to flag the repeat", worker.log)
    notices = Notification.objects.filter(kind=Notification.Kind.REPEAT, subject_key=later.reference)
    wait_for(notices.exists, "the facilitator's notice", worker.log)
    app.send_task(nightly.task, queue=worker.queue)  # the next night
    wait_for(lambda: _runs(worker, nightly.task) == 2, "the second night's run", worker.log)
    assert _links(later) == [(earlier.pk, "suggested")]
    assert notices.count() == 1


def _runs(worker: Worker, task: str) -> int:
    """How many runs of ``task`` the worker has finished (its log says so)."""
    return sum(1 for line in worker.log.read_text().splitlines() if f"Task {task}[" in line and "succeeded" in line)
