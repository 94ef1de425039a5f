"""The generic outbox worker: deliver due messages through the deliverer registered for their channel.

One pass (`deliver_due`):
1. *Claim* a batch of due rows (pending or failed, `not_before` <= now, index `outbox_due`) in a short
   transaction: rows are locked with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent
   workers take different rows (SQLite serialises writers instead). A claim moves `not_before` forward by
   the lease and counts the attempt, and the transaction ends before anything is sent: ticket work never
   waits for a delivery.
2. *Deliver* each claimed row outside any transaction through `deliverer_for(row.channel)`.
3. *Record* the results: delivered; failed with exponential back-off; dead after the maximum attempts.

A worker killed between 2 and 3 leaves its rows claimed; they become due again when the lease ends and are
delivered again (at least once). Receivers de-duplicate on `dedupe_key` (the file gateway does, the HTTP
gateways get it as the message id). A failing or slow channel only delays its own rows: back-off moves them
behind the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from loopdesk.outbox.models import OutboxMessage, OutboxStatus
from loopdesk.outbox.services import deliverer_for

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
DUE_STATUSES = (OutboxStatus.PENDING, OutboxStatus.FAILED)
DELIVERY_FIELDS = ("id", "channel", "topic", "dedupe_key", "target", "payload", "ticket_id", "region", "attempts")


@dataclass
class PassReport:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    def add(self, other: PassReport) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next attempt: 30 s, 1 min, 2 min, ... capped at one hour."""
    return dt.timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def claim_due(*, batch: int, lease_seconds: int, now: dt.datetime | None = None) -> list[OutboxMessage]:
    """Lock and claim up to `batch` due messages, oldest due first."""
    now = now or timezone.now()
    with transaction.atomic():
        due = OutboxMessage.objects.filter(status__in=DUE_STATUSES, not_before__lte=now).order_by("not_before", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        # What deliverers read; the timestamps and the last error are not needed to send (and cost to convert).
        rows = list(due.only(*DELIVERY_FIELDS)[:batch])
        if rows:
            OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(
                not_before=now + dt.timedelta(seconds=lease_seconds), attempts=F("attempts") + 1
            )
    for row in rows:
        row.attempts += 1
    return rows


def deliver_rows(rows: list[OutboxMessage], *, max_attempts: int) -> PassReport:
    """Send claimed rows and record each outcome. Never raises for a failing deliverer."""
    report = PassReport(claimed=len(rows))
    delivered: list[int] = []
    failures: list[tuple[OutboxMessage, str]] = []
    for row in rows:
        deliverer = deliverer_for(row.channel)
        if deliverer is None:
            failures.append((row, f"no deliverer registered for channel {row.channel!r}"))
            continue
        try:
            deliverer(row)
        except Exception as exc:  # a deliverer may fail in any way; the row is retried, the pass goes on
            log.warning("outbox %s (%s) attempt %d failed: %s", row.pk, row.channel, row.attempts, exc)
            failures.append((row, f"{type(exc).__name__}: {exc}"[:2000]))
        else:
            delivered.append(row.pk)
    now = timezone.now()
    if delivered:
        OutboxMessage.objects.filter(pk__in=delivered).update(
            status=OutboxStatus.DELIVERED, delivered_at=now, last_error=""
        )
        report.delivered = len(delivered)
    for row, error in failures:
        if row.attempts >= max_attempts:
            OutboxMessage.objects.filter(pk=row.pk).update(status=OutboxStatus.DEAD, last_error=error)
            report.dead += 1
            log.error("outbox %s (%s) gave up after %d attempts: %s", row.pk, row.channel, row.attempts, error)
        else:
            OutboxMessage.objects.filter(pk=row.pk).update(
                status=OutboxStatus.FAILED, last_error=error, not_before=now + backoff(row.attempts)
            )
            report.failed += 1
    return report


def deliver_due(
    *,
    batch: int | None = None,
    lease_seconds: int | None = None,
    max_attempts: int | None = None,
    time_budget: float = 20.0,
) -> PassReport:
    """Deliver due messages batch after batch until none is due or the time budget is spent."""
    batch = batch or settings.LOOPDESK_OUTBOX_BATCH
    lease_seconds = lease_seconds or settings.LOOPDESK_OUTBOX_LEASE_SECONDS
    max_attempts = max_attempts or settings.LOOPDESK_OUTBOX_MAX_ATTEMPTS
    report = PassReport()
    started = time.monotonic()
    while True:
        rows = claim_due(batch=batch, lease_seconds=lease_seconds)
        if not rows:
            break
        report.add(deliver_rows(rows, max_attempts=max_attempts))
        if len(rows) < batch or time.monotonic() - started > time_budget:
            break
    return report


def retry_dead(*, ids: list[int]) -> int:
    """Give dead messages a fresh start (an operator's action after fixing the receiver)."""
    return OutboxMessage.objects.filter(pk__in=ids, status=OutboxStatus.DEAD).update(
        status=OutboxStatus.PENDING, attempts=0, not_before=timezone.now(), last_error=""
    )
