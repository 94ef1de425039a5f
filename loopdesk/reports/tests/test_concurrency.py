"""Rollup upkeep under concurrency (PostgreSQL): services noting changes while several fold workers consume the
notes at the same time (SKIP LOCKED claims, per-ticket advisory locks) lose no count and count none twice."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from loopdesk.conftest import T0, World
from loopdesk.reports import rollups
from loopdesk.tickets import services as s

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_tickets_and_folds_on_the_same_rollup_rows_are_all_counted_once(world: World) -> None:
    assert connection.vendor == "postgresql"
    customers = [world.customer(msisdn=f"1370000{i:04d}") for i in range(24)]
    barrier = threading.Barrier(6)
    errors: list[Exception] = []
    writing = threading.Event()
    writing.set()

    def work(chunk: list) -> None:
        try:
            barrier.wait()
            for customer in chunk:
                agent = world.user("agent")
                t = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs(customer=customer))
                s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["netmaint"], now=T0)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    def fold() -> None:
        try:
            barrier.wait()
            while writing.is_set():
                rollups.fold_pending(batch_size=3)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    writers = [threading.Thread(target=work, args=(customers[i::4],)) for i in range(4)]
    folders = [threading.Thread(target=fold) for _ in range(2)]
    for t in writers + folders:
        t.start()
    for t in writers:
        t.join()
    writing.clear()
    for t in folders:
        t.join()
    assert errors == []
    rollups.fold_pending()
    assert rollups.pending_count() == 0
    daily = rollups.stored_rollups()
    assert sum(row.get("created", 0) for row in daily.values()) == 24
    assert sum(row.get("dispatched", 0) for row in daily.values()) == 24
    assert rollups.check().ok
