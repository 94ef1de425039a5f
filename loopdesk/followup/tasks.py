"""Periodic follow-up jobs (intervals in `loopdesk.celery.periodic_jobs`). Thin: the work is in services."""

from __future__ import annotations

from celery import shared_task

from loopdesk.followup import services


@shared_task(name="loopdesk.followup.sweep_sla")
def sweep_sla() -> dict[str, int]:
    """Warn before due, mark overtime/problem, escalate. A full batch sends itself again at once."""
    report = services.sweep_sla()
    if report.remaining:
        sweep_sla.delay()
    return {"warned": report.warned, "marked": report.marked, "escalated": report.escalated}


@shared_task(name="loopdesk.followup.sweep_callbacks")
def sweep_callbacks() -> int:
    return services.sweep_callbacks()
