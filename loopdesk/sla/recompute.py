"""Recomputing the due times of open work orders after a calendar or SLA policy changed.

Due times are derived from the timeline, the policy and its calendar (`loopdesk.sla.clock`), so an edit of a
calendar (an override such as a typhoon day off, a 调休 working day, working hours) or of a policy's limits
changes the due times of the open tickets on it. The admin schedules `recompute_open_tickets` for exactly the
calendars / policies saved, after the edit commits, on the background worker (`loopdesk.sla.recompute_open`);
`manage.py recompute_sla` runs the same function by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction


@dataclass(frozen=True)
class RecomputeResult:
    total: int
    changed: int


def open_tickets_on(*, calendar_ids: Iterable[int] = (), policy_ids: Iterable[int] = ()) -> Any:
    """The open tickets whose SLA policy is one of `policy_ids` or uses one of `calendar_ids` (all when both are
    empty)."""
    from django.db.models import Q

    from loopdesk.tickets.models import Ticket

    calendars, policies = sorted(set(calendar_ids)), sorted(set(policy_ids))
    qs = Ticket.objects.filter(is_open=True)
    if calendars or policies:
        qs = qs.filter(Q(sla_policy__calendar_id__in=calendars) | Q(sla_policy_id__in=policies))
    return qs


def recompute_open_tickets(
    *, calendar_ids: Iterable[int] = (), policy_ids: Iterable[int] = (), batch: int = 1000
) -> RecomputeResult:
    """Recompute every open ticket on these calendars / policies, one transaction per ticket (so ticket work
    goes on meanwhile); tickets closed in the meantime are skipped. Returns how many were seen and changed."""
    from loopdesk.tickets.models import Ticket
    from loopdesk.tickets.services import do_recompute_sla

    qs = open_tickets_on(calendar_ids=calendar_ids, policy_ids=policy_ids)
    total = changed = last_id = 0
    while True:
        ids = list(qs.filter(id__gt=last_id).order_by("id").values_list("id", flat=True)[:batch])
        if not ids:
            return RecomputeResult(total, changed)
        for pk in ids:
            before = Ticket.objects.filter(pk=pk, is_open=True).values_list("last_event_seq", flat=True).first()
            if before is None:
                continue
            after = do_recompute_sla(ticket=pk)
            total += 1
            changed += after.last_event_seq != before
        last_id = ids[-1]


def schedule_recompute(*, calendar_ids: Iterable[int] = (), policy_ids: Iterable[int] = ()) -> int:
    """After the current transaction commits, recompute the open tickets on these calendars / policies on the
    background worker. Returns how many open tickets that concerns now (for the admin's message)."""
    from loopdesk.sla.tasks import recompute_open

    calendars, policies = sorted(set(calendar_ids)), sorted(set(policy_ids))
    if not calendars and not policies:
        return 0
    count: int = open_tickets_on(calendar_ids=calendars, policy_ids=policies).count()
    if count:
        transaction.on_commit(lambda: recompute_open.delay(calendar_ids=calendars, policy_ids=policies))
    return count
