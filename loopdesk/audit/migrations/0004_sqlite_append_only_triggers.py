"""On SQLite too, refuse UPDATE and DELETE of audit rows in the database itself (PostgreSQL: 0003)."""

from django.db import migrations

from loopdesk.audit.append_only import drop_sqlite_triggers, install_sqlite_triggers


def forwards(apps, schema_editor):
    install_sqlite_triggers(schema_editor.connection)


def backwards(apps, schema_editor):
    drop_sqlite_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_trigger")]
    operations = [migrations.RunPython(forwards, backwards)]
