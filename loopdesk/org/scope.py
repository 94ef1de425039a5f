"""Which regions a member of staff's scope holds, for editing business policy that belongs to a region (a routing
rule of a city) or to every region (SLA policies, calendars, the category tree, SMS templates, a rule of no region).

Administrators and HQ's staff hold every region; a province company's staff the regions of its province (every
region while no unit is in another province); a city company's staff, and those of the units below it, their city.
"""

from __future__ import annotations

from typing import Any

from loopdesk.org.choices import Role, UnitLevel
from loopdesk.org.models import OrgUnit


def _is_admin(user: Any) -> bool:
    return bool(user.is_superuser or user.has_role(Role.ADMINISTRATOR))


def scope_regions(user: Any) -> frozenset[str] | None:
    """The region codes `user` may keep policy for: None for every region, an empty set for none (no unit)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if _is_admin(user):
        return None
    unit = user.unit
    if unit is None:
        return frozenset()
    if unit.level == UnitLevel.HQ:
        return None
    if unit.level == UnitLevel.PROVINCE:
        if not OrgUnit.objects.exclude(level=UnitLevel.HQ).exclude(province=unit.province).exists():
            return None
        cities = (UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM)  # the cities' codes: work orders carry these
        return frozenset(OrgUnit.objects.filter(province=unit.province, level__in=cities)
                         .values_list("region", flat=True))
    return frozenset({unit.region})


def covers_every_region(user: Any) -> bool:
    """Whether `user` may change what applies to every region (it would change every other city's work orders)."""
    return scope_regions(user) is None


def may_keep_region(user: Any, region: str) -> bool:
    """Whether `user` may change policy of `region` ("": of every region)."""
    regions = scope_regions(user)
    return regions is None or (bool(region) and region in regions)
