"""Fewer index entries for every customer written (tickets 0007 does the same for work orders).

- ``msisdn`` keeps its unique constraint (``customers_customer_msisdn_key``, the name PostgreSQL gave the
  column's ``UNIQUE``) but loses the ``varchar_pattern_ops`` index Django adds on PostgreSQL for
  ``LIKE 'prefix%'``: numbers are only looked up whole. State only for the constraint.
- ``account_manager`` (VIPs only), ``home_branch`` and ``area`` are empty on most customers and on every customer a
  legacy import creates: their full indexes become partial ones over the rows that have a value.

The old indexes are dropped by name (``DROP INDEX IF EXISTS``, both databases), as in tickets 0005–0007.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import loopdesk.core.text

DROPPED = (
    ("customers_customer_msisdn_4c8573d0_like", '"msisdn" varchar_pattern_ops'),
    ("customers_customer_account_manager_id_e124452c", '"account_manager_id"'),
    ("customers_customer_area_id_565553f5", '"area_id"'),
    ("customers_customer_home_branch_id_ecc0227c", '"home_branch_id"'),
)


def _drop(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    for name, _columns in DROPPED:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def _restore(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    for name, columns in DROPPED:
        if "pattern_ops" in columns and schema_editor.connection.vendor != "postgresql":
            continue
        schema_editor.execute(f'CREATE INDEX "{name}" ON "customers_customer" ({columns})')


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0002_initial"),
        ("org", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="customer", name="msisdn",
                    field=models.CharField(max_length=11, validators=[loopdesk.core.text.validate_msisdn],
                                           verbose_name="mobile number"),
                ),
                migrations.AddConstraint(
                    model_name="customer",
                    constraint=models.UniqueConstraint(fields=("msisdn",), name="customers_customer_msisdn_key"),
                ),
                migrations.AlterField(
                    model_name="customer", name="account_manager",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.SET_NULL,
                                            related_name="managed_customers", to=settings.AUTH_USER_MODEL,
                                            verbose_name="account manager"),
                ),
                migrations.AlterField(
                    model_name="customer", name="area",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.SET_NULL, to="customers.area",
                                            verbose_name="area"),
                ),
                migrations.AlterField(
                    model_name="customer", name="home_branch",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                            to="org.orgunit", verbose_name="home branch"),
                ),
            ],
            database_operations=[migrations.RunPython(_drop, _restore, elidable=False)],
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(condition=models.Q(home_branch__isnull=False), fields=["home_branch"],
                               name="cust_home_branch"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(condition=models.Q(area__isnull=False), fields=["area"], name="cust_area"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(condition=models.Q(account_manager__isnull=False), fields=["account_manager"],
                               name="cust_account_manager"),
        ),
    ]
