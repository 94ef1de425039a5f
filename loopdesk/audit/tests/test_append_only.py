"""The audit log is append-only in the database itself, on SQLite and PostgreSQL: raw SQL cannot change or
delete a row; only wiping the whole database (flush, as transactional tests do) removes audit rows."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from loopdesk.audit.append_only import drop_sqlite_triggers, install_sqlite_triggers
from loopdesk.audit.models import AuditLog
from loopdesk.conftest import T0, World
from loopdesk.tickets import services as s


def _record(world: World) -> AuditLog:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    return AuditLog.objects.get(action="ticket.create", object_id=str(t.pk))


@pytest.mark.parametrize("sql", [
    "UPDATE audit_auditlog SET action = 'x' WHERE id = %s",
    "UPDATE audit_auditlog SET data = '{}' WHERE id = %s",
    "DELETE FROM audit_auditlog WHERE id = %s",
    "DELETE FROM audit_auditlog WHERE id >= %s",
])
def test_audit_rows_cannot_be_changed_even_with_raw_sql(world: World, sql: str) -> None:
    record = _record(world)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, [record.pk])
    fresh = AuditLog.objects.get(pk=record.pk)
    assert (fresh.action, fresh.data) == ("ticket.create", record.data)
    # Appending still works.
    with connection.cursor() as cur:
        cur.execute("INSERT INTO audit_auditlog (created_at, action, object_type, object_id, object_repr, province, "
                    "region, data) VALUES (%s, 'x.test', 't', '1', '', '', '', '{}')", [T0])
    assert AuditLog.objects.filter(action="x.test").count() == 1


def _triggers() -> set[str]:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditlog'::regclass AND NOT tgisinternal")
        else:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_auditlog'")
        return {row[0] for row in cur.fetchall()}


def test_triggers_come_back_after_migrate(db) -> None:
    expected = ({"audit_auditlog_append_only"} if connection.vendor == "postgresql"
                else {"audit_auditlog_no_update", "audit_auditlog_no_delete"})
    assert _triggers() == expected
    drop_sqlite_triggers(connection)  # as SQLite's rebuild of the table by a later migration would (not on PG)
    call_command("migrate", verbosity=0)  # post_migrate re-creates SQLite's
    assert _triggers() == expected
    install_sqlite_triggers(connection)  # idempotent
    assert _triggers() == expected


@pytest.mark.django_db(transaction=True)
def test_flush_wipes_the_audit_log_and_keeps_it_append_only(world: World) -> None:
    _record(world)
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditLog.objects.exists()
    record = AuditLog.objects.create(created_at=T0, action="x.test", object_type="t", object_id="1")
    with pytest.raises(DatabaseError, match="append-only"), connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditlog WHERE id = %s", [record.pk])
    assert AuditLog.objects.filter(pk=record.pk).exists() and _triggers()
