"""SLA policies' conditions priority and channel (with tier, contact type and category elsewhere): a policy
with one of them set applies to the tickets that match it and only those; the others get the next policy."""

from __future__ import annotations

import datetime as dt

import pytest

from loopdesk.conftest import T0, World
from loopdesk.sla.models import SlaPolicy
from loopdesk.sla.services import select_policy
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Channel, Priority

CASES = {
    "priority": ({"priority": Priority.URGENT}, {"priority": Priority.URGENT}, {"priority": Priority.NORMAL}),
    "channel": ({"channel": Channel.REGULATOR}, {"channel": Channel.REGULATOR}, {"channel": Channel.WEB}),
}


@pytest.mark.parametrize("condition", list(CASES))
def test_a_policy_with_one_condition_applies_only_to_matching_tickets(world: World, condition: str) -> None:
    policy_values, matching, other = CASES[condition]
    policy = SlaPolicy.objects.create(name=f"by {condition}", position=5, calendar=world.calendars["24x7"],
                                      resolution_minutes=240, **policy_values)
    for attrs, expected in ((matching, policy), (other, world.policies["default"])):
        kwargs = world.ticket_kwargs(**attrs)
        chosen = select_policy(contact_type=kwargs["contact_type"], category=kwargs["category"],
                               tier=kwargs["customer"].tier, priority=attrs.get("priority", Priority.NORMAL),
                               channel=kwargs["channel"])
        assert chosen == expected, (condition, attrs)
        ticket = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **kwargs)
        assert ticket.sla_policy == expected, (condition, attrs)
        assert (ticket.resolution_due_at == T0 + dt.timedelta(minutes=240)) == (expected == policy)


def test_both_conditions_together_must_both_match(world: World) -> None:
    policy = SlaPolicy.objects.create(name="urgent regulator", position=5, calendar=world.calendars["24x7"],
                                      priority=Priority.URGENT, channel=Channel.REGULATOR)
    both = {"priority": Priority.URGENT, "channel": Channel.REGULATOR}
    assert s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs(**both)).sla_policy \
        == policy
    for _values, _matching, other in CASES.values():
        ticket = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs(**{**both, **other}))
        assert ticket.sla_policy == world.policies["default"]
