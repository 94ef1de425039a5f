"""Dispatch and transfer send a work order to a unit of its own city or province (docs/workflow.md). A unit of the
group headquarters (HQ) passed the region check, which knew only cities and provinces: the REST API (or a bulk
dispatch form sent by hand) put a city's complaint with 集团总部, where nobody handles it, and a routing rule to an HQ
unit sent every city's matching work orders there."""

from __future__ import annotations

import pytest

from loopdesk.conftest import T0, World
from loopdesk.core.errors import ValidationFailed
from loopdesk.routing.models import RoutingRule
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket


def test_dispatch_and_transfer_to_an_hq_unit_are_field_errors(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    with pytest.raises(ValidationFailed) as refused:
        s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=world.units["hq"], now=T0)
    assert list(refused.value.errors) == ["to_unit"]
    fresh = Ticket.objects.get(pk=t.pk)
    assert fresh.status == Status.NEW and fresh.version == t.version and fresh.dispatch_count == 0

    t = s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=world.units["netmaint"], now=T0)
    with pytest.raises(ValidationFailed) as refused:
        s.do_transfer_ticket(acting_user=world.user("dispatcher"), ticket=t, to_unit=world.units["hq"], note="上报",
                             now=T0)
    assert list(refused.value.errors) == ["to_unit"]
    fresh = Ticket.objects.get(pk=t.pk)
    assert fresh.handler_unit_id == world.units["netmaint"].pk and fresh.version == t.version


def test_a_routing_rule_to_an_hq_unit_is_passed_over(world: World) -> None:
    RoutingRule.objects.create(name="全部→总部", position=1, target_unit=world.units["hq"])
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    assert t.handler_unit_id == world.units["netmaint"].pk  # the next rule that matches (基础通信→网维)
