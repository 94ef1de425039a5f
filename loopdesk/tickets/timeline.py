"""Replaying a timeline: the ticket's state is a fold of its events.

Used by the property tests and by `manage.py check_timelines`, which verifies stored tickets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from loopdesk.tickets.choices import EventKind

# Events that set the current handler (unit and user, the user possibly cleared).
HANDLER_EVENTS = frozenset(
    {EventKind.CREATE, EventKind.DISPATCH, EventKind.ACCEPT, EventKind.TRANSFER, EventKind.RETURN, EventKind.REPLY,
     EventKind.REOPEN}
)


@dataclass(frozen=True)
class Replayed:
    status: str
    handler_unit_id: int | None
    handler_user_id: int | None
    first_responder_id: int | None
    events: int


def replay(events: Iterable[Any]) -> Replayed:
    """Fold events (in `seq` order) into status, handler and first responder."""
    status = ""
    unit_id: int | None = None
    user_id: int | None = None
    first_responder_id: int | None = None
    count = 0
    for event in events:
        count += 1
        if event.kind == EventKind.CREATE:
            first_responder_id = event.actor_id
        if event.to_status:
            status = event.to_status
        if event.kind in HANDLER_EVENTS:
            unit_id, user_id = event.to_unit_id, event.to_user_id
        elif event.kind == EventKind.NOTE and (event.data or {}).get("released"):
            user_id = None  # back to the unit's queue: the handler left or moved (`services.release_held_tickets`)
    return Replayed(status, unit_id, user_id, first_responder_id, count)


def replay_matches(ticket: Any, events: Iterable[Any]) -> list[str]:
    """The differences between a stored ticket and its replayed timeline (empty when they agree)."""
    r = replay(events)
    problems = []
    if r.status != ticket.status:
        problems.append(f"status {ticket.status} != replayed {r.status}")
    if r.handler_unit_id != ticket.handler_unit_id:
        problems.append(f"handler unit {ticket.handler_unit_id} != replayed {r.handler_unit_id}")
    if r.handler_user_id != ticket.handler_user_id:
        problems.append(f"handler user {ticket.handler_user_id} != replayed {r.handler_user_id}")
    if r.first_responder_id != ticket.first_responder_id:
        problems.append(f"first responder {ticket.first_responder_id} != replayed {r.first_responder_id}")
    if r.events != ticket.last_event_seq:
        problems.append(f"last_event_seq {ticket.last_event_seq} != {r.events} events")
    return problems
