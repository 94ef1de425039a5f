"""Enqueue messages in the current transaction; deliverers register per channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from loopdesk.core.db import insert_unless_exists
from loopdesk.outbox.models import OutboxMessage, OutboxStatus


def enqueue(
    *,
    channel: str,
    topic: str,
    dedupe_key: str,
    payload: dict[str, Any],
    target: str = "",
    ticket_id: int | None = None,
    region: str = "",
    not_before: dt.datetime | None = None,
) -> OutboxMessage | None:
    """Write one message to the outbox. Returns None when the same dedupe key was enqueued before.

    One statement, `INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id` (PostgreSQL, SQLite ≥ 3.35): a key
    enqueued before inserts nothing and returns no row, so no savepoint is needed to survive the duplicate (it was
    SAVEPOINT, INSERT, RELEASE, on every message). Any other error is raised, not taken for a duplicate.
    """
    now = timezone.now()
    row = OutboxMessage(
        channel=channel, topic=topic, dedupe_key=dedupe_key[:200], payload=payload, target=target[:255],
        ticket_id=ticket_id, region=region, status=OutboxStatus.PENDING, not_before=not_before or now,
        created_at=now,
    )
    return row if insert_unless_exists(row, ["dedupe_key"]) else None


Deliverer = Callable[[OutboxMessage], None]
Destination = Callable[[OutboxMessage], str]
_deliverers: dict[str, Deliverer] = {}
_destinations: dict[str, Destination] = {}


class NotDeliverable(Exception):
    """Raised by a deliverer when the message has no receiver any more (a listener deleted, deactivated, or its token
    revoked): the worker gives it up at once (dead, with this reason in its last error), instead of retrying it or
    counting it as delivered. An administrator may retry it after restoring the receiver."""


class DestinationUnreachable(Exception):
    """Raised (or subclassed) by a deliverer when the receiver did not answer: no connection, or no answer within
    the timeout. The worker then puts the other rows for the same destination back without trying them."""


def register_deliverer(channel: str, deliverer: Deliverer, destination: Destination | None = None) -> None:
    """`deliverer(message)` sends one message and raises on failure (the worker retries with back-off).

    `destination(message)` names the receiver a message goes to (e.g. one webhook subscriber); by default the
    whole channel is one destination (e.g. the SMS gateway). After a destination is unreachable in a pass, its
    other rows wait for the back-off instead of each costing the timeout.
    """
    _deliverers[channel] = deliverer
    if destination is not None:
        _destinations[channel] = destination
    else:
        _destinations.pop(channel, None)


def deliverer_for(channel: str) -> Deliverer | None:
    return _deliverers.get(channel)


def destination_of(message: OutboxMessage) -> str:
    named = _destinations.get(message.channel)
    return f"{message.channel}:{named(message)}" if named is not None else message.channel


# --- retention: delivered and given-up rows do not stay for ever ----------------------------------------------

PURGE_CHUNK = 5000
Purger = Callable[[dt.datetime, dt.datetime], int]
_purgers: dict[str, Purger] = {}


def register_purger(name: str, purger: Purger) -> None:
    """`purger(delivered_before, dead_before)` deletes an app's own records of deliveries (e.g. the TMF delivery log)
    older than the retention and returns how many; run by `purge_old` with the outbox's own rows."""
    _purgers[name] = purger


def delete_in_chunks(queryset: Any) -> int:
    """Delete what `queryset` selects in chunks of PURGE_CHUNK rows (short transactions, no long lock)."""
    deleted = 0
    while True:
        pks = list(queryset.values_list("pk", flat=True)[:PURGE_CHUNK])
        if not pks:
            return deleted
        deleted += queryset.model.objects.filter(pk__in=pks).delete()[0]


def purge_old(now: dt.datetime | None = None) -> dict[str, int]:
    """Delete delivered outbox rows older than LOOPDESK_OUTBOX_KEEP_DELIVERED_DAYS (30) and given-up (dead) ones older
    than LOOPDESK_OUTBOX_KEEP_DEAD_DAYS (90), by creation time, and the registered records of deliveries (the TMF
    delivery log: acknowledged attempts after the first retention, failed ones after the second). 0 keeps for ever.
    Pending and failed rows (still to be delivered) are never purged."""
    from django.conf import settings

    now = now or timezone.now()
    keep_delivered = settings.LOOPDESK_OUTBOX_KEEP_DELIVERED_DAYS
    keep_dead = settings.LOOPDESK_OUTBOX_KEEP_DEAD_DAYS
    far_past = dt.datetime.min.replace(tzinfo=dt.UTC)
    delivered_before = now - dt.timedelta(days=keep_delivered) if keep_delivered else far_past
    dead_before = now - dt.timedelta(days=keep_dead) if keep_dead else far_past
    counts = {"delivered": 0, "dead": 0}
    # Per channel: the index outbox_channel (channel, status, created_at) finds them.
    for channel in OutboxMessage.objects.order_by().values_list("channel", flat=True).distinct():
        for status, before in (("delivered", delivered_before), ("dead", dead_before)):
            counts[status] += delete_in_chunks(OutboxMessage.objects.filter(
                channel=channel, status=status, created_at__lt=before))
    for name, purger in _purgers.items():
        counts[name] = purger(delivered_before, dead_before)
    return counts
