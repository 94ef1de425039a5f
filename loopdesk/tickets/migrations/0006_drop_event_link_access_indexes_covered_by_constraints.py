"""Drop the single-column indexes of ticketevent.ticket, ticketlink.from_ticket and ticketunitaccess.unit: the
unique constraints tkt_event_seq_unique (ticket, seq), tkt_link_unique (from_ticket, to_ticket, kind) and
tkt_unit_access_unique (unit, ticket) start with the same column and serve the same look-ups (a ticket's
timeline, its links, a unit's tickets), so every event, link and unit-access row written maintained an index for
nothing.

Only the indexes are dropped (DROP INDEX, both databases), as in 0005: Django's own AlterField would drop and
re-add the foreign keys on PostgreSQL (re-validating every row under a table lock) and rebuild the table on
SQLite."""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = (
    ("tickets_ticketevent_ticket_id_b572d14b", "tickets_ticketevent", "ticket_id"),
    ("tickets_ticketlink_from_ticket_id_605a3f7d", "tickets_ticketlink", "from_ticket_id"),
    ("tickets_ticketunitaccess_unit_id_ad4c3671", "tickets_ticketunitaccess", "unit_id"),
)


class Migration(migrations.Migration):

    dependencies = [
        ("org", "0001_initial"),
        ("tickets", "0005_drop_indexes_covered_by_composites"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ticketevent",
                    name="ticket",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="events", to="tickets.ticket", verbose_name="work order"),
                ),
                migrations.AlterField(
                    model_name="ticketlink",
                    name="from_ticket",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="links_out", to="tickets.ticket"),
                ),
                migrations.AlterField(
                    model_name="ticketunitaccess",
                    name="unit",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="+", to="org.orgunit"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"',
                                  reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")')
                for name, table, column in INDEXES
            ],
        ),
    ]
