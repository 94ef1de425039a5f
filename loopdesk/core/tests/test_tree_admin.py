"""Moving a unit or category in the admin below itself (a cycle) is a field error on the parent, in the
user's language; nothing is saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from loopdesk.conftest import World, post_admin_change
from loopdesk.core.tests.test_admin_language import _admin_client
from loopdesk.org.models import OrgUnit
from loopdesk.tickets.models import Category


def _unit_data(unit: OrgUnit, parent: OrgUnit | None) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "name_en": unit.name_en, "parent": parent.pk if parent else "",
            "level": unit.level, "function": unit.function, "province": unit.province, "region": unit.region,
            "is_active": "on"}


def _category_data(category: Category, parent: Category | None) -> dict[str, Any]:
    return {"code": category.code, "name": category.name, "name_en": category.name_en,
            "parent": parent.pk if parent else "", "position": category.position, "keywords": "",
            "is_active": "on"}


@pytest.mark.parametrize("below", ["net", "netmaint"])
def test_a_unit_moved_below_itself_is_a_field_error(world: World, below: str) -> None:
    unit = world.units["net"]
    client = _admin_client(world, "zh-hans")
    response = post_admin_change(client, f"/admin/org/orgunit/{unit.pk}/change/", _unit_data(unit, world.units[below]))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"]
    assert "自身" in response.content.decode()
    unit.refresh_from_db()
    assert unit.parent_id == world.units["jm"].pk


@pytest.mark.parametrize("below", ["basic", "indoor"])
def test_a_category_moved_below_itself_is_a_field_error(world: World, below: str) -> None:
    category = world.categories["basic"]
    client = _admin_client(world, "en")
    response = post_admin_change(client, f"/admin/tickets/category/{category.pk}/change/",
                             _category_data(category, world.categories[below]))
    assert response.status_code == 200
    assert "below itself" in " ".join(response.context["adminform"].form.errors["parent"])
    category.refresh_from_db()
    assert category.parent_id is None


def test_a_unit_moved_elsewhere_is_still_saved(world: World) -> None:
    unit = world.units["it"]
    client = _admin_client(world, "en")
    response = post_admin_change(client, f"/admin/org/orgunit/{unit.pk}/change/", _unit_data(unit, world.units["mkt"]))
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.parent_id == world.units["mkt"].pk and unit.path.startswith(world.units["mkt"].path)


def test_model_clean_refuses_a_cycle(world: World) -> None:
    unit = world.units["csc"]
    unit.parent = world.units["call"]
    with pytest.raises(ValidationError) as caught:
        unit.full_clean()
    assert "parent" in caught.value.message_dict


def test_a_unit_below_a_city_takes_its_citys_region(world: World) -> None:
    unit = world.units["netmaint"]
    client = _admin_client(world, "zh-hans")
    data = _unit_data(unit, world.units["net"])
    data["region"] = "ZH"
    response = post_admin_change(client, f"/admin/org/orgunit/{unit.pk}/change/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["region"]
    unit.refresh_from_db()
    assert unit.region == "JM"


def test_moving_a_department_to_another_city_moves_its_rooms_region_too(world: World) -> None:
    net = world.units["net"]
    client = _admin_client(world, "en")
    data = _unit_data(net, world.units["zh"])
    data["region"] = "ZH"
    response = post_admin_change(client, f"/admin/org/orgunit/{net.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert set(OrgUnit.objects.filter(path__startswith=OrgUnit.objects.get(pk=net.pk).path)
               .values_list("region", flat=True)) == {"ZH"}
