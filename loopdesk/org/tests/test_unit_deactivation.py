"""Deactivating a unit in the admin while it is still in use (open work orders with it, active staff in it, active
routing rules sending work to it) is refused under the field, in the reader's language, naming what is left; so is
moving it to another city while open work orders of its city are with it."""

from __future__ import annotations

from typing import Any

import pytest

from loopdesk.conftest import T0, World, post_admin_change, staff_client
from loopdesk.org.models import OrgUnit
from loopdesk.routing.models import RoutingRule
from loopdesk.tickets import services as s


def _form(unit: OrgUnit, **changes: Any) -> dict[str, Any]:
    data = {"code": unit.code, "name": unit.name, "name_en": unit.name_en, "parent": unit.parent_id or "",
            "level": unit.level, "function": unit.function, "province": unit.province, "region": unit.region}
    if unit.is_active:
        data["is_active"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _deactivate(world: World, key: str, language: str) -> Any:
    unit = OrgUnit.objects.get(pk=world.units[key].pk)
    client = staff_client(world, "admin", superuser=True, language=language)
    return post_admin_change(client, f"/admin/org/orgunit/{unit.pk}/change/", _form(unit, is_active=None))


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "expected"), [
    ("en", "open work orders with it: 1; active staff in it: 2; active routing rules sending work to it: 1"),
    ("zh-hans", "在办工单 1 张；在职员工 2 人；指向它的有效派单规则 1 条"),
])
def test_a_unit_in_use_is_not_deactivated(world: World, language: str, expected: str) -> None:
    s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, dispatch_to=world.units["netmaint"],
                       **world.ticket_kwargs())
    response = _deactivate(world, "netmaint", language)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert expected in errors["is_active"][0]
    assert OrgUnit.objects.get(pk=world.units["netmaint"].pk).is_active


@pytest.mark.django_db
def test_a_unit_handed_over_is_deactivated(world: World) -> None:
    RoutingRule.objects.filter(target_unit=world.units["netopt"]).update(is_active=False)
    for key in ("optimiser",):
        user = world.user(key)
        user.unit = world.units["netmaint"]
        user.save()
    response = _deactivate(world, "netopt", "en")
    assert response.status_code == 302
    assert not OrgUnit.objects.get(pk=world.units["netopt"].pk).is_active


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "expected"), [
    ("en", "cannot move to another city while 1 open work orders of JM"),
    ("zh-hans", "仍有 1 张 JM 的在办工单"),
])
def test_a_unit_with_open_work_orders_does_not_move_to_another_city(world: World, language: str,
                                                                     expected: str) -> None:
    """Moved under Zhuhai with Jiangmen's work order in hand, its staff would have seen and handled it there."""
    s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, dispatch_to=world.units["netopt"],
                       **world.ticket_kwargs())
    unit = OrgUnit.objects.get(pk=world.units["netopt"].pk)
    client = staff_client(world, "admin", superuser=True, language=language)
    response = post_admin_change(client, f"/admin/org/orgunit/{unit.pk}/change/",
                                 _form(unit, parent=world.units["zh"].pk, region="ZH"))
    assert response.status_code == 200
    assert expected in response.context["adminform"].form.errors["region"][0]
    stored = OrgUnit.objects.get(pk=unit.pk)
    assert (stored.region, stored.parent_id) == ("JM", world.units["net"].pk)


@pytest.mark.django_db
def test_a_unit_without_open_work_orders_moves_to_another_city(world: World) -> None:
    unit = OrgUnit.objects.get(pk=world.units["netopt"].pk)
    client = staff_client(world, "admin", superuser=True)
    response = post_admin_change(client, f"/admin/org/orgunit/{unit.pk}/change/",
                                 _form(unit, parent=world.units["zh"].pk, region="ZH"))
    assert response.status_code == 302
    assert OrgUnit.objects.get(pk=unit.pk).region == "ZH"
