"""The SLA sweep's batched path keeps every guarantee of one locked service call per crossing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import close_old_connections, connection, transaction

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import T0, World
from loopdesk.core.errors import ConflictError
from loopdesk.followup import services as f
from loopdesk.followup.models import Escalation, SlaWatch, StaffAlert
from loopdesk.tickets import events as ticket_events
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket, TicketEvent

H = dt.timedelta(hours=1)


def _dispatched(world: World, **kwargs) -> Ticket:
    return s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                              dispatch_to=world.units["netmaint"], **world.ticket_kwargs(**kwargs))


def test_one_sweep_marks_many_crossings_with_every_guarantee(world: World) -> None:
    tickets = [_dispatched(world) for _ in range(5)]
    seen = {t.pk: t.version for t in tickets}
    heard: list[tuple[int, str]] = []
    ticket_events.register_listener("test.heard", lambda t, e: heard.append((t.pk, e.kind)))
    try:
        at = max(t.overtime_at for t in tickets)
        report = f.sweep_sla(now=at, chunk=2)  # three transactions: 2 + 2 + 1
    finally:
        ticket_events.unregister_listener("test.heard")
    assert report.marked == 5 and report.escalated == 0 and not report.remaining
    for t in tickets:
        stored = Ticket.objects.get(pk=t.pk)
        assert stored.is_overtime and not stored.is_problem
        assert stored.version == seen[t.pk] + 1
        events = list(stored.events.order_by("seq").values_list("seq", "kind"))
        assert [kind for _seq, kind in events].count("overtime") == 1
        assert events[-1] == (stored.last_event_seq, "overtime")
        assert (t.pk, "overtime") in heard  # every listener saw the event
        assert AuditLog.objects.filter(object_id=str(t.pk), action="ticket.sla_crossed").count() == 1
        # The overtime watch is consumed, the problem watch is still there for 72 h.
        assert set(SlaWatch.objects.filter(ticket=t).values_list("kind", flat=True)) == {"problem"}
    assert StaffAlert.objects.filter(user=world.users["specialist"], kind="overtime").count() == 5
    assert StaffAlert.objects.filter(user=world.users["head"], kind="overtime").count() == 5
    # Idempotent: nothing is marked twice.
    assert f.sweep_sla(now=at + dt.timedelta(minutes=1)).marked == 0
    assert TicketEvent.objects.filter(ticket__in=tickets, kind="overtime").count() == 5


def test_an_edit_based_on_the_version_before_the_crossing_gets_a_conflict(world: World) -> None:
    t = _dispatched(world)
    f.sweep_sla(now=t.overtime_at)
    with pytest.raises(ConflictError):
        s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, expected_version=t.version)
    fresh = Ticket.objects.get(pk=t.pk)
    accepted = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=fresh, now=t.overtime_at + H)
    assert accepted.is_overtime and accepted.status == "in_progress" and accepted.handler_user_id is not None


def test_problem_crossing_escalates_once_in_the_batched_path(world: World) -> None:
    tickets = [_dispatched(world), _dispatched(world, contact_type="appeal", channel="regulator")]
    at = max(t.problem_at for t in tickets)
    report = f.sweep_sla(now=at)
    assert report.escalated == 2
    assert sorted(Escalation.objects.values_list("reason", flat=True)) == ["problem", "problem"]
    for t in tickets:
        stored = Ticket.objects.get(pk=t.pk)
        kinds = list(stored.events.values_list("kind", flat=True))
        assert stored.is_overtime and stored.is_problem
        assert kinds.count("overtime") == 1 and kinds.count("problem") == 1 and kinds.count("note") == 1
        assert not SlaWatch.objects.filter(ticket=t, kind__in=["overtime", "problem"]).exists()
    assert StaffAlert.objects.filter(kind="escalated", user=world.users["supervisor"]).count() == 2
    assert f.sweep_sla(now=at + H).escalated == 0


def test_a_failing_batch_falls_back_to_one_ticket_at_a_time(world: World, monkeypatch) -> None:
    tickets = [_dispatched(world) for _ in range(3)]

    def broken(*args, **kwargs):
        raise RuntimeError("batch path broken")

    monkeypatch.setattr(f, "_mark_crossings_batch", broken)
    report = f.sweep_sla(now=max(t.overtime_at for t in tickets))
    assert report.marked == 3
    assert all(Ticket.objects.get(pk=t.pk).is_overtime for t in tickets)


def test_closed_ticket_watch_is_dropped_without_a_mark(world: World) -> None:
    t = _dispatched(world)
    SlaWatch.objects.filter(ticket=t).delete()
    SlaWatch.objects.create(ticket=t, kind="overtime", fire_at=t.overtime_at)
    Ticket.objects.filter(pk=t.pk).update(is_open=False)
    f.sweep_sla(now=t.overtime_at)
    assert not SlaWatch.objects.filter(ticket=t).exists()
    assert not TicketEvent.objects.filter(ticket=t, kind="overtime").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sweep_skips_a_ticket_someone_is_changing_and_marks_it_next_run(world: World) -> None:
    assert connection.vendor == "postgresql"
    busy, free = _dispatched(world), _dispatched(world)
    at = max(busy.overtime_at, free.overtime_at)
    locked, release = threading.Event(), threading.Event()

    def user_transaction() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=busy.pk)
                locked.set()
                release.wait(30)
        finally:
            close_old_connections()
            connection.close()

    holder = threading.Thread(target=user_transaction)
    holder.start()
    try:
        assert locked.wait(30)
        report = f.sweep_sla(now=at)  # does not wait for the busy ticket
        assert report.marked == 1
        assert Ticket.objects.get(pk=free.pk).is_overtime
        assert not Ticket.objects.get(pk=busy.pk).is_overtime
        assert SlaWatch.objects.filter(ticket=busy, kind="overtime").exists()  # kept for the next run
    finally:
        release.set()
        holder.join()
    assert f.sweep_sla(now=at).marked == 1
    assert Ticket.objects.get(pk=busy.pk).is_overtime


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_mark_each_ticket_exactly_once(world: World) -> None:
    assert connection.vendor == "postgresql"
    tickets = [_dispatched(world) for _ in range(12)]
    at = max(t.overtime_at for t in tickets)
    barrier = threading.Barrier(2)
    reports: list[object] = [None, None]

    def sweep(i: int) -> None:
        try:
            barrier.wait()
            reports[i] = f.sweep_sla(now=at, chunk=3)
        except Exception as exc:  # the test inspects it
            reports[i] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(r, f.SweepReport) for r in reports), reports
    assert TicketEvent.objects.filter(ticket__in=tickets, kind="overtime").count() == 12
    assert all(Ticket.objects.get(pk=t.pk).is_overtime for t in tickets)
    assert not SlaWatch.objects.filter(ticket__in=tickets, kind="overtime").exists()
