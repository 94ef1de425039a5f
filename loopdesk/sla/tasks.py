"""Background work of the SLA engine."""

from __future__ import annotations

from celery import shared_task

from loopdesk.sla.recompute import recompute_open_tickets


@shared_task(name="loopdesk.sla.recompute_open")
def recompute_open(*, calendar_ids: list[int], policy_ids: list[int]) -> dict[str, int]:
    """Recompute the due times of the open tickets on these calendars / policies (scheduled by the admin)."""
    result = recompute_open_tickets(calendar_ids=calendar_ids, policy_ids=policy_ids)
    return {"total": result.total, "changed": result.changed}
