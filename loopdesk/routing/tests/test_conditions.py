"""Routing rules' conditions customer tier, customer's branch and channel: a rule with one of them set takes
the tickets that match it and only those (the others fall through to the next rule), both in `route_ticket`
and when a ticket is registered and dispatched through the service."""

from __future__ import annotations

from typing import Any

import pytest

from loopdesk.conftest import T0, World
from loopdesk.customers.choices import Tier, VipLevel
from loopdesk.routing.models import RoutingRule
from loopdesk.routing.services import route_ticket
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Channel, ContactType

# condition on the rule, what the matching ticket has, what a ticket that does not match has.
CASES = {
    "tier": ({"tier": Tier.VIP}, {"vip_level": VipLevel.GOLD}, {"vip_level": VipLevel.NONE}),
    "branch": ({"branch": "branch_xh"}, {"home_branch": "branch_xh"}, {"home_branch": "zh"}),
    "channel": ({"channel": Channel.REGULATOR}, {"channel": Channel.REGULATOR}, {"channel": Channel.HOTLINE}),
}


def _units(world: World, values: dict[str, Any]) -> dict[str, Any]:
    return {k: world.units[v] if k in ("branch", "home_branch") else v for k, v in values.items()}


def _ticket(world: World, attrs: dict[str, Any]) -> dict[str, Any]:
    attrs = _units(world, attrs)
    customer = world.customer(**{k: v for k, v in attrs.items() if k in ("vip_level", "home_branch")})
    return world.ticket_kwargs(customer=customer, channel=attrs.get("channel", Channel.HOTLINE))


@pytest.mark.parametrize("condition", list(CASES))
def test_a_rule_with_one_condition_takes_only_the_matching_tickets(world: World, condition: str) -> None:
    rule_values, matching, other = CASES[condition]
    rule = RoutingRule.objects.create(name=f"by {condition}", position=5, target_unit=world.units["it"],
                                      **_units(world, rule_values))
    for attrs, unit, chosen in ((matching, "it", rule.pk), (other, "netmaint", None)):
        kwargs = _ticket(world, attrs)
        customer = kwargs["customer"]
        decision = route_ticket(region="JM", category=kwargs["category"], contact_type=kwargs["contact_type"],
                                tier=customer.tier, channel=kwargs["channel"], branch_id=customer.home_branch_id)
        assert decision.unit == world.units[unit], (condition, attrs)
        if chosen:
            assert decision.rule.pk == chosen
        else:
            assert decision.rule.name == "基础通信→网维"  # the next rule by position
        ticket = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **kwargs)
        assert ticket.handler_unit == world.units[unit], (condition, attrs)


def test_all_conditions_together_must_all_match(world: World) -> None:
    RoutingRule.objects.create(name="VIP regulator Xinhui", position=5, target_unit=world.units["it"],
                               tier=Tier.VIP, branch=world.units["branch_xh"], channel=Channel.REGULATOR,
                               contact_type=ContactType.COMPLAINT)
    full = {"vip_level": VipLevel.GOLD, "home_branch": "branch_xh", "channel": Channel.REGULATOR}
    assert s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                              **_ticket(world, full)).handler_unit == world.units["it"]
    for condition, (_rule, _matching, other) in CASES.items():
        attrs = {**full, **other}
        ticket = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **_ticket(world, attrs))
        assert ticket.handler_unit == world.units["netmaint"], condition


def test_a_rule_without_a_region_does_not_send_another_citys_tickets_to_its_city_unit(world: World) -> None:
    from loopdesk.org.choices import UnitFunction, UnitLevel
    from loopdesk.org.models import OrgUnit

    zh_l2 = OrgUnit.objects.create(code="ZH-L2", name="珠海综援室", parent=world.units["zh"], level=UnitLevel.ROOM,
                                   function=UnitFunction.SECOND_LINE, province="GD", region="ZH")
    # "基础通信→网维" has no region and sends to Jiangmen's network maintenance centre.
    decision = route_ticket(region="ZH", category=world.categories["indoor"], contact_type=ContactType.COMPLAINT,
                            tier=Tier.REGULAR, channel=Channel.HOTLINE)
    assert decision.unit == zh_l2 and decision.rule is None
    jm = route_ticket(region="JM", category=world.categories["indoor"], contact_type=ContactType.COMPLAINT,
                      tier=Tier.REGULAR, channel=Channel.HOTLINE)
    assert jm.unit == world.units["netmaint"]
    t = s.do_create_ticket(acting_user=world.user("zh_agent"), now=T0, dispatch=True,
                           **world.ticket_kwargs(customer=world.customer(region="ZH", home_branch=None)))
    assert t.handler_unit_id == zh_l2.pk


def test_a_rule_to_another_provinces_department_is_passed_over(world: World) -> None:
    """As a city's unit takes only its city's tickets, a province's department takes only its province's: a rule
    without a region that targets another province's department falls through to the next rule (the dispatch
    would be refused on the unit), also in the "where would this go" preview."""
    from loopdesk.org.choices import UnitFunction, UnitLevel
    from loopdesk.org.models import OrgUnit

    js = OrgUnit.objects.create(code="JS", name="江苏公司", parent=world.units["hq"], level=UnitLevel.PROVINCE,
                                function=UnitFunction.MANAGEMENT, province="JS", region="JS")
    js_net = OrgUnit.objects.create(code="JSNET", name="江苏省网络部", parent=js, level=UnitLevel.PROVINCE,
                                    function=UnitFunction.SPECIALIST, province="JS", region="JS")
    RoutingRule.objects.create(name="全部→江苏", position=1, category=world.categories["basic"], target_unit=js_net)
    decision = route_ticket(region="JM", category=world.categories["indoor"], contact_type=ContactType.COMPLAINT,
                            tier=Tier.REGULAR, channel=Channel.HOTLINE)
    assert decision.unit == world.units["netmaint"]
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           **world.ticket_kwargs(category=world.categories["calls"]))
    assert t.handler_unit == world.units["netmaint"]
