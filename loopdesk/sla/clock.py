"""SLA clocks derived from a ticket's timeline.

Nothing here is stored state: given the events, the policy and the calendar, `compute_sla` returns
every due time and flag, so changing a calendar or replaying a timeline recomputes them exactly.

- first response: registration → the first substantive action (dispatch, answer, reject, withdraw)
- per hop: each dispatch or transfer to a department → its reply (or return)
- overtime / problem: the first dispatch of a cycle → the department's reply (or the ticket's withdrawal or
  rejection); a reopen starts a new cycle
- resolution: registration (or the latest reopening: a fresh limit, as the customer's renewed committed time)
  → the answer to the customer
- callback: the answer → the callback and closing (回访, 归档)
Every clock stops while the ticket waits for information or is suspended (approved hold).

Two steps, both independent of how time is represented, so the bulk data generator reuses them on
epoch seconds: `fold_timeline` reads the events into facts (when each clock started and stopped, the
pauses); `derive_sla` turns the facts into due times and flags with a clock that counts working time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from loopdesk.sla.calendars import WorkingTime
from loopdesk.tickets.choices import WITH_DEPARTMENT_STATUSES, EventKind, Status

T = TypeVar("T")

FIRST_RESPONSE_EVENTS = frozenset(
    {EventKind.DISPATCH, EventKind.ANSWER, EventKind.REJECT, EventKind.WITHDRAW, EventKind.ACCEPT}
)
HOP_START_EVENTS = frozenset({EventKind.DISPATCH, EventKind.TRANSFER})
HOP_END_EVENTS = frozenset({EventKind.REPLY, EventKind.RETURN})
CYCLE_END_EVENTS = frozenset({EventKind.WITHDRAW, EventKind.REJECT})
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
    callback_minutes: int


class ClockLike(Protocol[T]):
    """Counts working time: `WorkingTime` on datetimes, the generator's FastClock on epoch seconds."""

    def add(self, start: T, minutes: float, pauses: list[tuple[T, T | None]]) -> T | None: ...

    def elapsed(self, start: T, end: T, pauses: list[tuple[T, T | None]]) -> float:
        """Counted minutes between `start` and `end`."""
        ...


@dataclass
class Timeline(Generic[T]):
    """What the timeline says about the clocks: when each started and stopped, and the pauses."""

    status: str = Status.NEW
    created_at: T | None = None
    # The resolution clock's start: the registration, or the latest reopening (a new round of handling).
    resolution_started_at: T | None = None
    first_responded_at: T | None = None
    cycle_started_at: T | None = None
    hop_started_at: T | None = None
    replied_at: T | None = None
    answered_at: T | None = None
    closed_pauses: list[tuple[T, T]] = field(default_factory=list)
    open_pause: T | None = None
    cycles: list[tuple[T, T | None]] = field(default_factory=list)  # (first dispatch, end) of each cycle
    # The timeline has an overtime / problem event: the ticket crossed the limit in force then, and stays flagged
    # (also after a supervisor raises the policy's limits, docs/sla.md).
    marked_overtime: bool = False
    marked_problem: bool = False
    # Since the latest reopening: the ticket-level flags above stay set from an earlier round, so a later round's
    # crossings are told by the round's own overtime / problem events (docs/sla.md).
    reopened: bool = False
    round_marked_overtime: bool = False
    round_marked_problem: bool = False

    @property
    def pauses(self) -> list[tuple[T, T | None]]:
        tail: list[tuple[T, T | None]] = [(self.open_pause, None)] if self.open_pause is not None else []
        return [*self.closed_pauses, *tail]


def fold_timeline(events: Iterable[tuple[str, T, str]]) -> Timeline[T]:
    """Fold (kind, time, to_status) triples, in order, into the facts the clocks need."""
    tl: Timeline[T] = Timeline()
    for kind, at, to_status in events:
        if to_status:
            tl.status = to_status
        if kind == EventKind.CREATE:
            tl.created_at = tl.resolution_started_at = at
            continue
        if kind == EventKind.OVERTIME:
            tl.marked_overtime = tl.round_marked_overtime = True
            continue
        if kind == EventKind.PROBLEM:
            tl.marked_problem = tl.round_marked_problem = True
            continue
        if tl.first_responded_at is None and kind in FIRST_RESPONSE_EVENTS:
            tl.first_responded_at = at
        if kind in PAUSE_START_EVENTS and tl.open_pause is None:
            tl.open_pause = at
        elif kind in PAUSE_END_EVENTS and tl.open_pause is not None:
            tl.closed_pauses.append((tl.open_pause, at))
            tl.open_pause = None
        if kind in HOP_START_EVENTS:
            tl.hop_started_at = at
            if tl.cycle_started_at is None:
                tl.cycle_started_at = at
                tl.cycles.append((at, None))
        elif kind in HOP_END_EVENTS:
            tl.hop_started_at = None
            if kind == EventKind.REPLY and tl.cycles and tl.cycles[-1][1] is None:
                tl.cycles[-1] = (tl.cycles[-1][0], at)
                tl.replied_at = at
        elif kind in CYCLE_END_EVENTS:
            # Withdrawn or rejected while with a department: the department's clock ends here too.
            tl.hop_started_at = None
            if tl.cycles and tl.cycles[-1][1] is None:
                tl.cycles[-1] = (tl.cycles[-1][0], at)
        elif kind == EventKind.ANSWER:
            tl.answered_at = at
        elif kind == EventKind.REOPEN:
            tl.cycle_started_at = tl.hop_started_at = tl.replied_at = tl.answered_at = None
            tl.resolution_started_at = at
            tl.reopened = True
            tl.round_marked_overtime = tl.round_marked_problem = False
    return tl


