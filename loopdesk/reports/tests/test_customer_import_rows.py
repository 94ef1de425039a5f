"""Customer import, row by row: closed branches, account managers, placeholders for "no value", duplicates."""

from __future__ import annotations

import io

from django.utils import translation

from loopdesk.conftest import World
from loopdesk.customers.models import Customer
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
