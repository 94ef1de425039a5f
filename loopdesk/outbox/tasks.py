"""Celery tasks of the outbox (thin: the work is in `loopdesk.outbox.worker`)."""

from __future__ import annotations

from celery import shared_task

from loopdesk.outbox import services, worker


@shared_task(name="loopdesk.outbox.deliver_due")
def deliver_due() -> dict[str, int]:
    """Periodic: deliver every due outbox message (see `loopdesk.celery.periodic_jobs` for the interval)."""
    return vars(worker.deliver_due())


@shared_task(name="loopdesk.outbox.purge_old")
def purge_old() -> dict[str, int]:
    """Nightly: delivered and given-up outbox rows, and the delivery log, past their retention."""
    return services.purge_old()
