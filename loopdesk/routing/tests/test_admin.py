"""The routing rule admin: a rule that sends a city's tickets elsewhere is refused on the field."""

from __future__ import annotations

from typing import Any

import pytest

from loopdesk.conftest import World
from loopdesk.core.tests.test_admin_language import _admin_client
from loopdesk.routing.models import RoutingRule


def _rule(world: World, **changes: Any) -> dict[str, Any]:
    data = {"name": "信号→网优", "position": 5, "is_active": "on", "region": "JM", "category": "",
            "contact_type": "", "tier": "", "channel": "", "branch": "", "target_unit": world.units["netopt"].pk}
    data.update(changes)
    return data


@pytest.mark.parametrize("region", ["", "ZH"])
def test_a_rule_sending_other_regions_tickets_to_a_city_unit_is_a_field_error(world: World, region: str) -> None:
    before = RoutingRule.objects.count()
    response = _admin_client(world, "zh-hans").post("/admin/routing/routingrule/add/", _rule(world, region=region))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["region"]
    assert RoutingRule.objects.count() == before


def test_a_branch_of_another_region_is_a_field_error(world: World) -> None:
    data = _rule(world, branch=world.units["zh_call"].pk)
    response = _admin_client(world, "en").post("/admin/routing/routingrule/add/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["branch"]


def test_a_rule_within_its_city_is_saved(world: World) -> None:
    response = _admin_client(world, "en").post("/admin/routing/routingrule/add/", _rule(world))
    assert response.status_code == 302
    assert RoutingRule.objects.filter(name="信号→网优", region="JM").exists()


def test_a_region_typed_in_lower_case_is_saved_as_the_region_code(world: World) -> None:
    response = _admin_client(world, "en").post("/admin/routing/routingrule/add/", _rule(world, region=" jm "))
    assert response.status_code == 302
    assert RoutingRule.objects.get(name="信号→网优").region == "JM"


def test_an_unknown_region_is_a_field_error(world: World) -> None:
    """A rule for a region no unit has would never match a ticket (the province's unit takes any region)."""
    data = _rule(world, region="QQ", target_unit=world.units["gd"].pk)
    response = _admin_client(world, "en").post("/admin/routing/routingrule/add/", data)
    assert response.status_code == 200
    assert "QQ" in response.context["adminform"].form.errors["region"][0]
    assert not RoutingRule.objects.filter(name="信号→网优").exists()


def test_the_region_error_names_the_unit_in_the_users_language(world: World) -> None:
    response = _admin_client(world, "en").post("/admin/routing/routingrule/add/", _rule(world, region="ZH"))
    message = response.context["adminform"].form.errors["region"][0]
    assert "netopt" in message and "网络优化中心" not in message, message


def test_the_unknown_region_error_is_in_chinese_for_a_chinese_user(world: World) -> None:
    data = _rule(world, region="QQ", target_unit=world.units["gd"].pk)
    response = _admin_client(world, "zh-hans").post("/admin/routing/routingrule/add/", data)
    assert response.context["adminform"].form.errors["region"] == ["没有单位使用地市代码 QQ。"]


@pytest.mark.parametrize(("region", "language", "message"), [
    ("HQ", "en", "HQ is the code of the group or of a province, not of a city"),
    ("gd", "zh-hans", "GD 是集团或省公司的代码，不是地市代码"),
])
def test_the_groups_or_a_provinces_code_is_a_field_error(world: World, region: str, language: str,
                                                         message: str) -> None:
    """Work orders carry their city's region code: a rule for "HQ" or "GD" was saved and matched no work order."""
    data = _rule(world, region=region, target_unit=world.units["gd"].pk)
    response = _admin_client(world, language).post("/admin/routing/routingrule/add/", data)
    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["region"]
    assert error.startswith(message), error
    assert not RoutingRule.objects.filter(name="信号→网优").exists()
    saved = _admin_client(world, "en").post("/admin/routing/routingrule/add/",
                                            _rule(world, region="", target_unit=world.units["gd"].pk))
    assert saved.status_code == 302 and RoutingRule.objects.get(name="信号→网优").region == ""


def test_a_rule_sending_a_citys_tickets_to_another_provinces_unit_is_a_field_error(world: World) -> None:
    """Routing passes over a unit of another province for a city's tickets (route_ticket): such a rule was saved and
    never applied, the tickets going elsewhere without a word."""
    from loopdesk.org.choices import UnitFunction, UnitLevel
    from loopdesk.org.models import OrgUnit

    fj = OrgUnit.objects.create(code="FJ", name="福建公司", name_en="Fujian", parent=world.units["hq"],
                                level=UnitLevel.PROVINCE, function=UnitFunction.MANAGEMENT, province="FJ", region="FJ")
    before = RoutingRule.objects.count()
    response = _admin_client(world, "zh-hans").post("/admin/routing/routingrule/add/", _rule(world, target_unit=fj.pk))
    assert response.status_code == 200
    assert "其他省公司" in response.context["adminform"].form.errors["target_unit"][0]
    assert RoutingRule.objects.count() == before
    own = _admin_client(world, "en").post("/admin/routing/routingrule/add/",
                                          _rule(world, target_unit=world.units["gd"].pk))
    assert own.status_code == 302
