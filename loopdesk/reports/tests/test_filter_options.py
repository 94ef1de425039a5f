"""The filter bar's branches and departments: the units of what the user may see, inactive ones marked."""

from __future__ import annotations

import re

from django.test import Client

from loopdesk.conftest import World
from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit


def _options(html: str, name: str) -> dict[str, str]:
    select = re.search(rf'<select id="f-{name}" name="{name}">(.*?)</select>', html, re.S)
    assert select is not None
    return {value: label.strip() for value, label in re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>',
                                                                 select.group(1))}


def test_branch_and_department_choices_are_the_users_scope(world: World) -> None:
    zh_branch = OrgUnit.objects.create(code="ZHB", name="香洲分公司", name_en="Xiangzhou", parent=world.units["zh"],
                                       level=UnitLevel.CENTRE, function=UnitFunction.FRONT_LINE, province="GD",
                                       region="ZH")
    zh_dept = OrgUnit.objects.create(code="ZHN", name="珠海网络部", name_en="ZH network", parent=world.units["zh"],
                                     level=UnitLevel.CENTRE, function=UnitFunction.SPECIALIST, province="GD",
                                     region="ZH")
    closed = world.units["branch_xh"]
    closed.is_active = False
    closed.save()
    client = Client()
    client.force_login(world.users["supervisor"])  # Jiangmen's service supervisor
    for page in ("/reports/", "/reports/table/", "/reports/scorecard/"):
        html = client.get(page + "?month=2026-11").content.decode()
        branches, departments = _options(html, "branch"), _options(html, "department")
        assert str(zh_branch.pk) not in branches and str(zh_dept.pk) not in departments, page
        assert branches[str(world.units["csc"].pk)] == "客户服务中心"
        assert branches[str(closed.pk)] == "新会分公司（已停用）"  # past periods have its figures
        assert str(world.units["netmaint"].pk) in departments
    english = client.get("/reports/?month=2026-11", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _options(english, "branch")[str(closed.pk)] == "branch_xh (inactive)"
    admin = Client()
    admin.force_login(world.users["admin"])
    html = admin.get("/reports/?month=2026-11").content.decode()
    assert str(zh_branch.pk) in _options(html, "branch") and str(zh_dept.pk) in _options(html, "department")
    # The administrator looking at one region (a link with region=JM): that region's units.
    html = admin.get("/reports/?month=2026-11&region=JM").content.decode()
    assert str(zh_branch.pk) not in _options(html, "branch")


def test_the_department_choices_include_the_second_line_room_work_orders_are_dispatched_to(world: World) -> None:
    """The second-line support room (综援室) is sent work orders (routing: 其它 → 综援室) and has a row in the
    department table: the filter bar offers it, so its figures can be filtered to, as any department's."""
    from loopdesk.conftest import T0
    from loopdesk.reports import measures as m
    from loopdesk.reports import rollups
    from loopdesk.tickets import services as s

    agent, l2 = world.user("agent"), world.units["l2"]
    t = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs(category=world.categories["other"]))
    s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=l2, now=T0)
    rollups.fold_pending()
    assert m.report(world.user("supervisor"), m.Period.month(2026, 11), {"department": l2.pk}).values[
        "dispatched"] == 1
    client = Client()
    client.force_login(world.users["supervisor"])
    for page in ("/reports/", "/reports/table/", "/reports/scorecard/"):
        html = client.get(page + "?month=2026-11").content.decode()
        assert _options(html, "department")[str(l2.pk)] == "综援室", page
    assert str(world.units["call"].pk) not in _options(html, "department")  # a front-line room is sent none


def test_a_filter_the_bar_cannot_show_is_dropped_with_its_problem_next_to_its_field(world: World) -> None:
    """A link with a branch of another city (or a tier no customer has, a unit id that is no number) showed that
    filter's figures (none) under a field that said "All"; the filter is dropped now, its problem next to its field,
    in the user's language, and an export of it is refused."""
    from loopdesk.reports.tests.conftest import make_history

    make_history(world)
    zh_branch = OrgUnit.objects.create(code="ZHB", name="香洲分公司", name_en="Xiangzhou", parent=world.units["zh"],
                                       level=UnitLevel.CENTRE, function=UnitFunction.FRONT_LINE, province="GD",
                                       region="ZH")
    client = Client()
    client.force_login(world.users["supervisor"])
    plain = client.get("/reports/table/?month=2026-11&group_by=channel").content.decode()
    for query, field in ((f"branch={zh_branch.pk}", "branch"), ("tier=gold", "tier"), ("department=abc", "department")):
        response = client.get(f"/reports/table/?month=2026-11&group_by=channel&{query}")
        html = response.content.decode()
        assert response.status_code == 200
        error = re.search(rf'<span class="field-error" id="f-{field}-error">([^<]*)</span>', html)
        assert error is not None and "不是可选项" in error.group(1), query
        # The figures of the whole region, as the field ("All") says.
        assert re.findall(r'<td class="num">.*?</td>', html) == re.findall(r'<td class="num">.*?</td>', plain)
        export = client.get(f"/reports/table/?month=2026-11&group_by=channel&{query}&format=csv")
        assert export.status_code == 400 and "不是可选项" in export.content.decode()
    english = client.get("/reports/?month=2026-11&tier=gold", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "“gold” is not one of the choices: choose from the list." in english
    ok = client.get(f"/reports/table/?month=2026-11&branch={world.units['branch_xh'].pk}&tier=vip")
    assert "field-error" not in ok.content.decode()
