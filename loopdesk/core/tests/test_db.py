"""Planner statistics: `refresh_statistics` (ANALYZE) really records the tables' statistics."""

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
