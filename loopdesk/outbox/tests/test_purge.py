"""Delivered and given-up outbox rows and the TMF delivery log are purged after their retention (nightly job and
`manage.py purge_outbox`); rows still to deliver never are."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from loopdesk.celery import periodic_jobs
from loopdesk.outbox.models import OutboxMessage, OutboxStatus
from loopdesk.outbox.tasks import purge_old
from loopdesk.tmf.models import DeliveryLog

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def row(key: str, status: str, days_old: float, channel: str = "sms") -> OutboxMessage:
    at = NOW - dt.timedelta(days=days_old)
    return OutboxMessage.objects.create(channel=channel, topic="t", dedupe_key=key, status=status, not_before=at,
                                        created_at=at, delivered_at=at if status == OutboxStatus.DELIVERED else None)


def log(ok: bool, days_old: float) -> DeliveryLog:
    return DeliveryLog.objects.create(event_id="e", event_type="t", url="https://hq.example.com/", ok=ok,
                                      created_at=NOW - dt.timedelta(days=days_old))


def test_old_delivered_and_dead_rows_and_log_entries_are_purged_nightly() -> None:
    keep = {row("new-delivered", OutboxStatus.DELIVERED, 29).pk, row("dead-60", OutboxStatus.DEAD, 60).pk,
            row("old-pending", OutboxStatus.PENDING, 200).pk, row("old-failed", OutboxStatus.FAILED, 200).pk,
            row("new-tmf", OutboxStatus.DELIVERED, 1, channel="tmf_event").pk}
    row("old-delivered", OutboxStatus.DELIVERED, 31)
    row("old-tmf", OutboxStatus.DELIVERED, 31, channel="tmf_event")
    row("old-dead", OutboxStatus.DEAD, 91)
    kept_logs = {log(True, 29).pk, log(False, 89).pk}
    log(True, 31)
    log(False, 91)

    counts = purge_old.delay().get()
    assert counts == {"delivered": 2, "dead": 1, "delivery_log": 2}
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == keep
    assert set(DeliveryLog.objects.values_list("pk", flat=True)) == kept_logs
    job = periodic_jobs()["outbox-purge"]
    assert job["task"] == "loopdesk.outbox.purge_old"


def test_the_command_uses_the_retention_settings_and_zero_keeps_for_ever(settings) -> None:
    row("delivered-10", OutboxStatus.DELIVERED, 10)
    row("dead-10", OutboxStatus.DEAD, 10)
    log(True, 10)
    settings.LOOPDESK_OUTBOX_KEEP_DELIVERED_DAYS, settings.LOOPDESK_OUTBOX_KEEP_DEAD_DAYS = 0, 5
    out = StringIO()
    call_command("purge_outbox", stdout=out)
    assert "0 delivered" in out.getvalue() and "1 given-up" in out.getvalue()
    assert list(OutboxMessage.objects.values_list("dedupe_key", flat=True)) == ["delivered-10"]
    assert DeliveryLog.objects.count() == 1
    settings.LOOPDESK_OUTBOX_KEEP_DELIVERED_DAYS = 7
    call_command("purge_outbox", stdout=StringIO())
    assert not OutboxMessage.objects.exists() and not DeliveryLog.objects.exists()
