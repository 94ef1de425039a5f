"""Enqueue messages in the current transaction; deliverers register per channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

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
    """Write one message to the outbox. Returns None when the same dedupe key was enqueued before."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return OutboxMessage.objects.create(
                channel=channel, topic=topic, dedupe_key=dedupe_key[:200], payload=payload, target=target[:255],
                ticket_id=ticket_id, region=region, status=OutboxStatus.PENDING, not_before=not_before or now,
                created_at=now,
            )
    except IntegrityError:
        return None


Deliverer = Callable[[OutboxMessage], None]
_deliverers: dict[str, Deliverer] = {}


def register_deliverer(channel: str, deliverer: Deliverer) -> None:
    """`deliverer(message)` sends one message and raises on failure (the worker retries with back-off)."""
    _deliverers[channel] = deliverer


def deliverer_for(channel: str) -> Deliverer | None:
    return _deliverers.get(channel)
