"""Celery tasks of the reports (thin: they call the services). Schedule `reports.monthly` on the 1st of each month."""

from __future__ import annotations

from celery import shared_task

from loopdesk.reports.monthly import produce_all


@shared_task(name="reports.monthly")
def produce_monthly_reports() -> list[int]:
    """Last month's report workbooks (whole company and every region); idempotent."""
    return [stored.pk for stored in produce_all()]
