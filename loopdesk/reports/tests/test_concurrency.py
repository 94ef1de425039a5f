"""Rollup upkeep under concurrency (PostgreSQL): services noting changes while several fold workers consume the
notes at the same time (SKIP LOCKED claims, per-ticket advisory locks) lose no count and count none twice; the
customer base of a day kept by two writers at once."""

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


def test_snapshot_customers_of_a_day_the_hourly_job_keeps_meanwhile_says_so_and_keeps_the_jobs_base(
        world: World) -> None:
    """`snapshot_customers --day D` deletes D's base and inserts its own; the job's insert, not yet committed, is
    invisible to the delete, so the command's insert waits for the job and then meets the unique day: it was an
    IntegrityError traceback."""
    import datetime as dt
    from io import StringIO

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from loopdesk.reports import customerbase
    from loopdesk.reports.models import CustomerBase

    world.customer()
    day = customerbase.today() - dt.timedelta(days=1)
    inserted, errors = threading.Event(), []

    def job() -> None:  # the hourly job's take(): its base inserted, the transaction committed a moment later
        try:
            with transaction.atomic():
                CustomerBase.objects.create(day=day, taken_at=timezone.now())
                inserted.set()
                threading.Event().wait(1.5)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            inserted.set()
            connection.close()

    worker = threading.Thread(target=job)
    worker.start()
    inserted.wait(10)
    out = StringIO()
    call_command("snapshot_customers", "--day", day.isoformat(), stdout=out)
    worker.join()
    assert errors == []
    assert "kept meanwhile by another run" in out.getvalue()
    assert CustomerBase.objects.filter(day=day).count() == 1  # the job's
