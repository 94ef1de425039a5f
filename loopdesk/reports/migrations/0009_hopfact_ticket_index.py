"""Drop the single-column index of hopfact.ticket: the unique constraint rpt_hop_key (ticket, seq) starts with
the same column and serves the same look-ups (a work order's hops, the cascade when one is deleted). Only the
index is dropped (DROP INDEX, both databases), as in tickets 0006."""

import django.db.models.deletion
from django.db import migrations, models

NAME = "reports_hopfact_ticket_id_c6280216"


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0008_hop_facts"),
        ("tickets", "0007_partial_and_unused_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="hopfact", name="ticket",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="hop_facts", to="tickets.ticket",
                                            verbose_name="work order"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{NAME}"',
                                  reverse_sql=f'CREATE INDEX "{NAME}" ON "reports_hopfact" ("ticket_id")'),
            ],
        ),
    ]
