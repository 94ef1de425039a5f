"""Units a ticket can be sent to, for the dispatch/transfer choices (one query)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import get_language

from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit


def target_units(region: str | None, *, province: str | None = None) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.filter(is_active=True, function__in=[UnitFunction.SPECIALIST, UnitFunction.SECOND_LINE])
    if region:
        qs = qs.filter(region=region)
    if province:
        qs = qs.filter(province=province)
    return qs.order_by("path")


def user_scope(user: Any) -> dict[str, str | None]:
    """The units a user's bulk form offers (`target_units` keywords): a city's staff their region's; a province's
    staff the province's (every city's departments: the region code of a province unit, GD, is no city's); HQ and
    users without a unit (administrators) every unit."""
    unit = getattr(user, "unit", None)
    if unit is None or unit.level == UnitLevel.HQ:
        return {"region": None}
    if unit.level == UnitLevel.PROVINCE:
        return {"region": None, "province": unit.province}
    return {"region": unit.region}


def _label(unit: OrgUnit, name: str, parent: str | None, with_region: bool) -> str:
    label = f"{parent} › {name}" if parent else name
    return f"{label} ({unit.region})" if with_region else label  # several cities have a 网络维护中心


def target_unit_choices(region: str | None, blank: Any, *, province: str | None = None) -> list[tuple[Any, str]]:
    language = get_language()
    units = list(target_units(region, province=province))
    names = {u.pk: u.display_name(language) for u in units}
    several = not region  # a province's or every city's units: named with their city
    choices: list[tuple[Any, str]] = [("", str(blank))] if blank is not None else []
    for u in units:
        choices.append((u.pk, _label(u, names[u.pk], names.get(u.parent_id or 0), several)))
    return choices


def target_handler_groups(region: str | None, *, province: str | None = None,
                          ) -> list[tuple[str, list[tuple[int, str]]]]:
    """The staff of the target units, grouped by unit (unit name, [(user id, name)]), for "assign to": one query."""
    from loopdesk.org.models import User

    language = get_language()
    users = (User.objects.filter(is_active=True, unit__in=target_units(region, province=province))
             .select_related("unit").order_by("unit__path", "display_name", "username"))
    several = not region
    groups: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    for user in users:
        unit = user.unit
        groups.setdefault(unit.pk, (_label(unit, unit.display_name(language), None, several), []))[1].append(
            (user.pk, user.display_name or user.username))
    return list(groups.values())
