"""The audit records of a city's routing rule (a row with a region and no province column) were written without a
province, so the province company's auditors, who read their province's records, never saw the changes to their
cities' routing rules. The record takes the region's province from the units now."""

from __future__ import annotations

from django.contrib.auth.models import Group

from loopdesk.audit.services import record_audit
from loopdesk.conftest import World, staff_client
from loopdesk.core.reference import _permissions_for_role
from loopdesk.org.choices import Role
from loopdesk.org.models import User
from loopdesk.routing.models import RoutingRule


def test_a_provinces_auditor_reads_the_records_of_a_citys_routing_rule(world: World) -> None:
    Group.objects.get_or_create(name=Role.AUDITOR)[0].permissions.add(*_permissions_for_role(Role.AUDITOR))
    user = User.objects.create_user(username="gd_auditor", password="pw-gd_auditor", unit=world.units["gd"])
    user.groups.add(Group.objects.get(name=Role.AUDITOR))
    world.users["gd_auditor"] = user
    rule = RoutingRule.objects.create(name="江门费用", region="JM", category=world.categories["billing"],
                                      target_unit=world.units["it"])
    entry = record_audit(world.users["supervisor"], "admin.change", rule, data={"fields": ["position"]})
    assert (entry.region, entry.province) == ("JM", "GD")
    for key in ("gd_auditor", "auditor"):
        listing = staff_client(world, key, language="en").get("/admin/audit/auditlog/")
        assert entry.pk in set(listing.context["cl"].result_list.values_list("pk", flat=True)), key
