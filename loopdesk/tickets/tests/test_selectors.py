"""The queue selectors: a unit's open queue by due time (keyset pages) and 'due within N minutes', their
rows and their plans (EXPLAIN: the partial indexes tkt_open_queue and tkt_due_running, on SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from loopdesk.conftest import T0, World
from loopdesk.tickets import selectors
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket

M = dt.timedelta(minutes=1)


def _tickets(world: World, n: int, unit: str = "netmaint") -> list[Ticket]:
    """`n` tickets dispatched to `unit`, their due times then set by hand (what the selectors read)."""
    out = []
    for _ in range(n):
        t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
        out.append(s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=world.units[unit],
                                        now=T0))
    return out


def _set(ticket: Ticket, **fields) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(**fields)


def test_due_within_takes_open_running_tickets_due_in_the_window(world: World) -> None:
    soon, edge, later, past, paused, closed, unseen = _tickets(world, 6) + _tickets(world, 1, unit="it")
    _set(soon, due_at=T0 + 10 * M)
    _set(edge, due_at=T0 + 30 * M)  # the window is [now, now + minutes)
    _set(later, due_at=T0 + 31 * M)
    _set(past, due_at=T0 - M)  # overdue: not "due within"
    _set(paused, due_at=T0 + 5 * M, sla_paused=True)
    _set(closed, due_at=T0 + 5 * M, is_open=False, status=Status.CLOSED)
    _set(unseen, due_at=T0 + 5 * M)  # the IT centre's: not visible to a network specialist
    got = set(selectors.due_within(world.user("specialist"), 30, now=T0).values_list("pk", flat=True))
    assert got == {soon.pk}
    assert set(selectors.due_within(world.user("specialist"), 31, now=T0).values_list("pk", flat=True)) == {
        soon.pk, edge.pk}
    assert set(selectors.due_within(world.user("admin"), 30, now=T0).values_list("pk", flat=True)) == {
        soon.pk, unseen.pk}
    assert set(selectors.overdue(world.user("specialist"), now=T0).values_list("pk", flat=True)) == {past.pk}


def test_unit_open_queue_is_the_units_open_tickets_by_due_time_in_keyset_pages(world: World) -> None:
    tickets = _tickets(world, 7)
    other = _tickets(world, 1, unit="netopt")[0]
    dues = [T0 + 3 * M, T0 + M, T0 + 2 * M, T0 + 2 * M, T0 + 5 * M, T0 + 4 * M, T0 + M]
    for t, due in zip(tickets, dues, strict=True):
        _set(t, due_at=due)
    _set(tickets[4], is_open=False, status=Status.CLOSED)
    _set(other, due_at=T0)
    expected = sorted(((due, t.pk) for t, due in zip(tickets, dues, strict=True) if t is not tickets[4]))
    user, unit = world.user("specialist"), world.units["netmaint"].pk
    pages, after = [], None
    while True:
        page = selectors.unit_open_queue(user, unit, after=after, limit=4)
        if not page:
            break
        pages.append([(t.due_at, t.pk) for t in page])
        after = (page[-1].due_at, page[-1].pk)
    assert [len(p) for p in pages] == [4, 2]
    assert [row for p in pages for row in p] == expected  # ties on due_at broken by id, nobody twice or lost
    assert selectors.unit_open_queue(world.user("it_specialist"), unit) == []  # cannot see that unit's tickets


def _plan(sql: str, params: tuple) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A small test table: ask whether an index can serve the query in its order (at this size the planner
            # would rather read the few rows sequentially, by bitmap or by the foreign-key index and sort them,
            # which tells nothing about a million).
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + connection.ops.quote_name(Ticket._meta.db_table))


# The admin's queries are the selectors' own SQL unscoped (as bench/run.py measures them), the specialist's carry
# the visibility filter of a unit. (A supervisor's region filter may be answered from tkt_open_region on a table
# this small, a plan as good for a region-wide view.)
@pytest.mark.parametrize("user", ["specialist", "admin"])
def test_queue_and_due_within_plans_use_their_partial_indexes(world: World, user: str) -> None:
    tickets = _tickets(world, 30)
    for i, t in enumerate(tickets):
        # As in use: most tickets closed, the open ones due over the next hours.
        if i % 3:
            _set(t, is_open=False, status=Status.CLOSED, due_at=T0 - i * M)
        else:
            _set(t, due_at=T0 + i * 10 * M)
    _analyze()
    acting = world.user(user)
    queue = selectors.visible_tickets(acting).filter(handler_unit_id=world.units["netmaint"].pk, is_open=True)
    sql, params = queue.order_by("due_at", "id")[:50].query.sql_with_params()
    plan = _plan(sql, params)
    assert "tkt_open_queue" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan  # read in (due_at, id) order from the index
    assert len(selectors.unit_open_queue(acting, world.units["netmaint"].pk)) == 10

    due = selectors.due_within(acting, 61, now=T0)
    sql, params = due.query.sql_with_params()
    plan = _plan(sql, params)
    assert "tkt_due_running" in plan, plan
    assert due.count() == 3  # i = 0, 3, 6: due at T0, T0 + 30 min, T0 + 60 min
