"""The generic outbox worker: deliver due messages through the deliverer registered for their channel.

One pass (`deliver_due`):
1. *Claim* a batch of due rows (pending or failed, `not_before` <= now, index `outbox_due`) in a short
   transaction: rows are locked with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent
   workers take different rows (SQLite serialises writers instead). A claim moves `not_before` forward by
   the lease and counts the attempt, and the transaction ends before anything is sent: ticket work never
   waits for a delivery.
2. *Deliver* each claimed row outside any transaction through `deliverer_for(row.channel)`, within a time
   budget per pass (`pass_seconds`, a quarter of the lease by default): rows not started when it is spent are
   released (due again at once, the attempt not counted), so no row is still being sent when its lease ends
   and another worker claims it. The lease must exceed the budget plus the longest delivery timeout.
3. *Record* the results: delivered; failed with exponential back-off; dead after the maximum attempts.

A destination (a webhook subscriber, the SMS gateway: `loopdesk.outbox.services.destination_of`) that times
out or refuses the connection in a pass is tried once per pass: its other rows in the batch are put back
with the failed row's back-off, untried and their attempt not counted, so a subscriber that accepts and never
answers costs one timeout per pass, not one per row, and the other channels' rows go out at once.

A worker killed between 2 and 3 leaves its rows claimed; they become due again when the lease ends and are
delivered again (at least once). Receivers de-duplicate on `dedupe_key` (the file gateway does, the HTTP
gateways get it as the message id). A failing or slow channel only delays its own rows: back-off moves them
behind the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import urllib.error
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from loopdesk.outbox.models import OutboxMessage, OutboxStatus
from loopdesk.outbox.services import DestinationUnreachable, NotDeliverable, deliverer_for, destination_of

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
    held: int = 0  # not tried: their destination was unreachable earlier in the pass
    released: int = 0  # not tried: the pass's time budget was spent

    def add(self, other: PassReport) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        self.held += other.held
        self.released += other.released


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next attempt: 30 s, 1 min, 2 min, ... capped at one hour."""
    return dt.timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def claim_due(*, batch: int, lease_seconds: int, now: dt.datetime | None = None) -> list[OutboxMessage]:
    """Lock and claim up to `batch` due messages, oldest due first.

    One ticket's messages on one channel to one target (a TMF subscriber's events) go out one after the other in
    the order they were written: a message is not claimed while an earlier one of the same ticket, channel and
    target is undelivered (waiting for its back-off, or being sent by this or another worker: it stays pending or
    failed until its delivery is recorded, whoever holds it). A message given up (dead) no longer holds the later
    ones back. Messages enqueued without a ticket id (e.g. the SMS) have no order.
    """
    now = now or timezone.now()
    earlier_undelivered = OutboxMessage.objects.filter(
        status__in=DUE_STATUSES, ticket_id__isnull=False, ticket_id=OuterRef("ticket_id"), channel=OuterRef("channel"),
        target=OuterRef("target"), pk__lt=OuterRef("pk"),
    )
    with transaction.atomic():
        # "No ticket, or nothing earlier": PostgreSQL runs the check as a subplan per candidate with a ticket,
        # on `outbox_order` by (ticket, channel, target), whatever its statistics say (a fresh table has none).
        due = OutboxMessage.objects.filter(status__in=DUE_STATUSES, not_before__lte=now).filter(
            Q(ticket_id__isnull=True) | ~Exists(earlier_undelivered)
        ).order_by("not_before", "id")
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


def is_unreachable(exc: BaseException) -> bool:
    """The receiver did not answer at all (timeout, refused or failed connection), as opposed to an answer
    that refused the message (e.g. HTTP 500). A deliverer's own error raised `from` such a cause counts too
    (the HTTP SMS gateway's GatewayError)."""
    cause: BaseException | None = exc
    for _depth in range(5):
        if cause is None or isinstance(cause, urllib.error.HTTPError):
            return False
        if isinstance(cause, (DestinationUnreachable, TimeoutError, ConnectionError)):
            return True
        if isinstance(cause, urllib.error.URLError) and isinstance(cause.reason, OSError):
            return True
        cause = cause.__cause__
    return False


