"""Property tests: random sequences of actions by random staff keep the loop's invariants."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from loopdesk.conftest import T0, World, build_world
from loopdesk.core.errors import DomainError
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import PAUSED_STATUSES, TERMINAL_STATUSES, Action, CallbackVerdict, RejectReason
from loopdesk.tickets.models import Ticket, TicketEvent
from loopdesk.tickets.policy import allowed_actions
from loopdesk.tickets.timeline import replay_matches

ACTORS = ["agent", "agent2", "dispatcher", "specialist", "optimiser", "it_specialist", "head", "supervisor",
          "auditor", "clerk"]
UNITS = ["netmaint", "netopt", "it", "l2"]


def _call(world: World, action: str, actor: str, ticket: Ticket, unit: str, verdict: str, at: dt.datetime) -> Ticket:
    user = world.user(actor)
    common = {"acting_user": user, "ticket": ticket, "now": at}
    text = "说明"
    extra: dict = {
        Action.DISPATCH: {"to_unit": world.units[unit]},
        Action.TRANSFER: {"to_unit": world.units[unit], "note": text},
        Action.RETURN: {"reason": text},
        Action.REQUEST_INFO: {"question": text},
        Action.PROVIDE_INFO: {"info": text},
        Action.REQUEST_HOLD: {"reason": text},
        Action.DENY_HOLD: {"reason": text},
        Action.REPLY: {"resolution": text},
        Action.ANSWER: {"answer": text, "resolution": text},
        Action.CALLBACK: {"verdict": verdict},
        Action.REOPEN: {"reason": text},
        Action.WITHDRAW: {"reason": text},
        Action.REJECT: {"reason": RejectReason.INVALID},
    }.get(action, {})
    return s.ACTION_SERVICES[action](**common, **extra)


steps = st.lists(
    st.tuples(
        st.sampled_from([True, True, True, False]),  # guided: take an action this state allows, by someone allowed to
        st.integers(min_value=0, max_value=50),
        st.sampled_from(list(s.ACTION_SERVICES)),
        st.sampled_from(ACTORS),
        st.sampled_from(UNITS),
        st.sampled_from(list(CallbackVerdict.values)),
        st.integers(min_value=1, max_value=40 * 60),  # minutes until the next action
    ),
    min_size=3,
    max_size=30,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
def test_random_action_sequences_keep_the_invariants(steps: list) -> None:
    world = _world()
    ticket = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    first_responder = ticket.first_responder_id
    at = T0
    applied = 1
    reached: set[str] = set()
    for guided, pick, action, actor, unit, verdict, minutes in steps:
        at += dt.timedelta(minutes=minutes)
        before = Ticket.objects.select_related("handler_unit").get(pk=ticket.pk)
        if guided:
            options = [(a, u) for u in ACTORS for a in allowed_actions(world.user(u), before)]
            if options:
                action, actor = options[pick % len(options)]
            else:
                guided = False
        try:
            ticket = _call(world, action, actor, before, unit, verdict, at)
            applied += 1
        except DomainError as exc:
            event(f"refused {type(exc).__name__} guided={guided}")
            if guided and type(exc).__name__ == "InvalidTransition":
                raise AssertionError(f"{action} by {actor} from {before.status}: {exc}")
            after = Ticket.objects.get(pk=ticket.pk)
            assert after.version == before.version, "a refused action changed the ticket"
            assert after.last_event_seq == before.last_event_seq
            ticket = after
            continue
        stored = Ticket.objects.get(pk=ticket.pk)
        # The first responder never changes.
        assert stored.first_responder_id == first_responder
        # A closed ticket has a resolution and an answer to the customer.
        if stored.status == "closed":
            assert stored.resolution and stored.answer and stored.closed_at
        # SLA clocks stop only while waiting for information or suspended.
        assert stored.sla_paused == (stored.status in PAUSED_STATUSES)
        assert stored.is_open == (stored.status not in TERMINAL_STATUSES)
        # Replaying the timeline gives the ticket's current state.
        events = list(TicketEvent.objects.filter(ticket=stored).order_by("seq"))
        assert replay_matches(stored, events) == []
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        reached.add(stored.status)
    assert Ticket.objects.get(pk=ticket.pk).version == applied
    event(f"reached {len(reached)} states")


_cached: dict[str, World] = {}


def _world() -> World:
    # Hypothesis runs many examples inside one test transaction: build the world once per test.
    from loopdesk.org.models import OrgUnit

    world = _cached.get("w")
    if world is None or not OrgUnit.objects.filter(pk=world.units["hq"].pk).exists():
        world = build_world()
        _cached["w"] = world
    return world
