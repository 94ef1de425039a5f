"""Periodic survey jobs (intervals in `loopdesk.celery.periodic_jobs`)."""

from __future__ import annotations

from celery import shared_task

from loopdesk.surveys import services


@shared_task(name="loopdesk.surveys.expire_surveys")
def expire_surveys() -> int:
    return services.expire_surveys()
