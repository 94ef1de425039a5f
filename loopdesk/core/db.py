"""Database helpers: the planner's statistics, and an insert that skips a duplicate without a savepoint."""

from __future__ import annotations

import time
from collections.abc import Sequence

from django.db import connection, connections, router
from django.db.models import Model


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


_INSERT_SQL: dict[tuple[str, type[Model], tuple[str, ...]], tuple[str, list]] = {}


def insert_unless_exists(obj: Model, unique_fields: Sequence[str]) -> bool:
    """Insert the new instance `obj` unless a row with the same `unique_fields` exists (a unique constraint on
    exactly those fields must exist). True when inserted, with `obj.pk` set; False when the row was there.

    One statement, `INSERT … ON CONFLICT (fields) DO NOTHING RETURNING pk` (PostgreSQL; SQLite ≥ 3.35), where
    `get_or_create` or a `create` in `atomic()` catching `IntegrityError` takes a savepoint and two or three more
    statements. Only a duplicate of those fields is skipped: any other error is raised. A concurrent transaction
    inserting the same key makes this one wait for it, then skip (committed) or insert (rolled back).
    """
    model = type(obj)
    connection = connections[router.db_for_write(model)]
    key = (connection.alias, model, tuple(unique_fields))
    cached = _INSERT_SQL.get(key)
    if cached is None:
        quote = connection.ops.quote_name
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        columns = ", ".join(quote(str(f.column)) for f in fields)
        target = ", ".join(quote(str(meta.get_field(name).column)) for name in unique_fields)
        # Only the model's own table and column names, quoted, go into the text; the values are parameters.
        sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "  # noqa: S608
               f"ON CONFLICT ({target}) DO NOTHING RETURNING {quote(str(meta.pk.column))}")
        cached = _INSERT_SQL[key] = (sql, fields)
    sql, fields = cached
    with connection.cursor() as cursor:
        cursor.execute(sql, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
        inserted = cursor.fetchone()
    if inserted is None:
        return False
    obj.pk = inserted[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True
