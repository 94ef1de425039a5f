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
