"""A city's supervisor could, in the routing rule admin, change, switch off or add a rule of every region (region
empty) or of another city: Jiangmen's supervisor re-routed Zhuhai's tickets. They keep their own city's rules now:
the list shows those and the rules of every region (read-only), never another city's; a save or deletion of a rule
outside their scope is a 403 and changes nothing; a new rule names their region (another region or none is a field
error in their language). The province's supervisor keeps every rule."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

from loopdesk.conftest import World, post_admin_change, staff_client
from loopdesk.core.reference import _permissions_for_role
from loopdesk.org.choices import Role
from loopdesk.routing.models import RoutingRule
from loopdesk.workbench.tests.test_sms_template_scope import province_supervisor


def supervisors_may_edit_policy() -> None:
    """The supervisor group's admin permissions as seed_reference gives them (add/change/view the policy)."""
    Group.objects.get_or_create(name=Role.SUPERVISOR)[0].permissions.add(*_permissions_for_role(Role.SUPERVISOR))


def _data(rule: RoutingRule, **changes: Any) -> dict[str, Any]:
    data = {"name": rule.name, "name_en": rule.name_en, "position": rule.position, "is_active": "on",
            "region": rule.region, "category": rule.category_id or "", "contact_type": rule.contact_type,
            "tier": rule.tier, "channel": rule.channel, "branch": rule.branch_id or "",
            "target_unit": rule.target_unit_id}
    data.update(changes)
    return data


def _rules(world: World) -> dict[str, RoutingRule]:
    supervisors_may_edit_policy()
    return {
        "every": RoutingRule.objects.create(name="投诉→省公司", position=5, category=world.categories["other"],
                                            target_unit=world.units["gd"]),  # region empty: every region's
        "jm": RoutingRule.objects.create(name="江门费用", position=25, region="JM",
                                         category=world.categories["billing"],
                                         target_unit=world.units["it"]),
        "zh": RoutingRule.objects.create(name="珠海费用", position=25, region="ZH",
                                         category=world.categories["billing"],
                                         target_unit=world.units["gd"]),
    }


def _state() -> list[tuple[Any, ...]]:
    return list(RoutingRule.objects.order_by("pk").values_list("pk", "name", "position", "is_active", "region"))


def test_a_city_supervisor_lists_their_citys_rules_and_every_regions_but_not_another_citys(world: World) -> None:
    rules = _rules(world)
    client = staff_client(world, "supervisor", language="en")
    listing = client.get("/admin/routing/routingrule/")
    assert listing.status_code == 200
    shown = set(listing.context["cl"].result_list.values_list("pk", flat=True))
    assert {rules["every"].pk, rules["jm"].pk} <= shown and rules["zh"].pk not in shown


def test_a_city_supervisor_may_not_change_or_delete_a_rule_of_every_region_or_of_another_city(world: World) -> None:
    rules = _rules(world)
    before = _state()
    client = staff_client(world, "supervisor", language="en")
    url = f"/admin/routing/routingrule/{rules['every'].pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="position"' not in page.content.decode()  # read-only
    assert client.post(url, _data(rules["every"], position=1, region="")).status_code == 403
    switched_off = _data(rules["every"])
    del switched_off["is_active"]
    assert client.post(url, switched_off).status_code == 403
    other = f"/admin/routing/routingrule/{rules['zh'].pk}/change/"
    assert client.post(other, _data(rules["zh"], target_unit=world.units["it"].pk)).status_code != 200
    assert client.post(f"/admin/routing/routingrule/{rules['zh'].pk}/delete/", {"post": "yes"}).status_code != 200
    assert _state() == before


def test_a_city_supervisor_adds_and_changes_rules_of_their_city_only(world: World) -> None:
    rules = _rules(world)
    client = staff_client(world, "supervisor", language="zh-hans")
    assert client.get("/admin/routing/routingrule/add/").context["adminform"].form.initial["region"] == "JM"
    before = _state()
    for region in ("", "ZH"):
        response = client.post("/admin/routing/routingrule/add/",
                               _data(rules["zh"], name="新规则", position=1, region=region))
        assert response.status_code == 200
        assert "只能维护" in response.context["adminform"].form.errors["region"][0]
    moved = post_admin_change(client, f"/admin/routing/routingrule/{rules['jm'].pk}/change/",
                              _data(rules["jm"], region=""))
    assert moved.status_code == 200 and moved.context["adminform"].form.errors["region"]
    assert _state() == before
    response = client.post("/admin/routing/routingrule/add/",
                           _data(rules["jm"], name="江门新规则", position=1))
    assert response.status_code == 302
    assert RoutingRule.objects.get(name="江门新规则").region == "JM"
    changed = post_admin_change(client, f"/admin/routing/routingrule/{rules['jm'].pk}/change/",
                                _data(rules["jm"], position=7))
    assert changed.status_code == 302
    assert RoutingRule.objects.get(pk=rules["jm"].pk).position == 7


def test_the_province_supervisor_keeps_every_rule(world: World) -> None:
    rules = _rules(world)
    key = province_supervisor(world)
    client = staff_client(world, key, language="en")
    assert client.get("/admin/routing/routingrule/").context["cl"].result_count == RoutingRule.objects.count()
    for rule in (rules["every"], rules["zh"]):
        response = post_admin_change(client, f"/admin/routing/routingrule/{rule.pk}/change/", _data(rule, position=3))
        assert response.status_code == 302, response.content.decode()
        assert RoutingRule.objects.get(pk=rule.pk).position == 3


def test_another_provinces_supervisor_keeps_their_province_only(world: World) -> None:
    """With a second province, neither province's supervisors keep the rules of every region, nor the other's."""
    from loopdesk.org.choices import UnitFunction, UnitLevel
    from loopdesk.org.models import OrgUnit, User

    rules = _rules(world)
    fj = OrgUnit.objects.create(code="FJ", name="福建公司", name_en="Fujian", parent=world.units["hq"],
                                level=UnitLevel.PROVINCE, function=UnitFunction.MANAGEMENT, province="FJ", region="FJ")
    OrgUnit.objects.create(code="XM", name="厦门分公司", name_en="Xiamen", parent=fj, level=UnitLevel.CITY,
                           function=UnitFunction.MANAGEMENT, province="FJ", region="XM")
    user = User.objects.create_user(username="fj_supervisor", password="pw-fj", unit=fj, display_name="fj")
    user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    world.users["fj_supervisor"] = user
    before = _state()
    client = staff_client(world, "fj_supervisor", language="en")
    shown = set(client.get("/admin/routing/routingrule/").context["cl"].result_list.values_list("pk", flat=True))
    assert rules["jm"].pk not in shown and rules["zh"].pk not in shown and rules["every"].pk in shown
    assert client.post(f"/admin/routing/routingrule/{rules['every'].pk}/change/",
                       _data(rules["every"], position=1)).status_code == 403
    response = client.post("/admin/routing/routingrule/add/", _data(rules["zh"], name="福建规则", region="JM"))
    assert response.status_code == 200
    error = response.context["adminform"].form.errors["region"][0]
    assert "XM" in error and "FJ" not in error  # the province's cities, not the company's own code
    assert _state() == before
    gd = staff_client(world, province_supervisor(world), language="en")
    assert gd.post(f"/admin/routing/routingrule/{rules['every'].pk}/change/",
                   _data(rules["every"], position=1)).status_code == 403
    assert post_admin_change(gd, f"/admin/routing/routingrule/{rules['jm'].pk}/change/",
                             _data(rules["jm"], position=9)).status_code == 302
