"""Periodic upkeep of the database (Celery beat, see loopdesk/celery.py)."""

from __future__ import annotations

from celery import shared_task

from loopdesk.core.db import refresh_statistics


@shared_task(name="loopdesk.core.refresh_statistics")
def refresh_statistics_task() -> float:
    """The planner's statistics, nightly: the tables grow by tens of thousands of rows a day."""
    return refresh_statistics()
