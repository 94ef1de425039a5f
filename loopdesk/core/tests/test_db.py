"""Database helpers: `refresh_statistics` (ANALYZE) really records the tables' statistics; `insert_unless_exists`."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import connection

from loopdesk.core.db import refresh_statistics
from loopdesk.tickets.services import do_create_ticket


def _ticket_rows_known_to_planner() -> float:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'tickets_ticket'")
            return float(cursor.fetchone()[0])
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if not cursor.fetchone()[0]:
            return -1.0
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'tickets_ticket' AND idx = 'tkt_fr_open'")
        row = cursor.fetchone()
        return float(row[0].split()[0]) if row else -1.0


def test_refresh_statistics_records_the_ticket_table(world: Any, capsys: Any) -> None:
    agent = world.user("agent")
    for _ in range(3):
        do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    assert _ticket_rows_known_to_planner() < 3
    assert refresh_statistics() >= 0
    assert _ticket_rows_known_to_planner() >= 3
    call_command("refresh_statistics")
    assert "Planner statistics refreshed" in capsys.readouterr().out


def test_statistics_are_refreshed_nightly_by_a_registered_task(world: Any) -> None:
    from loopdesk.celery import app, periodic_jobs

    job = periodic_jobs()["db-statistics"]
    app.loader.import_default_modules()
    task = app.tasks[job["task"]]
    do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    assert task.apply().get() >= 0
    assert _ticket_rows_known_to_planner() >= 1


# --- insert_unless_exists ----------------------------------------------------------------------------------


def test_insert_unless_exists_inserts_once_and_skips_the_duplicate_without_a_savepoint(world: Any) -> None:
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from loopdesk.core.db import insert_unless_exists
    from loopdesk.followup.models import StaffAlert

    agent, now = world.user("agent"), timezone.now()
    first = StaffAlert(user=agent, kind="escalated", occasion="occ:1", message="第一条", created_at=now)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert insert_unless_exists(first, ["user", "occasion"]) is True
        again = StaffAlert(user=agent, kind="escalated", occasion="occ:1", message="第二条", created_at=now)
        assert insert_unless_exists(again, ["user", "occasion"]) is False
        # The transaction is still usable after the skipped duplicate, and both calls were one statement each.
        other = StaffAlert(user=agent, kind="escalated", occasion="occ:2", message="另一条", created_at=now)
        assert insert_unless_exists(other, ["user", "occasion"]) is True
    assert len(queries) == 3 and not any("SAVEPOINT" in q["sql"].upper() for q in queries)
    assert first.pk and other.pk and again.pk is None and not first._state.adding
    assert sorted(StaffAlert.objects.values_list("occasion", "message")) == [("occ:1", "第一条"), ("occ:2", "另一条")]
    # The same occasion for someone else is not a duplicate.
    assert insert_unless_exists(StaffAlert(user=world.user("dispatcher"), kind="escalated", occasion="occ:1",
                                           message="他人", created_at=now), ["user", "occasion"]) is True


def test_insert_unless_exists_raises_errors_other_than_the_duplicate(world: Any) -> None:
    import pytest
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from loopdesk.core.db import insert_unless_exists
    from loopdesk.followup.models import StaffAlert

    broken = StaffAlert(user=world.user("agent"), kind="escalated", occasion="occ:x", message=None,  # NOT NULL
                        created_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_unless_exists(broken, ["user", "occasion"])
    assert not StaffAlert.objects.filter(occasion="occ:x").exists()