@dataclass
class SlaState(Generic[T]):
    first_response_due_at: T | None = None
    first_responded_at: T | None = None
    cycle_started_at: T | None = None
    hop_started_at: T | None = None
    hop_due_at: T | None = None
    overtime_at: T | None = None
    problem_at: T | None = None
    resolution_due_at: T | None = None
    callback_due_at: T | None = None
    replied_at: T | None = None
    answered_at: T | None = None
    paused: bool = False
    is_overtime: bool = False
    is_problem: bool = False
    # A reopened ticket's current cycle crossed a limit that no overtime / problem event of this round marks yet
    # (the flags above may be set from an earlier round): the crossing is still to be marked and acted on.
    unmarked_overtime: bool = False
    unmarked_problem: bool = False
    status: str = Status.NEW

    def next_due(self) -> T | None:
        """The deadline that matters now, or None when no clock runs."""
        if self.paused:
            return None
        if self.status in WITH_DEPARTMENT_STATUSES:
            return self.hop_due_at
        if self.answered_at is not None:
            return self.callback_due_at
        if self.first_responded_at is None:
            return self.first_response_due_at
        return self.resolution_due_at

    def as_fields(self) -> dict[str, Any]:
        """The Ticket columns this state fills (due_at only when a clock runs)."""
        fields: dict[str, Any] = {
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


def derive_sla(tl: Timeline[T], policy: PolicyLike, clock: ClockLike[T], now: T) -> SlaState[T]:
    """Due times and flags from the timeline's facts, counted on `clock`, as of `now`."""
    pauses = tl.pauses
    state: SlaState[T] = SlaState(
        first_responded_at=tl.first_responded_at,
        cycle_started_at=tl.cycle_started_at,
        hop_started_at=tl.hop_started_at,
        replied_at=tl.replied_at,
        answered_at=tl.answered_at,
        paused=tl.open_pause is not None,
        status=tl.status,
        is_overtime=tl.marked_overtime or tl.marked_problem,
        is_problem=tl.marked_problem,
    )
    if tl.created_at is not None:
        state.first_response_due_at = clock.add(tl.created_at, policy.first_response_minutes, pauses)
    if tl.resolution_started_at is not None:
        state.resolution_due_at = clock.add(tl.resolution_started_at, policy.resolution_minutes, pauses)
    if tl.hop_started_at is not None:
        state.hop_due_at = clock.add(tl.hop_started_at, policy.hop_reply_minutes, pauses)
    if tl.answered_at is not None:
        state.callback_due_at = clock.add(tl.answered_at, policy.callback_minutes, pauses)
    if tl.cycle_started_at is not None:
        state.overtime_at = clock.add(tl.cycle_started_at, policy.overtime_minutes, pauses)
        state.problem_at = clock.add(tl.cycle_started_at, policy.problem_minutes, pauses)
    # A ticket that ever went over the limit in any cycle stays overtime / problem; so does one whose timeline
    # records a crossing (marked_*), whatever the limits are now.
    for start, end in tl.cycles:
        used = clock.elapsed(start, end if end is not None else now, pauses)
        state.is_overtime = state.is_overtime or used >= policy.overtime_minutes
        state.is_problem = state.is_problem or used >= policy.problem_minutes
    if tl.reopened and tl.cycle_started_at is not None and tl.cycles:  # this round's cycle (dispatched again)
        start, end = tl.cycles[-1]
        used = clock.elapsed(start, end if end is not None else now, pauses)
        state.unmarked_problem = used >= policy.problem_minutes and not tl.round_marked_problem
        state.unmarked_overtime = used >= policy.overtime_minutes and not (
            tl.round_marked_overtime or tl.round_marked_problem)
    return state


def compute_sla(
    events: Iterable[EventLike], policy: PolicyLike, working_time: WorkingTime, now: dt.datetime
) -> SlaState[dt.datetime]:
    """Fold the timeline (in order) into the SLA state as of `now`."""
    timeline = fold_timeline((e.kind, e.created_at, e.to_status) for e in events)
    return derive_sla(timeline, policy, working_time, now)