def deliver_rows(rows: list[OutboxMessage], *, max_attempts: int, deadline: float | None = None) -> PassReport:
    """Send claimed rows and record each outcome. Never raises for a failing deliverer.

    `deadline` (time.monotonic()): rows not started by then are released. A destination that did not answer
    is not tried again in this pass: its remaining rows wait with the failed row's back-off.
    """
    report = PassReport(claimed=len(rows))
    delivered: list[int] = []
    failures: list[tuple[OutboxMessage, str]] = []
    dropped: list[tuple[OutboxMessage, str]] = []  # no receiver any more: given up at once
    unreachable: dict[str, OutboxMessage] = {}  # destination -> the row that found it unreachable
    held: dict[str, list[int]] = {}
    released: list[int] = []
    for index, row in enumerate(rows):
        if deadline is not None and time.monotonic() >= deadline:
            released = [r.pk for r in rows[index:]]
            break
        destination = destination_of(row)
        if destination in unreachable:
            held.setdefault(destination, []).append(row.pk)
            continue
        deliverer = deliverer_for(row.channel)
        if deliverer is None:
            failures.append((row, f"no deliverer registered for channel {row.channel!r}"))
            continue
        try:
            deliverer(row)
        except NotDeliverable as exc:
            dropped.append((row, f"not deliverable: {exc}"[:2000]))
        except Exception as exc:  # a deliverer may fail in any way; the row is retried, the pass goes on
            log.warning("outbox %s (%s) attempt %d failed: %s", row.pk, row.channel, row.attempts, exc)
            failures.append((row, f"{type(exc).__name__}: {exc}"[:2000]))
            if is_unreachable(exc):
                unreachable[destination] = row
        else:
            delivered.append(row.pk)
    now = timezone.now()
    if released:
        # Back as they were before the claim: due now, for this or another worker.
        OutboxMessage.objects.filter(pk__in=released).update(not_before=now, attempts=F("attempts") - 1)
        report.released = len(released)
        log.warning("outbox pass time budget spent: %d rows released untried", len(released))
    for destination, ids in held.items():
        failed = unreachable[destination]
        OutboxMessage.objects.filter(pk__in=ids).update(
            not_before=now + backoff(failed.attempts), attempts=F("attempts") - 1,
            last_error=f"not tried: {destination} did not answer outbox {failed.pk} in the same pass"[:2000],
        )
        report.held += len(ids)
        log.warning("outbox: %s unreachable, %d more rows wait for the back-off untried", destination, len(ids))
    if delivered:
        OutboxMessage.objects.filter(pk__in=delivered).update(
            status=OutboxStatus.DELIVERED, delivered_at=now, last_error=""
        )
        report.delivered = len(delivered)
    for row, error in dropped:
        OutboxMessage.objects.filter(pk=row.pk).update(status=OutboxStatus.DEAD, last_error=error)
        report.dead += 1
        log.warning("outbox %s (%s) given up: %s", row.pk, row.channel, error)
    for row, error in failures:
        if row.attempts >= max_attempts:
            OutboxMessage.objects.filter(pk=row.pk).update(status=OutboxStatus.DEAD, last_error=error)
            report.dead += 1
            log.error("outbox %s (%s) gave up after %d attempts: %s", row.pk, row.channel, row.attempts, error)
        else:
            retry_at = now + backoff(row.attempts)
            OutboxMessage.objects.filter(pk=row.pk).update(
                status=OutboxStatus.FAILED, last_error=error, not_before=retry_at
            )
            if row.ticket_id is not None:
                # The same ticket's later messages to the same target wait for the retry (`claim_due` would skip
                # them anyway): not due before it, they do not fill every claim's scan during a long outage.
                OutboxMessage.objects.filter(
                    status__in=DUE_STATUSES, ticket_id=row.ticket_id, channel=row.channel, target=row.target,
                    pk__gt=row.pk, not_before__lt=retry_at,
                ).update(not_before=retry_at)
            report.failed += 1
    return report


def deliver_due(
    *,
    batch: int | None = None,
    lease_seconds: int | None = None,
    max_attempts: int | None = None,
    time_budget: float = 20.0,
    pass_seconds: float | None = None,
) -> PassReport:
    """Deliver due messages batch after batch until none is due or the time budget is spent.

    Each batch (pass) stops starting deliveries after `pass_seconds` (default: a quarter of the lease) and
    releases what it did not start.
    """
    batch = batch or settings.LOOPDESK_OUTBOX_BATCH
    lease_seconds = lease_seconds or settings.LOOPDESK_OUTBOX_LEASE_SECONDS
    max_attempts = max_attempts or settings.LOOPDESK_OUTBOX_MAX_ATTEMPTS
    pass_seconds = pass_seconds if pass_seconds is not None else lease_seconds / 4
    report = PassReport()
    started = time.monotonic()
    while True:
        rows = claim_due(batch=batch, lease_seconds=lease_seconds)
        if not rows:
            break
        passed = deliver_rows(rows, max_attempts=max_attempts, deadline=time.monotonic() + pass_seconds)
        report.add(passed)
        # A batch smaller than asked for does not end the run: a ticket's next message becomes claimable only once
        # the one before it is delivered (one more claim, nothing found, ends it).
        if passed.released or time.monotonic() - started > time_budget:
            break
    return report


def retry_dead(*, ids: list[int]) -> int:
    """Give dead messages a fresh start (an operator's action after fixing the receiver)."""
    return OutboxMessage.objects.filter(pk__in=ids, status=OutboxStatus.DEAD).update(
        status=OutboxStatus.PENDING, attempts=0, not_before=timezone.now(), last_error=""
    )
