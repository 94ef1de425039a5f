"""Two people acting on one ticket at the same moment, over real concurrent connections (PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import close_old_connections, connection

from loopdesk.conftest import T0, World
from loopdesk.core.errors import ConflictError, DomainError
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released together; return each result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # the test inspects what each thread got
            results[i] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_agents_acting_at_once_one_wins_the_other_gets_a_conflict(world: World) -> None:
    assert connection.vendor == "postgresql"
    for _round in range(5):
        t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
        seen = Ticket.objects.get(pk=t.pk)  # both agents loaded the same version
        results = race(
            lambda seen=seen: s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=seen,
                                                   to_unit=world.units["netmaint"], now=T0),
            lambda seen=seen: s.do_withdraw_ticket(acting_user=world.user("agent2"), ticket=seen,
                                                   reason="客户撤诉", now=T0),
        )
        winners = [r for r in results if isinstance(r, Ticket)]
        losers = [r for r in results if isinstance(r, DomainError)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert isinstance(losers[0], ConflictError)
        stored = Ticket.objects.get(pk=t.pk)
        assert stored.status == winners[0].status and stored.version == 2
        assert TicketEvent.objects.filter(ticket=t).count() == 2  # create + the winner's event only


def test_numbers_stay_unique_under_concurrent_creation(world: World) -> None:
    kwargs = [world.ticket_kwargs() for _ in range(8)]
    results = race(*[
        (lambda kw=kw: s.do_create_ticket(acting_user=world.user("agent"), now=T0, **kw)) for kw in kwargs
    ])
    tickets = [r for r in results if isinstance(r, Ticket)]
    assert len(tickets) == 8, results
    numbers = sorted(t.number for t in tickets)
    assert len(set(numbers)) == 8
    values = [int(n[-6:]) for n in numbers]
    assert values == list(range(values[0], values[0] + 8))  # consecutive: no one waited out or skipped


def test_a_duplicate_external_id_registered_at_once_is_a_field_error_not_a_500(world: World) -> None:
    from loopdesk.core.errors import ValidationFailed
    from loopdesk.tickets.models import ExternalRef

    for round_ in range(5):
        before = Ticket.objects.count()
        kwargs = [world.ticket_kwargs() for _ in range(2)]
        results = race(*[
            (lambda kw=kw: s.do_create_ticket(acting_user=world.user("agent"), now=T0,
                                              external_refs={"EOMS": f"E-{round_}"}, **kw)) for kw in kwargs
        ])
        winners = [r for r in results if isinstance(r, Ticket)]
        losers = [r for r in results if isinstance(r, ValidationFailed)]
        assert len(winners) == 1 and len(losers) == 1, results  # never an IntegrityError (a 500)
        assert list(losers[0].errors) == ["external_refs"] and f"E-{round_}" in losers[0].errors["external_refs"][0]
        assert ExternalRef.objects.get(system="EOMS", external_id=f"E-{round_}").ticket_id == winners[0].pk
        assert Ticket.objects.count() == before + 1  # the loser's ticket is not stored
