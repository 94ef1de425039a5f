"""Database helpers: the planner's statistics, an insert that skips a duplicate without a savepoint, and
foreign keys checked a batch at a time for bulk loads."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, connections, router, transaction
from django.db.models import Index, Model, Q


def index_where_set(*fields: str, name: str) -> Index:
    """An index of `fields` holding only the rows whose last field is set (`WHERE field IS NOT NULL`): for a
    column empty on most rows (a foreign key most rows leave NULL, a day a work order may not have reached). A
    look-up by value, a range of it, and Django's PROTECT / SET_NULL check on delete all imply the value is set,
    so they still use it; a row without one adds no entry."""
    return Index(fields=list(fields), name=name, condition=Q(**{f"{fields[-1]}__isnull": False}))


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


@contextmanager
def references_checked_by_batch() -> Iterator[bool]:
    """Inside the current transaction (call it directly in the `atomic()` block that does the load): on
    PostgreSQL, stop the foreign-key triggers that check every inserted row one by one (commit-time checks: two
    dozen index probes per imported work order), so that the loader checks its references a batch at a time
    with `lock_references` instead. Yields True when it did; False on another database, when the role may not
    change `session_replication_role` (superuser, or PostgreSQL 15's `GRANT SET ON PARAMETER
    session_replication_role`), or with `LOOPDESK_BULK_REFERENCE_CHECKS` off: the triggers then check as usual.

    `session_replication_role = replica` is what `pg_restore --disable-triggers` uses; set LOCAL, it ends with
    the transaction (or the savepoint) that set it, and it is set back to `origin` when the block ends.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("references_checked_by_batch() belongs inside the load's transaction.atomic()")
    if connection.vendor != "postgresql" or not getattr(settings, "LOOPDESK_BULK_REFERENCE_CHECKS", True):
        yield False
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a refused SET leaves the transaction usable
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        yield False
        return
    yield True  # on an exception, the transaction rolls back with the setting
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")


def lock_references(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
                    own: Mapping[type[Model], Collection[int]] | None = None,
                    locked: dict[type[Model], set[int]] | None = None) -> None:
    """For `rows` (values in the order of the database `columns`, as for COPY) written, or about to be, into
    `model`'s table without the foreign-key triggers (`references_checked_by_batch`), in the same transaction:
    check that every row they refer to exists and lock it `FOR KEY SHARE`, as the trigger does for each row, but
    one statement per foreign key for the distinct values of the batch. Rows this transaction created (`own`:
    ids by model) need neither. Elsewhere (SQLite) it only checks.

    A missing row raises `IntegrityError` naming the table, the column and the value: the caller's transaction
    then rolls back whatever it wrote. Checking after writing is as safe as before: rows written but not yet
    committed are invisible to others, and a referred row deleted meanwhile is found missing here.
    NULL (None, or COPY's `\\N`) refers to nothing.

    `locked` (ids by model): rows found and locked by earlier calls *in the same transaction*, which the caller
    keeps for the length of it (a row lock lasts until the transaction ends): they are not looked up again, and
    what this call finds is added. A bulk load then asks once for the units, users and categories that every
    batch refers to, not once a batch.
    """
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return
    quote = connection.ops.quote_name
    meta = model._meta
    for field in meta.concrete_fields:
        if not field.is_relation or not getattr(field, "db_constraint", False) or field.column not in columns:
            continue
        at = columns.index(field.column)
        spelt = set(map(itemgetter(at), rows))  # distinct first: a batch refers to few rows, many times
        values = {int(v) for v in spelt if v is not None and v != "\\N"}
        target: Any = field.related_model
        values.difference_update((own or {}).get(target, ()))
        if locked is not None:
            values.difference_update(locked.get(target, ()))
        if not values:
            continue
        name = field.target_field.name  # type: ignore[union-attr]
        if connection.vendor == "postgresql":
            key = target._meta.get_field(name).column
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {quote(key)} FROM {quote(target._meta.db_table)} "  # noqa: S608 - model names
                               f"WHERE {quote(key)} = ANY(%s) ORDER BY 1 FOR KEY SHARE", [sorted(values)])
                found = {row[0] for row in cursor.fetchall()}
        else:  # SQLite: one writer at a time, nothing to lock
            found = set(target._base_manager.filter(**{f"{name}__in": values}).values_list(name, flat=True))
        if locked is not None:
            locked.setdefault(target, set()).update(found)
        missing = sorted(values - found)
        if missing:
            raise IntegrityError(
                f'insert into table "{meta.db_table}" violates foreign key on "{field.column}": key '
                f'({field.column})=({missing[0]}) is not present in table "{target._meta.db_table}"'
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
