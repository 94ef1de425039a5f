"""Periodic customer-message jobs (intervals in `loopdesk.celery.periodic_jobs`)."""

from __future__ import annotations

from celery import shared_task

from loopdesk.notify import services


@shared_task(name="loopdesk.notify.sweep_progress")
def sweep_progress() -> int:
    """Queue the daily progress updates of long-open complaints."""
    return services.sweep_progress()
