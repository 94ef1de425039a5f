"""Drop the single-column indexes of ticket.customer, first_responder and first_responder_unit: the composite
indexes tkt_repeat (customer, ...), tkt_fr_user (first_responder, ...) and tkt_fr_unit (first_responder_unit, ...)
start with the same column and serve the same look-ups, so every ticket written maintained three indexes for
nothing.

Only the indexes are dropped (DROP INDEX, both databases): Django's own AlterField would drop and re-add the
foreign keys on PostgreSQL (re-validating every ticket under a table lock) and rebuild the table on SQLite."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = (
    ("tickets_ticket_customer_id_f2d9135a", "customer_id"),
    ("tickets_ticket_first_responder_id_c30aed06", "first_responder_id"),
    ("tickets_ticket_first_responder_unit_id_4cdc0556", "first_responder_unit_id"),
)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0002_initial"),
        ("org", "0001_initial"),
        ("tickets", "0004_board_covering_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ticket",
                    name="customer",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="tickets", to="customers.customer",
                                            verbose_name="customer"),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="first_responder",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="+", to=settings.AUTH_USER_MODEL,
                                            verbose_name="first responder"),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="first_responder_unit",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="+", to="org.orgunit", verbose_name="first responder unit"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"',
                                  reverse_sql=f'CREATE INDEX "{name}" ON "tickets_ticket" ("{column}")')
                for name, column in INDEXES
            ],
        ),
    ]
