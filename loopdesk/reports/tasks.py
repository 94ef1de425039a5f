"""Celery tasks of the reports (thin: they call the services). Schedule `reports.monthly` on the 1st of each month."""

from __future__ import annotations

from celery import shared_task

from loopdesk.reports import customerbase, importjobs
from loopdesk.reports.monthly import produce_all
from loopdesk.reports.rollups import fold_pending


@shared_task(name="reports.monthly")
def produce_monthly_reports() -> list[int]:
    """Last month's report workbooks (whole company and every region); idempotent."""
    return [stored.pk for stored in produce_all()]


@shared_task(name="reports.fold_rollups")
def fold_rollups() -> int:
    """Fold the pending ticket changes into the KPI facts and rollups (kicked after each commit and run by beat).
    Safe on several workers at once; a batch limit keeps one run short, a full run sends itself again."""
    folded = fold_pending(max_batches=10)
    if folded >= 10 * 2000:
        fold_rollups.delay()
    return folded


@shared_task(name="reports.run_import")
def run_import(job_id: int) -> None:
    """A dry run or import of a large file started on the import page (`loopdesk.reports.importjobs`)."""
    importjobs.run(job_id)


@shared_task(name="reports.snapshot_customers")
def snapshot_customers() -> int | None:
    """Keep the customer base as of the end of yesterday (Asia/Shanghai), unless kept already; idempotent."""
    base = customerbase.take_due()
    return base.pk if base else None
