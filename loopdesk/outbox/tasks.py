"""Celery tasks of the outbox (thin: the work is in `loopdesk.outbox.worker`)."""

from __future__ import annotations

from celery import shared_task

from loopdesk.outbox import worker


@shared_task(name="loopdesk.outbox.deliver_due")
def deliver_due() -> dict[str, int]:
    """Periodic: deliver every due outbox message (see `loopdesk.celery.periodic_jobs` for the interval)."""
    return vars(worker.deliver_due())
