"""Fewer index entries for every work order and timeline event written.

- ``ticket.number`` keeps its unique constraint (``tickets_ticket_number_key``, the name PostgreSQL gave the
  column's ``UNIQUE``) but loses the second, ``varchar_pattern_ops`` index Django adds on PostgreSQL to every
  unique or indexed text column for ``LIKE 'prefix%'``: numbers are only ever matched whole. The field becomes a
  plain ``CharField`` with a ``UniqueConstraint`` of that name (state only; the constraint itself is untouched).
- ``ticket.parent`` and ``ticket.duplicate_of`` are empty on almost every work order, ``dispatcher_unit`` on
  every one never dispatched (what the front line closes itself, every imported one), as are ``from_unit``,
  ``to_unit`` and ``to_user`` on about half of a timeline's events (``from_unit`` on every imported one): their full
  indexes are replaced by partial ones over the rows that have a value, which serve the same look-ups by value
  (``= x`` and ``= ANY(...)`` imply ``IS NOT NULL``) and Django's PROTECT check when a unit or user is deleted.

The old indexes are dropped by name (``DROP INDEX IF EXISTS``, both databases, as in 0005 and 0006): Django's
own AlterField would drop and re-add the foreign keys on PostgreSQL and rebuild the table on SQLite. Building the
partial indexes reads each table once while it blocks writes to it (about 30 s per index at 90 M events on a
2-core machine); on a large database run it in a quiet hour (docs/deployment.md).
"""

from django.conf import settings
from django.db import migrations, models

DROPPED = (
    ("tickets_ticket_number_5f958fbb_like", "tickets_ticket", '"number" varchar_pattern_ops'),
    ("tickets_ticket_parent_id_09dd967f", "tickets_ticket", '"parent_id"'),
    ("tickets_ticket_duplicate_of_id_8859d49d", "tickets_ticket", '"duplicate_of_id"'),
    ("tickets_ticket_dispatcher_unit_id_89d82ece", "tickets_ticket", '"dispatcher_unit_id"'),
    ("tickets_ticketevent_from_unit_id_a252314d", "tickets_ticketevent", '"from_unit_id"'),
    ("tickets_ticketevent_to_unit_id_03a13a2a", "tickets_ticketevent", '"to_unit_id"'),
    ("tickets_ticketevent_to_user_id_c6cebe81", "tickets_ticketevent", '"to_user_id"'),
)


def _fk(to: str, **kwargs):  # type: ignore[no-untyped-def]
    return models.ForeignKey(blank=True, db_index=False, null=True, on_delete=models.deletion.PROTECT, to=to,
                             **kwargs)


def _drop(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    for name, _table, _columns in DROPPED:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def _restore(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    for name, table, columns in DROPPED:
        if "pattern_ops" in columns and schema_editor.connection.vendor != "postgresql":
            continue
        schema_editor.execute(f'CREATE INDEX "{name}" ON "{table}" ({columns})')


class Migration(migrations.Migration):

    dependencies = [
        ("org", "0001_initial"),
        ("tickets", "0006_drop_event_link_access_indexes_covered_by_constraints"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ticket", name="number",
                    field=models.CharField(max_length=32, verbose_name="number"),
                ),
                migrations.AddConstraint(
                    model_name="ticket",
                    constraint=models.UniqueConstraint(fields=("number",), name="tickets_ticket_number_key"),
                ),
                migrations.AlterField(
                    model_name="ticket", name="parent",
                    field=_fk("tickets.ticket", related_name="children", verbose_name="parent ticket"),
                ),
                migrations.AlterField(
                    model_name="ticket", name="duplicate_of",
                    field=_fk("tickets.ticket", related_name="duplicates", verbose_name="duplicate of"),
                ),
                migrations.AlterField(
                    model_name="ticket", name="dispatcher_unit",
                    field=_fk("org.orgunit", related_name="+", verbose_name="dispatching unit",
                              help_text="The unit a returned ticket goes back to."),
                ),
                migrations.AlterField(
                    model_name="ticketevent", name="from_unit",
                    field=_fk("org.orgunit", related_name="+", verbose_name="from unit"),
                ),
                migrations.AlterField(
                    model_name="ticketevent", name="to_unit",
                    field=_fk("org.orgunit", related_name="+", verbose_name="to unit"),
                ),
                migrations.AlterField(
                    model_name="ticketevent", name="to_user",
                    field=_fk(settings.AUTH_USER_MODEL, related_name="+", verbose_name="to user"),
                ),
            ],
            database_operations=[migrations.RunPython(_drop, _restore, elidable=False)],
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(condition=models.Q(parent__isnull=False), fields=["parent"], name="tkt_parent"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(condition=models.Q(duplicate_of__isnull=False), fields=["duplicate_of"],
                               name="tkt_duplicate_of"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(condition=models.Q(dispatcher_unit__isnull=False), fields=["dispatcher_unit"],
                               name="tkt_dispatcher_unit"),
        ),
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(condition=models.Q(from_unit__isnull=False), fields=["from_unit"],
                               name="tkt_event_from_unit"),
        ),
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(condition=models.Q(to_unit__isnull=False), fields=["to_unit"],
                               name="tkt_event_to_unit"),
        ),
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(condition=models.Q(to_user__isnull=False), fields=["to_user"],
                               name="tkt_event_to_user"),
        ),
    ]
