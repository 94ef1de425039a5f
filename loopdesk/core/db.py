"""Database upkeep that the query planner depends on."""

from __future__ import annotations

import time

from django.db import connection


def refresh_statistics() -> float:
    """Recompute the planner's statistics of every table (SQL `ANALYZE`); return the seconds it took.

    Both databases choose indexes from these statistics. Without them SQLite guesses, and at a million work
    orders it picked the region index over the partial open-ticket indexes, turning 20 ms queue queries into
    seconds. PostgreSQL's autovacuum keeps its statistics fresh by itself, but not right after a bulk load,
    hence this after `generate_data`, `load_demo` and bulk imports, and nightly (Celery beat) for SQLite.
    """
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started
