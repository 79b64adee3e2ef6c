"""Celery tasks for postmortems: search-index upkeep too large for the request that caused it."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=30, max_retries=5)
def reindex_postmortems(pks: list[int]) -> int:
    """Rebuild the search documents of the postmortems ``pks`` (in chunks); returns how many."""
    from .models import Postmortem
    from .search_index import reindex_in_chunks

    return reindex_in_chunks(Postmortem.objects.filter(pk__in=pks))
