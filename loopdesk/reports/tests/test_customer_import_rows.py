"""Customer import, row by row: closed branches, account managers, placeholders for "no value", duplicates."""

from __future__ import annotations

import io

from django.contrib.auth.models import Group
from django.utils import translation

from loopdesk.conftest import World
from loopdesk.customers.models import Customer
from loopdesk.org.models import User
from loopdesk.reports.imports import ImportResult, import_customers


def _customers(data: str, who: str, world: World, language: str = "en", **kwargs) -> ImportResult:  # type: ignore[no-untyped-def]
    with translation.override(language):
        return import_customers(acting_user=world.user(who), source=io.BytesIO(data.encode()), **kwargs)


def test_a_deactivated_branch_is_refused_as_home_branch(world: World) -> None:
    """A closed branch counts no customers any more: the row is refused on its home branch, in the user's language."""
    branch = world.units["branch_xh"]
    branch.is_active = False
    branch.save()
    result = _customers("手机号码,归属分公司\n13900000001,BRANCH_XH\n", "admin", world, language="zh-hans")
    assert [(e.row, e.column) for e in result.errors] == [(2, "归属分公司")]
    assert "已停用" in result.errors[0].message
    assert not Customer.objects.exists()


def test_placeholders_for_no_value_are_read_as_empty_cells(world: World) -> None:
    """Legacy exports write "-", "--", "—", "N/A" or 无 for an amount they do not have: no ARPU (the customer's stays),
    not "not an amount"; 无 is still a VIP level (none), and text that is no amount still a row error."""
    world.customer(msisdn="13900000009", region="JM", arpu="55.00", vip_level="gold", home_branch=None)
    data = ("手机号码,月均消费,品牌,VIP等级\n13900000001,-,-,\n13900000002,--,,—\n13900000003,—,N/A,\n"
            "13900000004,N/A,,\n13900000009,无,,无\n13900000005,八十,,\n")
    result = _customers(data, "supervisor", world, all_or_nothing=False)
    assert [(e.row, e.column) for e in result.errors] == [(7, "monthly ARPU (CNY)")], result.errors
    assert (result.created, result.updated) == (4, 1)
    assert Customer.objects.values_list("arpu", "vip_level").get(msisdn="13900000009") == (55, "none")
    assert set(Customer.objects.exclude(msisdn="13900000009").values_list("arpu", flat=True)) == {0}


def test_every_later_row_of_a_number_is_a_duplicate_even_after_an_invalid_one(world: World) -> None:
    """The first row of a number has an error: the second is still a duplicate of it (it was imported alone with
    "import the good rows", as if the file had one row for the number)."""
    data = "手机号码,品牌\n13900000001,小灵通\n13900000001,全球通\n13900000001,神州行\n13900000002,全球通\n"
    result = _customers(data, "supervisor", world, all_or_nothing=False)
    assert [(e.row, e.column) for e in result.errors] == [(2, "brand"), (3, "mobile number"), (4, "mobile number")]
    assert "line 2" in result.errors[1].message and "line 2" in result.errors[2].message
    assert list(Customer.objects.values_list("msisdn", flat=True)) == ["13900000002"]


def _manager(world: World, username: str, unit: str, display_name: str, *, active: bool = True,
             role: str = "account_manager") -> User:
    user = User.objects.create_user(username=username, unit=world.units[unit], display_name=display_name,
                                    is_active=active)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def test_the_account_manager_column_assigns_an_active_account_manager_of_the_customers_region(world: World) -> None:
    """客户经理 by username or by a name unique among the region's account managers; an unknown, deactivated,
    other-region or ambiguous one, or staff without the role, is an error on that column in the user's language."""
    manager = world.users["manager"]  # Jiangmen (新会渠道室), display name "manager"
    other = _manager(world, "am_zh", "zh_call", "王经理")
    _manager(world, "am_jm_wang", "hall_xh", "李经理")
    _manager(world, "am_jm_li", "call", "李经理")
    _manager(world, "am_old", "hall_xh", "旧经理", active=False)
    world.customer(msisdn="13900000009", region="JM", home_branch=None, account_manager=manager)
    data = ("手机号码,归属地市,客户经理\n"
            "13900000001,JM,manager\n"       # by username
            "13900000002,ZH,王经理\n"         # by name, in Zhuhai
            "13900000003,JM,王经理\n"         # a Zhuhai account manager for a Jiangmen customer
            "13900000004,JM,李经理\n"         # two of Jiangmen have the name
            "13900000005,JM,am_old\n"        # deactivated
            "13900000006,JM,agent\n"         # not an account manager
            "13900000007,JM,nobody\n"        # unknown
            "13900000008,JM,AM_JM_LI\n"      # username in any case
            "13900000009,JM,\n")             # no value: the customer keeps theirs
    with translation.override("zh-hans"):
        result = import_customers(acting_user=world.user("admin"), source=io.BytesIO(data.encode()),
                                  all_or_nothing=False)
    assert [(e.row, e.column) for e in result.errors] == [(row, "客户经理") for row in (4, 5, 6, 7, 8)]
    assert "ZH" not in result.errors[0].message and "JM" in result.errors[0].message
    assert "用户名" in result.errors[1].message and "nobody" in result.errors[4].message
    assigned = dict(Customer.objects.values_list("msisdn", "account_manager__username"))
    assert assigned == {"13900000001": "manager", "13900000002": other.username, "13900000008": "am_jm_li",
                        "13900000009": "manager"}


def test_a_customer_moved_to_another_region_loses_the_old_regions_account_manager(world: World) -> None:
    world.customer(msisdn="13900000009", region="JM", home_branch=None, account_manager=world.users["manager"])
    world.customer(msisdn="13900000010", region="JM", home_branch=None, account_manager=world.users["manager"])
    result = _customers("手机号码,归属地市\n13900000009,ZH\n13900000010,JM\n", "admin", world)
    assert (result.error_count, result.updated) == (0, 1)
    assert dict(Customer.objects.values_list("msisdn", "account_manager")) == {
        "13900000009": None, "13900000010": world.users["manager"].pk}
