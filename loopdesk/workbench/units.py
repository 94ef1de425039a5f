"""Units a ticket can be sent to, for the dispatch/transfer choices (one query)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import get_language

from loopdesk.org.choices import UnitFunction
from loopdesk.org.models import OrgUnit


def target_units(region: str | None) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.filter(is_active=True, function__in=[UnitFunction.SPECIALIST, UnitFunction.SECOND_LINE])
    if region:
        qs = qs.filter(region=region)
    return qs.order_by("path")


def target_unit_choices(region: str | None, blank: Any) -> list[tuple[Any, str]]:
    language = get_language()
    units = list(target_units(region))
    names = {u.pk: u.display_name(language) for u in units}
    choices: list[tuple[Any, str]] = [("", str(blank))] if blank is not None else []
    for u in units:
        parent = names.get(u.parent_id or 0)
        choices.append((u.pk, f"{parent} › {names[u.pk]}" if parent else names[u.pk]))
    return choices


def target_handler_groups(region: str | None) -> list[tuple[str, list[tuple[int, str]]]]:
    """The staff of the target units, grouped by unit (unit name, [(user id, name)]), for "assign to": one query."""
    from loopdesk.org.models import User

    language = get_language()
    users = (User.objects.filter(is_active=True, unit__in=target_units(region))
             .select_related("unit").order_by("unit__path", "display_name", "username"))
    groups: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    for user in users:
        unit = user.unit
        groups.setdefault(unit.pk, (unit.display_name(language), []))[1].append(
            (user.pk, user.display_name or user.username))
    return list(groups.values())
