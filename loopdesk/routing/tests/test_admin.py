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
