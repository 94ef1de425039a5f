"""The indexes the big tables carry (tickets 0005–0007, customers 0003, reports 0009–0010): no LIKE twin of the unique
ticket number and MSISDN, partial indexes for the foreign keys that are empty on most rows, and those partial
indexes still answer a look-up by value (what Django's PROTECT check runs when a unit or user is deleted)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.forms import modelform_factory

from loopdesk.customers.models import Customer
from loopdesk.reports.models import HopFact, ReportFact
from loopdesk.tickets.models import Ticket, TicketEvent

SPARSE = {
    "tickets_ticket": {"parent_id": "tkt_parent", "duplicate_of_id": "tkt_duplicate_of",
                       "dispatcher_unit_id": "tkt_dispatcher_unit"},
    "tickets_ticketevent": {"from_unit_id": "tkt_event_from_unit", "to_unit_id": "tkt_event_to_unit",
                            "to_user_id": "tkt_event_to_user"},
    "customers_customer": {"account_manager_id": "cust_account_manager", "area_id": "cust_area",
                           "home_branch_id": "cust_home_branch"},
}
# The facts' day indexes, (region, day): partial where a work order may not have reached that day yet.
DAY_INDEXES = {
    "rpt_fact_created": ("reports_reportfact", "created_day", False),
    "rpt_fact_dispatched": ("reports_reportfact", "dispatched_day", True),
    "rpt_fact_replied": ("reports_reportfact", "replied_day", True),
    "rpt_fact_answered": ("reports_reportfact", "answered_day", True),
    "rpt_fact_closed": ("reports_reportfact", "closed_day", True),
    "rpt_fact_callback": ("reports_reportfact", "callback_day", True),
    "rpt_hop_day": ("reports_hopfact", "hop_day", False),
    "rpt_hop_end_day": ("reports_hopfact", "hop_end_day", True),
}


def _index_sql(table: str) -> dict[str, str]:
    """Every index of `table` as the database spells it (its CREATE INDEX; SQLite's own unique indexes: '')."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        else:
            cursor.execute("SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name = %s",
                           [table])
        return dict(cursor.fetchall())


def _indexes_on(table: str, column: str) -> dict[str, dict[str, Any]]:
    """The indexes and unique constraints of `table` whose only column is `column` (introspection, both databases;
    SQLite reports a column's inline UNIQUE as a constraint, PostgreSQL as both)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {name: c for name, c in constraints.items() if (c["index"] or c["unique"]) and c["columns"] == [column]}


@pytest.mark.django_db
@pytest.mark.parametrize(("table", "column"), [("tickets_ticket", "number"), ("customers_customer", "msisdn")])
def test_number_columns_have_one_unique_index_and_no_like_twin(table: str, column: str) -> None:
    on_column = _indexes_on(table, column)
    assert on_column and all(c["unique"] for c in on_column.values()), on_column
    assert len(on_column) == 1, on_column
    assert not [sql for sql in _index_sql(table).values() if "pattern_ops" in sql]


@pytest.mark.django_db
@pytest.mark.parametrize(("table", "column", "name"),
                         [(t, c, n) for t, columns in SPARSE.items() for c, n in columns.items()])
def test_sparse_foreign_keys_are_indexed_only_where_set(table: str, column: str, name: str) -> None:
    on_column = _indexes_on(table, column)
    assert list(on_column) == [name], on_column
    sql = _index_sql(table)[name]
    assert "IS NOT NULL" in sql.upper() and column in sql, sql


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(DAY_INDEXES))
def test_fact_day_indexes_leave_out_the_days_not_reached(name: str) -> None:
    table, column, partial = DAY_INDEXES[name]
    sql = _index_sql(table)[name]
    assert column in sql and ("IS NOT NULL" in sql.upper()) == partial, sql


def _plan(sql: str, params: tuple) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A test-sized table: ask whether the index can answer at all (the planner would rather read it whole).
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_partial_indexes_answer_lookups_by_value_as_the_protect_check_makes_them(world: Any) -> None:
    unit, user = world.units["netmaint"], world.user("agent")
    queries = [
        (Ticket.objects.filter(parent_id__in=[1, 2]), "tkt_parent"),
        (Ticket.objects.filter(duplicate_of=5), "tkt_duplicate_of"),
        (Ticket.objects.filter(dispatcher_unit__in=[unit]), "tkt_dispatcher_unit"),
        (TicketEvent.objects.filter(to_unit__in=[unit]), "tkt_event_to_unit"),
        (TicketEvent.objects.filter(to_user=user), "tkt_event_to_user"),
        (TicketEvent.objects.filter(from_unit__in=[unit]), "tkt_event_from_unit"),
        (Customer.objects.filter(account_manager__in=[user]), "cust_account_manager"),
        # The drill-down's look-up of a day family (rollups.family_queryset, measures): region and a day range.
        (ReportFact.objects.filter(region="JM", closed_day__range=(dt.date(2026, 11, 1), dt.date(2026, 11, 30))),
         "rpt_fact_closed"),
        (HopFact.objects.filter(region="JM", hop_end_day__range=(dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
                                hop_end_day__isnull=False), "rpt_hop_end_day"),
    ]
    for queryset, index in queries:
        # Without the timeline's default ORDER BY (ticket, seq): on a test-sized table the planner would rather
        # read tkt_event_seq_unique in that order and filter; the question here is whether the partial index can
        # answer "= x" and "IN (...)" at all (its predicate IS NOT NULL is implied by them).
        sql, params = queryset.order_by().query.sql_with_params()
        plan = _plan(sql, params)
        assert index in plan, (index, plan)


def test_a_taken_msisdn_is_still_refused_on_the_field(world: Any) -> None:
    taken = world.customer()
    form_class = modelform_factory(Customer, fields=["msisdn", "name", "province", "region"])
    form = form_class(data={"msisdn": taken.msisdn, "name": "王五", "province": "GD", "region": "JM"})
    assert not form.is_valid()
    assert list(form.errors) == ["msisdn"], form.errors
    fresh = form_class(data={"msisdn": "13800000999", "name": "王五", "province": "GD", "region": "JM"})
    assert fresh.is_valid(), fresh.errors
