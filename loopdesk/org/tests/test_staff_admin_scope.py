"""A city's auditor (the role has every view permission of the admin) read the names, e-mail addresses, units and
roles of every region's staff in the staff admin, while the customers and the audit log there are scoped to their
city. The staff list and pages follow the same regions now: a city's staff, a province's the province's, HQ and
administrators all."""

from __future__ import annotations

from django.contrib.auth.models import Group

from loopdesk.conftest import World, staff_client
from loopdesk.core.reference import _permissions_for_role
from loopdesk.org.choices import Role


def _auditors_may_view() -> None:
    Group.objects.get(name=Role.AUDITOR).permissions.add(*_permissions_for_role(Role.AUDITOR))


def test_a_city_auditor_lists_and_opens_their_citys_staff_only(world: World) -> None:
    _auditors_may_view()
    client = staff_client(world, "auditor", language="en")
    listing = client.get("/admin/org/user/")
    assert listing.status_code == 200
    shown = set(listing.context["cl"].result_list.values_list("username", flat=True))
    assert {"agent", "supervisor", "auditor"} <= shown and "zh_agent" not in shown
    assert client.get(f"/admin/org/user/{world.users['agent'].pk}/change/").status_code == 200
    other = client.get(f"/admin/org/user/{world.users['zh_agent'].pk}/change/")
    assert other.status_code == 302 and "zh_agent" not in client.get(other.url).content.decode()


def test_administrators_list_every_regions_staff(world: World) -> None:
    client = staff_client(world, "admin", language="en", superuser=True)
    shown = set(client.get("/admin/org/user/").context["cl"].result_list.values_list("username", flat=True))
    assert {"agent", "zh_agent"} <= shown
