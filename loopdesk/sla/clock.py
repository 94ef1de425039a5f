"""SLA clocks derived from a ticket's timeline.

Nothing here is stored state: given the events, the policy and the calendar, `compute_sla` returns
every due time and flag, so changing a calendar or replaying a timeline recomputes them exactly.

- first response: registration → the first substantive action (dispatch, answer, reject, withdraw)
- per hop: each dispatch or transfer to a department → its reply (or return)
- overtime / problem: the first dispatch of a cycle → the department's reply; a reopen starts a new cycle
- resolution: registration → the answer to the customer
Every clock stops while the ticket waits for information or is suspended (approved hold).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from loopdesk.sla.calendars import WorkingTime
from loopdesk.tickets.choices import WITH_DEPARTMENT_STATUSES, EventKind, Status

Pause = tuple[dt.datetime, dt.datetime | None]

FIRST_RESPONSE_EVENTS = frozenset(
    {EventKind.DISPATCH, EventKind.ANSWER, EventKind.REJECT, EventKind.WITHDRAW, EventKind.ACCEPT}
)
HOP_START_EVENTS = frozenset({EventKind.DISPATCH, EventKind.TRANSFER})
HOP_END_EVENTS = frozenset({EventKind.REPLY, EventKind.RETURN})
PAUSE_START_EVENTS = frozenset({EventKind.REQUEST_INFO, EventKind.APPROVE_HOLD})
PAUSE_END_EVENTS = frozenset({EventKind.PROVIDE_INFO, EventKind.RESUME, EventKind.WITHDRAW, EventKind.REJECT})


class EventLike(Protocol):
    kind: str
    created_at: dt.datetime
    to_status: str


class PolicyLike(Protocol):
    first_response_minutes: int
    hop_reply_minutes: int
    resolution_minutes: int
    overtime_minutes: int
    problem_minutes: int


@dataclass
class SlaState:
    first_response_due_at: dt.datetime | None = None
    first_responded_at: dt.datetime | None = None
    cycle_started_at: dt.datetime | None = None
    hop_started_at: dt.datetime | None = None
    hop_due_at: dt.datetime | None = None
    overtime_at: dt.datetime | None = None
    problem_at: dt.datetime | None = None
    resolution_due_at: dt.datetime | None = None
    replied_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    paused: bool = False
    is_overtime: bool = False
    is_problem: bool = False
    pauses: list[Pause] = field(default_factory=list)
    status: str = Status.NEW

    def next_due(self) -> dt.datetime | None:
        """The deadline that matters now, or None when no clock runs."""
        if self.paused:
            return None
        if self.status in WITH_DEPARTMENT_STATUSES:
            return self.hop_due_at
        if self.first_responded_at is None:
            return self.first_response_due_at
        return self.resolution_due_at

    def as_fields(self) -> dict[str, object]:
        """The Ticket columns this state fills (due_at only when a clock runs)."""
        fields: dict[str, object] = {
            "first_response_due_at": self.first_response_due_at,
            "first_responded_at": self.first_responded_at,
            "cycle_started_at": self.cycle_started_at,
            "hop_started_at": self.hop_started_at,
            "hop_due_at": self.hop_due_at,
            "overtime_at": self.overtime_at,
            "problem_at": self.problem_at,
            "resolution_due_at": self.resolution_due_at,
            "sla_paused": self.paused,
            "is_overtime": self.is_overtime,
            "is_problem": self.is_problem,
        }
        due = self.next_due()
        if due is not None:
            fields["due_at"] = due
        return fields


def compute_sla(
    events: Iterable[EventLike], policy: PolicyLike, working_time: WorkingTime, now: dt.datetime
) -> SlaState:
    """Fold the timeline (in order) into the SLA state as of `now`."""
    state = SlaState()
    created_at: dt.datetime | None = None
    pause_open: dt.datetime | None = None
    cycles: list[tuple[dt.datetime, dt.datetime | None]] = []  # (first dispatch, reply)

    for event in events:
        kind = event.kind
        at = event.created_at
        if event.to_status:
            state.status = event.to_status
        if kind == EventKind.CREATE:
            created_at = at
            continue
        if state.first_responded_at is None and kind in FIRST_RESPONSE_EVENTS:
            state.first_responded_at = at
        if kind in PAUSE_START_EVENTS and pause_open is None:
            pause_open = at
        elif kind in PAUSE_END_EVENTS and pause_open is not None:
            state.pauses.append((pause_open, at))
            pause_open = None
        if kind in HOP_START_EVENTS:
            state.hop_started_at = at
            if state.cycle_started_at is None:
                state.cycle_started_at = at
                cycles.append((at, None))
        elif kind in HOP_END_EVENTS:
            state.hop_started_at = None
            if kind == EventKind.REPLY and cycles and cycles[-1][1] is None:
                cycles[-1] = (cycles[-1][0], at)
                state.replied_at = at
        elif kind == EventKind.ANSWER:
            state.answered_at = at
        elif kind == EventKind.REOPEN:
            state.cycle_started_at = None
            state.hop_started_at = None
            state.replied_at = None
            state.answered_at = None

    if pause_open is not None:
        state.pauses.append((pause_open, None))
        state.paused = True
    pauses = state.pauses

    if created_at is not None:
        state.first_response_due_at = working_time.add(created_at, policy.first_response_minutes, pauses)
        state.resolution_due_at = working_time.add(created_at, policy.resolution_minutes, pauses)
    if state.hop_started_at is not None:
        state.hop_due_at = working_time.add(state.hop_started_at, policy.hop_reply_minutes, pauses)
    if state.cycle_started_at is not None:
        state.overtime_at = working_time.add(state.cycle_started_at, policy.overtime_minutes, pauses)
        state.problem_at = working_time.add(state.cycle_started_at, policy.problem_minutes, pauses)
    # A ticket that ever went over the limit in any cycle stays overtime / problem.
    for start, end in cycles:
        used = working_time.elapsed(start, end or now, pauses)
        state.is_overtime = state.is_overtime or used >= policy.overtime_minutes
        state.is_problem = state.is_problem or used >= policy.problem_minutes
    return state
