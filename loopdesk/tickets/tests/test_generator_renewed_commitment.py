"""The demo-data generator kept a reopened (or resumed after a long suspension, or information-supplied) work
order's committed time counted from its registration, passed long ago, while the services renew a passed committed
time at that moment (`_renew_passed_commitment`: a new time from the SLA policy and a customer-visible "committed time
changed" entry). Generated timelines now read as the services would have written them. Returns go back to the
person who dispatched (as `do_return_ticket`)."""

from __future__ import annotations

import datetime as dt

import pytest

from loopdesk.sla.calendars import SHANGHAI
from loopdesk.sla.services import committed_time
from loopdesk.tickets.choices import EventKind, Visibility
from loopdesk.tickets.generator import Options, generate
from loopdesk.tickets.models import Ticket, TicketEvent

END = dt.datetime(2026, 11, 20, 18, 0, tzinfo=SHANGHAI)
RENEWING = {EventKind.REOPEN, EventKind.RESUME, EventKind.PROVIDE_INFO}


@pytest.fixture
def demo(db: None) -> list[Ticket]:
    from loopdesk.core.reference import seed_reference

    seed_reference()
    generate(Options(tickets=1500, seed=11, customers=400, months=2, end=END))
    return list(Ticket.objects.select_related("sla_policy__calendar").order_by("id"))


def test_a_passed_committed_time_is_renewed_as_the_services_renew_it(demo: list[Ticket]) -> None:
    events: dict[int, list[TicketEvent]] = {}
    for event in TicketEvent.objects.order_by("ticket_id", "seq"):
        events.setdefault(event.ticket_id, []).append(event)
    renewed = reopened = 0
    for t in demo:
        timeline = events[t.pk]
        committed = committed_time(t.sla_policy, timeline[0].created_at)
        for i, e in enumerate(timeline):
            if e.kind == EventKind.COMMIT_TIME:
                assert timeline[i - 1].kind in RENEWING, (t.number, e.seq)
            if e.kind not in RENEWING:
                continue
            reopened += e.kind == EventKind.REOPEN
            if committed > e.created_at:
                assert i + 1 == len(timeline) or timeline[i + 1].kind != EventKind.COMMIT_TIME, (t.number, e.seq)
                continue
            previous, committed = committed, committed_time(t.sla_policy, e.created_at)
            change = timeline[i + 1]
            assert change.kind == EventKind.COMMIT_TIME and change.created_at == e.created_at, (t.number, e.seq)
            assert change.visibility == Visibility.CUSTOMER and change.actor_id == e.actor_id
            assert dt.datetime.fromisoformat(change.data["from"]) == previous
            assert dt.datetime.fromisoformat(change.data["to"]) == committed and change.data[e.kind] is True
            renewed += 1
        assert t.committed_at == committed, t.number
    assert reopened > 10 and renewed > 10


def test_a_return_goes_back_to_the_dispatcher_by_name(demo: list[Ticket]) -> None:
    returns = 0
    for ticket_id in TicketEvent.objects.filter(kind=EventKind.RETURN).values_list("ticket_id", flat=True):
        timeline = list(TicketEvent.objects.filter(ticket_id=ticket_id).order_by("seq"))
        for i, e in enumerate(timeline):
            if e.kind == EventKind.RETURN:
                dispatch = next(d for d in reversed(timeline[:i]) if d.kind == EventKind.DISPATCH)
                assert (e.to_unit_id, e.to_user_id) == (dispatch.actor_unit_id, dispatch.actor_id)
                returns += 1
    assert returns > 5


def test_the_dispatching_unit_is_the_last_dispatchers_as_the_services_keep_it(demo: list[Ticket]) -> None:
    from loopdesk.org.models import User

    dispatchers = set(User.objects.filter(groups__name="dispatcher").values_list("pk", flat=True))
    routed_by_second_line = 0
    for t in demo:
        sent = [e for e in t.events.order_by("seq") if e.kind == EventKind.DISPATCH
                or (e.kind == EventKind.TRANSFER and e.actor_id in dispatchers)]
        expected = sent[-1].actor_unit_id if sent else None
        assert t.dispatcher_unit_id == expected, t.number
        routed_by_second_line += bool(sent and sent[-1].kind == EventKind.TRANSFER)
    assert routed_by_second_line > 10
