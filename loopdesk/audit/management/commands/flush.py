"""`manage.py flush` (Django's, which transactional tests also call): wiping the whole database is the one way
audit rows may go. On SQLite the append-only DELETE trigger is lifted inside flush's own transaction and
restored before it commits; on PostgreSQL flush TRUNCATEs, which the row trigger does not see."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.db import connections, transaction

from loopdesk.audit.append_only import drop_sqlite_triggers, install_sqlite_triggers


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        if options["interactive"]:  # asked here, not inside the transaction below (it holds the write lock)
            answer = input(
                f"This removes ALL data from the database {connection.settings_dict['NAME']}, the audit log "
                "included.\nType 'yes' to continue, or 'no' to cancel: "
            )
            if answer != "yes":
                raise CommandError("Flush cancelled.")
        with transaction.atomic(using=connection.alias):
            drop_sqlite_triggers(connection, ("audit_auditlog_no_delete",))
            super().handle(**{**options, "interactive": False})
            install_sqlite_triggers(connection)
