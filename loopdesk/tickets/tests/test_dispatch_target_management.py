"""Work orders go to specialist departments or second-line support of their city (docs/workflow.md), not to a city's
management units: the city company, 服务管理室 (the supervisors, who oversee the loop) and 人力资源部 (reads reports)
have nobody who accepts or replies. The service (REST API, a bulk form sent by hand) and the routing rule admin
accepted them, so a work order sent there waited for nobody; routing rules saved before are passed over."""

from __future__ import annotations

import pytest
from django.utils import translation

from loopdesk.conftest import T0, World
from loopdesk.core.errors import ValidationFailed
from loopdesk.core.tests.test_admin_language import _admin_client
from loopdesk.routing.models import RoutingRule
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket, TicketUnitAccess


@pytest.mark.parametrize("unit", ["svcmgmt", "jm"])
def test_dispatch_and_transfer_to_a_citys_management_unit_are_field_errors(world: World, unit: str) -> None:
    target = world.units[unit]
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    for language, text in (("en", "management unit"), ("zh-hans", "管理单位")):
        with translation.override(language), pytest.raises(ValidationFailed) as refused:
            s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=target, now=T0)
        assert text in refused.value.errors["to_unit"][0], refused.value.errors
    fresh = Ticket.objects.get(pk=t.pk)
    assert fresh.status == Status.NEW and fresh.version == t.version and fresh.dispatch_count == 0

    t = s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=world.units["netmaint"], now=T0)
    with pytest.raises(ValidationFailed) as refused:
        s.do_transfer_ticket(acting_user=world.user("supervisor"), ticket=t, to_unit=target, note="服务态度",
                             now=T0)
    assert list(refused.value.errors) == ["to_unit"]
    fresh = Ticket.objects.get(pk=t.pk)
    assert fresh.handler_unit_id == world.units["netmaint"].pk and fresh.version == t.version
    assert not TicketUnitAccess.objects.filter(ticket=t, unit=target).exists()


def test_a_routing_rule_to_a_citys_management_unit_is_refused_and_an_old_one_passed_over(world: World) -> None:
    data = {"name": "服务→服务管理室", "position": 5, "is_active": "on", "region": "JM", "category": "",
            "contact_type": "", "tier": "", "channel": "", "branch": "", "target_unit": world.units["svcmgmt"].pk}
    response = _admin_client(world, "zh-hans").post("/admin/routing/routingrule/add/", data)
    assert response.status_code == 200
    assert "管理单位" in response.context["adminform"].form.errors["target_unit"][0]
    assert not RoutingRule.objects.filter(name="服务→服务管理室").exists()

    RoutingRule.objects.create(name="全部→服务管理室", position=1, region="JM", target_unit=world.units["svcmgmt"])
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    assert t.handler_unit_id == world.units["netmaint"].pk  # the next rule that matches (基础通信→网维)
