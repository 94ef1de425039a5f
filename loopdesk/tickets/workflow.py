"""The state machine of a work order: which action leads from which states to which state.

See docs/workflow.md for the diagram. Permissions are decided in `loopdesk.tickets.policy`.
"""

from __future__ import annotations

from dataclasses import dataclass

from loopdesk.tickets.choices import Action, Status


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str


S = Status
_WORKING = frozenset(
    {S.NEW, S.DISPATCHED, S.IN_PROGRESS, S.PENDING_INFO, S.HOLD_REQUESTED, S.ON_HOLD, S.RETURNED, S.REPLIED}
)

TRANSITIONS: dict[str, Transition] = {
    Action.DISPATCH: Transition(frozenset({S.NEW, S.RETURNED}), S.DISPATCHED),
    Action.ACCEPT: Transition(frozenset({S.DISPATCHED}), S.IN_PROGRESS),
    Action.TRANSFER: Transition(frozenset({S.DISPATCHED, S.IN_PROGRESS}), S.DISPATCHED),
    Action.RETURN: Transition(frozenset({S.DISPATCHED, S.IN_PROGRESS}), S.RETURNED),
    Action.REQUEST_INFO: Transition(frozenset({S.IN_PROGRESS}), S.PENDING_INFO),
    Action.PROVIDE_INFO: Transition(frozenset({S.PENDING_INFO}), S.IN_PROGRESS),
    Action.REQUEST_HOLD: Transition(frozenset({S.IN_PROGRESS}), S.HOLD_REQUESTED),
    Action.APPROVE_HOLD: Transition(frozenset({S.HOLD_REQUESTED}), S.ON_HOLD),
    Action.DENY_HOLD: Transition(frozenset({S.HOLD_REQUESTED}), S.IN_PROGRESS),
    Action.RESUME: Transition(frozenset({S.ON_HOLD}), S.IN_PROGRESS),
    Action.REPLY: Transition(frozenset({S.IN_PROGRESS}), S.REPLIED),
    Action.ANSWER: Transition(frozenset({S.NEW, S.REPLIED}), S.ANSWERED),
    Action.CALLBACK: Transition(frozenset({S.ANSWERED}), S.CALLED_BACK),
    Action.CLOSE: Transition(frozenset({S.ANSWERED, S.CALLED_BACK}), S.CLOSED),
    Action.REOPEN: Transition(frozenset({S.ANSWERED, S.CALLED_BACK, S.CLOSED}), S.NEW),
    Action.WITHDRAW: Transition(_WORKING, S.WITHDRAWN),
    Action.REJECT: Transition(frozenset({S.NEW, S.RETURNED}), S.REJECTED),
}

_ORDER = list(TRANSITIONS)


def actions_from(status: str) -> list[str]:
    """Every action the state machine allows from `status`, in a stable order."""
    return [action for action in _ORDER if status in TRANSITIONS[action].sources]
