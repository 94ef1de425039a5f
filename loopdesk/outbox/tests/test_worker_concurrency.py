"""Workers delivering at the same moment over real concurrent connections (PostgreSQL): SKIP LOCKED gives each
its own rows, so no message is claimed twice and none is left behind."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from loopdesk.outbox import worker
from loopdesk.outbox.models import OutboxMessage

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _claim_side_by_side(workers: int) -> list[list[int]]:
    """Each worker claims batches (and sends nothing) until it finds none; the ids each one claimed."""
    claimed: list[list[int]] = [[] for _ in range(workers)]
    barrier = threading.Barrier(workers)

    def run(i: int) -> None:
        try:
            barrier.wait()
            while rows := worker.claim_due(batch=10, lease_seconds=600):
                claimed[i].extend(r.pk for r in rows)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return claimed


def test_concurrent_workers_claim_disjoint_rows() -> None:
    assert connection.vendor == "postgresql"
    past = timezone.now() - dt.timedelta(minutes=1)
    OutboxMessage.objects.bulk_create(
        OutboxMessage(channel="t", topic="t", dedupe_key=f"c{i}", payload={}, not_before=past, created_at=past)
        for i in range(600)
    )
    claimed = _claim_side_by_side(4)
    everything = [pk for ids in claimed for pk in ids]
    assert len(everything) == len(set(everything)) == 600  # each row claimed by exactly one worker
    assert sum(1 for ids in claimed if ids) >= 2  # the workers really ran side by side
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


def test_concurrent_workers_never_hold_two_messages_of_one_ticket_for_one_subscriber() -> None:
    """Only the first undelivered message of each (ticket, subscriber) is claimable, whichever worker looks: the
    later ones wait until it is delivered, so they cannot overtake it in another worker."""
    past = timezone.now() - dt.timedelta(minutes=1)
    OutboxMessage.objects.bulk_create(
        OutboxMessage(channel="t", topic="t", dedupe_key=f"t{ticket}-s{sub}-e{event}", payload={}, ticket_id=ticket,
                      target=f"sub{sub}", not_before=past, created_at=past)
        for event in range(5) for ticket in range(60) for sub in range(2)
    )
    claimed = _claim_side_by_side(4)
    everything = [pk for ids in claimed for pk in ids]
    keys = sorted(OutboxMessage.objects.filter(pk__in=everything).values_list("dedupe_key", flat=True))
    assert keys == sorted(f"t{ticket}-s{sub}-e0" for ticket in range(60) for sub in range(2))
    assert sum(1 for ids in claimed if ids) >= 2
