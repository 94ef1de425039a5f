"""The routing and SLA preview: where a ticket would go, which SLA policy applies, what time to promise."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from loopdesk.core.errors import ValidationFailed
from loopdesk.org.models import OrgUnit
from loopdesk.routing.services import RouteDecision, route_ticket
from loopdesk.sla.models import SlaPolicy
from loopdesk.sla.services import committed_time, select_policy
from loopdesk.tickets.models import Category


@dataclass
class Preview:
    route: RouteDecision | None
    policy: SlaPolicy | None
    committed_at: dt.datetime | None
    error: str = ""


def preview(*, region: str, category: Category, contact_type: str, tier: str, channel: str, priority: str,
            branch_id: int | None, now: dt.datetime | None = None) -> Preview:
    now = now or timezone.now()
    route = route_ticket(region=region, category=category, contact_type=contact_type, tier=tier, channel=channel,
                         branch_id=branch_id)
    try:
        policy = select_policy(contact_type=contact_type, category=category, tier=tier, priority=priority,
                               channel=channel)
    except ValidationFailed as exc:
        return Preview(route, None, None, str(exc.message))
    return Preview(route, policy, committed_time(policy, now))


def unit_parent_name(unit: OrgUnit | None, language: str | None) -> Any:
    if unit is None or unit.parent_id is None:
        return ""
    parent = OrgUnit.objects.filter(pk=unit.parent_id).only("name", "name_en").first()
    return parent.display_name(language) if parent else ""
