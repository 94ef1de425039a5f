"""The locking read of every ticket action, compiled once per process (`services._LockQuery`): it must give
exactly what the queryset it was compiled from gives, for any ticket, and lock as that queryset does."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from loopdesk.conftest import World
from loopdesk.core.errors import ConflictError, NotFoundError
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db

RELATED = ("customer", "first_responder", "first_responder_unit")


def fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_the_compiled_lock_reads_what_the_queryset_reads(world: World) -> None:
    agent = world.user("agent")
    plain = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    worked = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs(), dispatch=True,
                                dispatch_to=world.units["netmaint"])
    worked = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=worked)
    for ticket in (plain, worked):
        with transaction.atomic():
            fast = s._LockQuery.fetch(ticket.pk)
            slow = s._lock_queryset(ticket.pk).get()
        assert fields(fast) == fields(slow) and fast.pk == ticket.pk
        for name in RELATED:
            assert Ticket._meta.get_field(name).is_cached(fast), name
            assert fields(getattr(fast, name)) == fields(getattr(slow, name)), name
        assert fast.reference_token == slow.reference_token
        assert fast._state.adding is False and fast._state.db == slow._state.db


def test_an_unknown_ticket_is_none_and_not_found(world: World) -> None:
    with transaction.atomic():
        assert s._LockQuery.fetch(987654321) is None
        with pytest.raises(NotFoundError):
            s._lock_ticket(987654321, None)


def test_compiled_once_then_only_run(world: World) -> None:
    ticket = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    with transaction.atomic():
        s._LockQuery.fetch(ticket.pk)
    compiled = s._LockQuery._compiled[connection.alias]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        s._LockQuery.fetch(ticket.pk)
    assert s._LockQuery._compiled[connection.alias] is compiled
    (sql,) = [q["sql"] for q in queries.captured_queries if "tickets_ticket" in q["sql"]]
    assert f"= {ticket.pk}" in sql
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in sql


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_as_the_queryset(world: World) -> None:
    ticket = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    if connection.features.has_select_for_update:
        with pytest.raises(transaction.TransactionManagementError):
            s._LockQuery.fetch(ticket.pk)
        with pytest.raises(transaction.TransactionManagementError):
            s._lock_queryset(ticket.pk).get()
    else:
        assert s._LockQuery.fetch(ticket.pk).pk == ticket.pk == s._lock_queryset(ticket.pk).get().pk


def test_the_version_check_still_refuses_a_stale_copy(world: World) -> None:
    agent = world.user("agent")
    ticket = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    s.do_dispatch_ticket(acting_user=agent, ticket=ticket, to_unit=world.units["netmaint"])
    with pytest.raises(ConflictError):
        s.do_dispatch_ticket(acting_user=agent, ticket=ticket, to_unit=world.units["netopt"])
