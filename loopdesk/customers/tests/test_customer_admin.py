"""The customer admin refuses an account manager who is not one and a home branch of another region: either was
saved, the customer 360 then named a specialist as the account manager (who never saw the customer's work orders:
only account managers do, docs/access.md), or routing by branch used another city's branch."""

from __future__ import annotations

from typing import Any

from django.test import Client

from loopdesk.conftest import World, _staff, _unit, post_admin_change, staff_client
from loopdesk.customers.models import Customer
from loopdesk.org.choices import Role, UnitFunction, UnitLevel


def _admin(world: World) -> Client:
    return staff_client(world, "admin", superuser=True)


def _form(customer: Customer, **changes: Any) -> dict[str, Any]:
    data = {"msisdn": customer.msisdn, "name": customer.name, "brand": customer.brand,
            "vip_level": customer.vip_level, "arpu": "0", "points": "0", "province": customer.province,
            "region": customer.region, "home_branch": customer.home_branch_id or "", "area": "",
            "account_manager": customer.account_manager_id or ""}
    data.update(changes)
    return data


def test_account_manager_and_home_branch_are_checked(world: World) -> None:
    customer = world.customer()
    client = _admin(world)
    url = f"/admin/customers/customer/{customer.pk}/change/"
    zh_branch = _unit(world, "zh_branch", "香洲分公司", world.units["zh"], UnitLevel.CENTRE, UnitFunction.FRONT_LINE,
                      region="ZH")
    inactive_am = _staff(world, "old_am", "hall_xh", Role.ACCOUNT_MANAGER)
    inactive_am.is_active = False
    inactive_am.save(update_fields=["is_active"])
    for field, value in (("account_manager", world.users["specialist"].pk), ("account_manager", inactive_am.pk),
                         ("home_branch", zh_branch.pk)):
        response = post_admin_change(client, url, _form(customer, **{field: value}))
        assert response.status_code == 200, (field, value)
        assert field in response.context["adminform"].form.errors, (field, value)
        stored = Customer.objects.get(pk=customer.pk)
        assert stored.account_manager_id is None and stored.home_branch_id == world.units["branch_xh"].pk
    response = post_admin_change(client, url, _form(customer, account_manager=world.users["manager"].pk))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert Customer.objects.get(pk=customer.pk).account_manager == world.users["manager"]
