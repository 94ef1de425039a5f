"""Where would this ticket go? The routing rules, tried in order, with the second-line room as fallback."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loopdesk.core.conditions import conditions_match
from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.routing.models import RoutingRule
from loopdesk.sla import refcache
from loopdesk.tickets.models import Category

StrOrPromise = str | Promise
CITY_LEVELS = frozenset({UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM})


@dataclass(frozen=True)
class RouteDecision:
    unit: OrgUnit | None
    rule: RoutingRule | None
    reason: StrOrPromise

    def as_dict(self) -> dict[str, object]:
        """The API's view of the decision: the unit named in the active language (as the workbench shows it)."""
        return {
            "unit_id": self.unit.pk if self.unit else None,
            "unit": self.unit.display_name(get_language()) if self.unit else None,
            "rule_id": self.rule.pk if self.rule else None,
            "rule": self.rule.name if self.rule else None,
            "reason": str(self.reason),
        }


def _matches(
    rule: RoutingRule, *, region: str, category: Category, contact_type: str, tier: str, branch_id: int | None,
    channel: str,
) -> bool:
    return conditions_match(rule, category, region=region, contact_type=contact_type, tier=tier, channel=channel,
                            branch_id=branch_id)


def second_line_unit(region: str) -> OrgUnit | None:
    """The region's second-line support room (综援室): where unrouted tickets go."""
    rooms = [u for u in refcache.units().values()
             if u.function == UnitFunction.SECOND_LINE and u.region == region and u.is_active]
    return min(rooms, key=lambda u: (u.depth, u.pk), default=None)


def _province_of(region: str) -> str | None:
    """The province of a city (region code), from its units in the reference data copy; None when unknown."""
    return next((u.province for u in refcache.units().values() if u.region == region and u.level in CITY_LEVELS),
                None)


def route_ticket(
    *, region: str, category: Category, contact_type: str, tier: str, channel: str, branch_id: int | None = None
) -> RouteDecision:
    """The target unit for a ticket with these attributes, and why (rules from the reference data copy)."""
    province: str | None = ""  # looked up at the first rule to a province's department ("": not yet)
    for rule in refcache.routing_rules():
        target = rule.target_unit
        if target.level in CITY_LEVELS and target.region != region:
            continue  # a city's unit takes that city's tickets only, whatever the rule's region says
        if target.is_city_management:
            continue  # a rule saved before a city's management units were refused: the dispatch would refuse it
        if target.level == UnitLevel.HQ:
            continue  # the group's (HQ) units take no city's or province's work orders (the dispatch refuses them)
        if target.level == UnitLevel.PROVINCE:
            province = _province_of(region) if province == "" else province
            if province is not None and target.province != province:
                continue  # and a province's department its province's (the dispatch refuses another's)
        if _matches(
            rule,
            region=region,
            category=category,
            contact_type=contact_type,
            tier=tier,
            branch_id=branch_id,
            channel=channel,
        ):
            return RouteDecision(rule.target_unit, rule, _("Matched routing rule “%(rule)s”.") % {
                "rule": rule.display_name(get_language())})
    fallback = second_line_unit(region)
    if fallback is None:  # nobody takes it: the dispatcher must choose (dispatch by the rules is refused)
        return RouteDecision(None, None, _("No rule matched and region %(region)s has no second-line support room: "
                                           "choose the unit.") % {"region": region})
    return RouteDecision(fallback, None, _("No rule matched: second-line support takes it."))
