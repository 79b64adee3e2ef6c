"""Renaming a service reindexes the postmortems that carry it in a real Celery worker, not in
the request that saved the rename."""

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from postmortems import tasks
from postmortems.search import search_postmortems
from tests.factories import IncidentFactory, PostmortemFactory, ServiceFactory, UserFactory
from tests.workers import wait_for, worker_on_own_queue

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_a_renamed_service_is_found_by_its_new_name_once_the_worker_has_reindexed(tmp_path, monkeypatch):
    reader = UserFactory(username="reader")
    service = ServiceFactory(name="Ledger", slug="ledger")
    carriers = []
    for _ in range(3):
        incident = IncidentFactory()
        incident.services.add(service)
        carriers.append(
            PostmortemFactory(
                incident=incident, status="published", published_at=timezone.now(), summary="Slow writes."
            )
        )
    PostmortemFactory(status="published", published_at=timezone.now(), summary="Unrelated.")

    def found(query):
        return sorted(pm.pk for pm in search_postmortems(reader, query))

    assert found("ledger") == sorted(pm.pk for pm in carriers)
    log = tmp_path / "worker.log"
    with worker_on_own_queue(log, var_dir=settings.VAR_DIR, broker_url=settings.CELERY_BROKER_URL) as queue:
        real_apply = tasks.reindex_postmortems.apply_async
        monkeypatch.setattr(tasks.reindex_postmortems, "delay", lambda *args: real_apply(args, queue=queue))
        with transaction.atomic():
            service.name = "Abacus"
            service.save()
        wait_for(lambda: found("abacus") == sorted(pm.pk for pm in carriers), "the reindex", log)
    assert found('"ledger"') == []
    # The worker did it, not the request: the task ran there.
    assert "postmortems.tasks.reindex_postmortems" in log.read_text()
