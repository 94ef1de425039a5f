"""Delivering TMF621 events and webhooks: one signed HTTP POST per outbox row, each attempt logged.

Registered for the `tmf_event` channel; the outbox worker calls `deliver(message)` after commit, outside
any transaction, and retries with back-off when it raises.

Headers sent with every event (see docs/tmf621.md):
- `X-LoopDesk-Event-Id`: the event id (also `eventId` in the body), the same on every redelivery;
- `X-LoopDesk-Event-Type`: e.g. TroubleTicketStatusChangeEvent;
- `X-LoopDesk-Timestamp`: Unix seconds of this attempt;
- `X-LoopDesk-Signature-256`: `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` keyed with the
  subscription's secret (the timestamp is signed so a captured request cannot be replayed later).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from django.utils import timezone

from loopdesk.outbox.services import DestinationUnreachable, NotDeliverable
from loopdesk.tmf.callbacks import GUARDED_OPENER, ForbiddenAddress
from loopdesk.tmf.models import DeliveryLog, EventSubscription

CHANNEL = "tmf_event"
TIMEOUT_SECONDS = 10
USER_AGENT = "LoopDesk-TMF621/1.0"


class DeliveryError(Exception):
    """The subscriber did not acknowledge the event (non-2xx, timeout, refused connection)."""


class SubscriberUnreachable(DeliveryError, DestinationUnreachable):
    """No answer at all (timeout, refused connection): the worker holds back this subscriber's other rows."""




def destination(message: Any) -> str:
    """The outbox destination of an event row: its subscription (one callback)."""
    return message.target


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (used by our tests): recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def deliver(message: Any) -> None:
    """POST one event to its subscriber; raise DeliveryError unless it answers 2xx."""
    sub = EventSubscription.objects.select_related("owner", "token").filter(pk=int(message.target or 0)).first()
    # Unsubscribed, deactivated, or its token (or user) revoked meanwhile: nothing to send, nothing to retry; the
    # outbox shows it given up with the reason (it was marked delivered although nobody received it).
    if sub is None:
        raise NotDeliverable(f"listener {message.target} was deleted")
    if not sub.is_authorised():
        raise NotDeliverable(f"listener {sub.pk} is inactive, or its token or user is revoked or expired")
    payload = message.payload
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    if not sub.callback.startswith(("http://", "https://")):
        raise DeliveryError(f"not an http(s) callback: {sub.callback!r}")
    request = urllib.request.Request(sub.callback, data=body, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-LoopDesk-Event-Id": payload.get("eventId", message.dedupe_key),
        "X-LoopDesk-Event-Type": payload.get("eventType", message.topic),
        "X-LoopDesk-Timestamp": timestamp,
        "X-LoopDesk-Signature-256": sign(sub.secret, timestamp, body),
    })
    started = time.monotonic()
    status_code: int | None = None
    error = ""
    unreachable = False
    try:
        # No redirects, and no connection to an address outside LOOPDESK_WEBHOOK_ALLOWED_NETWORKS (checked on the
        # address the name resolves to now, which is the one connected to).
        with GUARDED_OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:  # checked above: http(s) only
            status_code = response.status
            response.read(1024)
    except urllib.error.HTTPError as exc:
        status_code = exc.code
        error = f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        if not isinstance(exc.reason, ForbiddenAddress):
            error = f"{type(exc).__name__}: {exc}"
            unreachable = True
        else:
            _log(sub, message, payload, None, f"not deliverable: {exc.reason}", started)
            raise NotDeliverable(str(exc.reason)) from None
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc}"
        unreachable = True
    except ValueError as exc:
        error = f"{type(exc).__name__}: {exc}"
    ok = _log(sub, message, payload, status_code, error, started)
    if unreachable:
        raise SubscriberUnreachable(error)
    if not ok:
        raise DeliveryError(error or f"HTTP {status_code}")


def _log(sub: EventSubscription, message: Any, payload: dict[str, Any], status_code: int | None, error: str,
         started: float) -> bool:
    """One attempt in the delivery log; whether it was acknowledged (2xx)."""
    ok = status_code is not None and 200 <= status_code < 300
    DeliveryLog.objects.create(
        subscription=sub, outbox_message_id=message.pk, event_id=payload.get("eventId", ""),
        event_type=payload.get("eventType", message.topic), ticket_id=message.ticket_id, url=sub.callback[:500],
        status_code=status_code, ok=ok, error=error[:2000], duration_ms=int((time.monotonic() - started) * 1000),
        created_at=timezone.now(),
    )
    return ok
