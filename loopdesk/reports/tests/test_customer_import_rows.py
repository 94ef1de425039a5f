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
