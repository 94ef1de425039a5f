"""Periodic jobs are declared in code and every one names a registered task."""

from __future__ import annotations

from celery.schedules import crontab

from loopdesk.celery import app, periodic_jobs


def test_every_periodic_job_names_a_registered_task() -> None:
    app.loader.import_default_modules()
    jobs = periodic_jobs()
    assert {"outbox-deliver", "sla-sweep", "progress-updates", "callback-sweep", "survey-expiry",
            "monthly-report"} <= set(jobs)
    for name, job in jobs.items():
        assert job["task"] in app.tasks, name
        schedule = job["schedule"]
        assert isinstance(schedule, crontab) or float(schedule) > 0, name
    assert app.conf.beat_schedule.keys() == jobs.keys()
