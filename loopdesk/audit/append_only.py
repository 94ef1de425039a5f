"""The audit log is append-only in the database itself, not only in the ORM (AuditLog.save/delete refuse).

PostgreSQL: a row trigger raising an exception (migration 0003). SQLite: BEFORE UPDATE / BEFORE DELETE triggers
that RAISE(ABORT) (migration 0004, and re-created after every `migrate`: SQLite rebuilds a table to alter it,
which drops its triggers). The one legitimate way to remove audit rows is wiping the whole database
(`manage.py flush`, also what transactional tests do between tests): on PostgreSQL it TRUNCATEs, which row
triggers do not see; on SQLite our `flush` command lifts the DELETE trigger for its own transaction only.
"""

from __future__ import annotations

from typing import Any

MESSAGE = "the audit log is append-only"
SQLITE_TRIGGERS = {
    "audit_auditlog_no_update": f"""
        CREATE TRIGGER IF NOT EXISTS audit_auditlog_no_update BEFORE UPDATE ON audit_auditlog
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    "audit_auditlog_no_delete": f"""
        CREATE TRIGGER IF NOT EXISTS audit_auditlog_no_delete BEFORE DELETE ON audit_auditlog
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
}


def install_sqlite_triggers(connection: Any) -> None:
    """Create the SQLite triggers where missing (idempotent); nothing on other databases."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        if "audit_auditlog" not in tables:
            return
        for sql in SQLITE_TRIGGERS.values():
            cursor.execute(sql)


def drop_sqlite_triggers(connection: Any, names: tuple[str, ...] = tuple(SQLITE_TRIGGERS)) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    install_sqlite_triggers(connections[using])
