"""The Celery application: background work of LoopDesk.

Brokers (see docs/operations.md):
- production: Redis (`CELERY_BROKER_URL=redis://...`), with web, worker(s) and one beat run separately;
- embedded default: kombu's `filesystem://` transport, a folder under `var/celery/`, so the same tasks
  run without Redis; `scripts/demo.sh` starts one worker with embedded beat (`-B`) in the background.

Periodic jobs are declared here with their interval. Each is idempotent and does work proportional to
what is due (indexed "due" tables), so running one twice or on two workers at once is harmless.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopdesk.settings")

app = Celery("loopdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _every(seconds: float) -> dict[str, object]:
    # A run missed while the broker was down is not worth replaying: the next run finds the same due work.
    return {"schedule": seconds, "options": {"expires": max(seconds, 1.0)}}


def periodic_jobs() -> dict[str, dict[str, object]]:
    """Every periodic job with its interval (seconds); the interval of the outbox poll is a deployment fact."""
    from django.conf import settings

    return {
        "outbox-deliver": {"task": "loopdesk.outbox.deliver_due", **_every(settings.LOOPDESK_OUTBOX_POLL_SECONDS)},
        "sla-sweep": {"task": "loopdesk.followup.sweep_sla", **_every(60)},
        "callback-sweep": {"task": "loopdesk.followup.sweep_callbacks", **_every(300)},
        "progress-updates": {"task": "loopdesk.notify.sweep_progress", **_every(300)},
        "survey-expiry": {"task": "loopdesk.surveys.expire_surveys", **_every(3600)},
        # KPI rollups: fold the ticket changes noted since the last fold (also kicked after each commit).
        "rollup-fold": {"task": "reports.fold_rollups", **_every(10)},
        # Delivered / given-up outbox rows and the delivery log past their retention (LOOPDESK_OUTBOX_KEEP_*_DAYS).
        "outbox-purge": {"task": "loopdesk.outbox.purge_old", "schedule": crontab(minute=40, hour=3)},
        # Planner statistics (ANALYZE) at night: SQLite keeps none by itself, PostgreSQL's autovacuum lags bulk loads.
        "db-statistics": {"task": "loopdesk.core.refresh_statistics", "schedule": crontab(minute=10, hour=3)},
        # The customer base as of the end of yesterday (per 10,000 customers of past periods), counted shortly after
        # midnight (Asia/Shanghai); hourly, so a midnight missed is made up within the hour. Idempotent.
        "customer-base": {"task": "reports.snapshot_customers", "schedule": crontab(minute=1)},
        # Last month's report workbooks, early on the 1st (Asia/Shanghai); idempotent.
        "monthly-report": {"task": "reports.monthly", "schedule": crontab(minute=30, hour=2, day_of_month=1)},
    }


@app.on_after_configure.connect
def _declare_periodic_jobs(sender: Celery, **kwargs: object) -> None:
    sender.conf.beat_schedule = periodic_jobs()
