"""Choosing the SLA policy of a ticket and computing its committed time."""

from __future__ import annotations

import datetime as dt

from loopdesk.core.conditions import conditions_match
from loopdesk.core.errors import ValidationFailed
from loopdesk.sla.calendars import working_time_for
from loopdesk.sla.models import SlaPolicy
from loopdesk.tickets.models import Category


def _matches(
    policy: SlaPolicy, *, contact_type: str, category: Category, tier: str, priority: str, channel: str
) -> bool:
    return conditions_match(policy, category, contact_type=contact_type, tier=tier, priority=priority,
                            channel=channel)


def active_policies() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.filter(is_active=True).select_related("calendar").order_by("position", "id"))


def select_policy(
    *,
    contact_type: str,
    category: Category,
    tier: str,
    priority: str,
    channel: str,
    policies: list[SlaPolicy] | None = None,
) -> SlaPolicy:
    """The first active policy (by position) that matches the ticket's attributes."""
    for policy in policies if policies is not None else active_policies():
        if _matches(
            policy, contact_type=contact_type, category=category, tier=tier, priority=priority, channel=channel
        ):
            return policy
    raise ValidationFailed(field="category", message=_no_policy_message())


def _no_policy_message() -> str:
    from django.utils.translation import gettext

    return gettext("No SLA policy applies to this ticket; ask a supervisor to add a default policy.")


def committed_time(policy: SlaPolicy, start: dt.datetime) -> dt.datetime:
    """The latest resolution time to promise the customer: the policy's resolution limit on its calendar."""
    due = working_time_for(policy.calendar).add(start, policy.resolution_minutes)
    assert due is not None  # no pauses at creation
    return due
