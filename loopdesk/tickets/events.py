"""Listeners to ticket timeline events, called by the services inside their transaction.

This is how other apps react to what happens to a ticket (write outbox rows for SMS, webhooks and
hub events; maintain KPI rollups) without the services knowing them, and without Django signals
(which `bulk_create` and queryset updates silently skip). A listener runs in the same transaction
as the change: it must only write to the database (e.g. `loopdesk.outbox.services.enqueue`),
never call out over the network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

# Sent (with `ticket_ids`) inside the transaction that moved a category under another top category, for the
# tickets whose stored top category changed with it: not a timeline event of theirs (the work order did not
# change), but a change of the figures they count in.
tickets_recategorised = Signal()

Listener = Callable[[Any, Any], None]  # (ticket, event) -> None
_listeners: list[tuple[str, Listener]] = []


def register_listener(name: str, listener: Listener) -> None:
    """Register `listener(ticket, event)` once under `name` (re-registering replaces it)."""
    global _listeners
    _listeners = [(n, fn) for n, fn in _listeners if n != name]
    _listeners.append((name, listener))


def unregister_listener(name: str) -> None:
    global _listeners
    _listeners = [(n, fn) for n, fn in _listeners if n != name]


def notify(ticket: Any, event: Any) -> None:
    for _name, listener in list(_listeners):
        listener(ticket, event)


def notify_many(items: list[tuple[Any, Any]]) -> None:
    """`notify` for the events of many tickets changed in one transaction (e.g. a batch of the SLA sweep).

    A listener that can do the same work for many events at once carries it as its `batch` attribute,
    `listener.batch(items)`; the others are called once per event, in order.
    """
    for _name, listener in list(_listeners):
        batch = getattr(listener, "batch", None)
        if batch is not None:
            batch(items)
        else:
            for ticket, event in items:
                listener(ticket, event)
