"""Version-independent mapping between TMF621 vocabulary and the LoopDesk work order.

The v4 resource shape lives in `loopdesk.tmf.v4`; a v5 module can reuse every table here (status,
ticket type, severity/priority, channel, relationship kinds, event types) and only add its own shape.
docs/tmf621.md documents these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from loopdesk.tickets.choices import Action, ContactType, EventKind, LinkKind, Priority, Status
from loopdesk.tickets.workflow import TRANSITIONS

# --- status ------------------------------------------------------------------------------------------

ACKNOWLEDGED = "acknowledged"
REJECTED = "rejected"
PENDING = "pending"
HELD = "held"
IN_PROGRESS = "inProgress"
CANCELLED = "cancelled"
CLOSED = "closed"
RESOLVED = "resolved"
TMF_STATUSES = (ACKNOWLEDGED, REJECTED, PENDING, HELD, IN_PROGRESS, CANCELLED, CLOSED, RESOLVED)

STATUS_TO_TMF: dict[str, str] = {
    Status.NEW: ACKNOWLEDGED,
    Status.DISPATCHED: IN_PROGRESS,
    Status.IN_PROGRESS: IN_PROGRESS,
    Status.PENDING_INFO: PENDING,
    Status.HOLD_REQUESTED: IN_PROGRESS,
    Status.ON_HOLD: HELD,
    Status.RETURNED: IN_PROGRESS,
    Status.REPLIED: RESOLVED,
    Status.ANSWERED: RESOLVED,
    Status.CALLED_BACK: RESOLVED,
    Status.CLOSED: CLOSED,
    Status.WITHDRAWN: CANCELLED,
    Status.REJECTED: REJECTED,
}


def tmf_status(status: str) -> str:
    return STATUS_TO_TMF[status]


def statuses_for(tmf: str) -> list[str]:
    """Our statuses that show as TMF status `tmf` (for filtering)."""
    return [ours for ours, theirs in STATUS_TO_TMF.items() if theirs == tmf]


# A requested TMF status, from our current status, is reached by exactly one action of the workflow.
# Anything not listed is refused (409) with the statuses that are reachable now. Actions that keep the TMF
# status (accept: dispatched and in progress are both inProgress; transfer; callback) have no TMF spelling:
# they are taken through /api/tickets/{id}/actions/{action}/.
STATUS_REQUESTS: dict[str, dict[str, str]] = {
    IN_PROGRESS: {
        Status.NEW: Action.DISPATCH,
        Status.RETURNED: Action.DISPATCH,
        Status.PENDING_INFO: Action.PROVIDE_INFO,
        Status.HOLD_REQUESTED: Action.DENY_HOLD,
        Status.ON_HOLD: Action.RESUME,
    },
    PENDING: {Status.IN_PROGRESS: Action.REQUEST_INFO},
    HELD: {Status.IN_PROGRESS: Action.REQUEST_HOLD, Status.HOLD_REQUESTED: Action.APPROVE_HOLD},
    RESOLVED: {Status.IN_PROGRESS: Action.REPLY, Status.NEW: Action.ANSWER, Status.REPLIED: Action.ANSWER},
    CLOSED: {Status.ANSWERED: Action.CLOSE, Status.CALLED_BACK: Action.CLOSE},
    ACKNOWLEDGED: {Status.ANSWERED: Action.REOPEN, Status.CALLED_BACK: Action.REOPEN, Status.CLOSED: Action.REOPEN},
    CANCELLED: dict.fromkeys(TRANSITIONS[Action.WITHDRAW].sources, Action.WITHDRAW),
    REJECTED: dict.fromkeys(TRANSITIONS[Action.REJECT].sources, Action.REJECT),
}


def action_for_status_request(current: str, requested: str) -> str | None:
    return STATUS_REQUESTS.get(requested, {}).get(current)


def reachable_statuses(current: str) -> list[str]:
    """The TMF statuses a PATCH may request from our status `current`: those with a row for it, including the
    TMF status shown now when an action leads there (e.g. returned → inProgress dispatches again)."""
    return [tmf for tmf in TMF_STATUSES if current in STATUS_REQUESTS.get(tmf, {})]


# --- ticket type, severity, priority, channel --------------------------------------------------------

TICKET_TYPE_TO_CONTACT: dict[str, str] = {
    "complaint": ContactType.COMPLAINT,
    "complain": ContactType.COMPLAINT,
    "consultation": ContactType.CONSULTATION,
    "request": ContactType.CONSULTATION,
    "inquiry": ContactType.CONSULTATION,
    "suggestion": ContactType.SUGGESTION,
    "fault": ContactType.FAULT,
    "incident": ContactType.FAULT,
    "appeal": ContactType.APPEAL,
}


def contact_type_for(ticket_type: str) -> str | None:
    return TICKET_TYPE_TO_CONTACT.get((ticket_type or "").strip().lower())


def ticket_type_for(contact_type: str) -> str:
    return str(contact_type)  # our codes are valid ticket types themselves


SEVERITY_TO_PRIORITY: dict[str, str] = {"critical": Priority.URGENT, "major": Priority.HIGH, "minor": Priority.NORMAL}
PRIORITY_TO_SEVERITY: dict[str, str] = {Priority.URGENT: "Critical", Priority.HIGH: "Major", Priority.NORMAL: "Minor",
                                        Priority.LOW: "Minor"}
TMF_PRIORITY_TO_PRIORITY: dict[str, str] = {"critical": Priority.URGENT, "high": Priority.HIGH,
                                            "medium": Priority.NORMAL, "low": Priority.LOW}
PRIORITY_TO_TMF_PRIORITY: dict[str, str] = {Priority.URGENT: "Critical", Priority.HIGH: "High",
                                            Priority.NORMAL: "Medium", Priority.LOW: "Low"}


def priority_for(severity: str | None, tmf_priority: str | None) -> str | None:
    """Our priority: TMF `priority` wins when given, else derived from `severity`. None when unknown."""
    if tmf_priority:
        return TMF_PRIORITY_TO_PRIORITY.get(tmf_priority.strip().lower())
    return SEVERITY_TO_PRIORITY.get((severity or "").strip().lower())


def severities_for(severity: str) -> list[str]:
    return [p for p, s in PRIORITY_TO_SEVERITY.items() if s.lower() == (severity or "").strip().lower()]


# --- relationships and parties -------------------------------------------------------------------------

# (link kind, direction) → TMF relationshipType, seen from the ticket being rendered.
RELATIONSHIP_OUT: dict[str, str] = {LinkKind.PARENT: "isParent", LinkKind.DUPLICATE: "isDuplicateOf",
                    LinkKind.RELATED: "relatedTo", LinkKind.REPEAT: "isRepeatOf"}
RELATIONSHIP_IN: dict[str, str] = {LinkKind.PARENT: "isChild", LinkKind.DUPLICATE: "hasDuplicate",
                   LinkKind.RELATED: "relatedTo", LinkKind.REPEAT: "hasRepeat"}
CUSTOMER_ROLE = "customer"
FIRST_RESPONDER_ROLE = "firstResponder"
HANDLER_ROLE = "handler"
CATEGORY_ROLE = "category"

# --- events --------------------------------------------------------------------------------------------

CREATE_EVENT = "TroubleTicketCreateEvent"
STATUS_CHANGE_EVENT = "TroubleTicketStatusChangeEvent"
ATTRIBUTE_CHANGE_EVENT = "TroubleTicketAttributeValueChangeEvent"
RESOLVED_EVENT = "TroubleTicketResolvedEvent"
INFORMATION_REQUIRED_EVENT = "TroubleTicketInformationRequiredEvent"
DELETE_EVENT = "TroubleTicketDeleteEvent"
EVENT_TYPES = (CREATE_EVENT, STATUS_CHANGE_EVENT, ATTRIBUTE_CHANGE_EVENT, RESOLVED_EVENT,
               INFORMATION_REQUIRED_EVENT, DELETE_EVENT)

# Timeline entries that change an attribute without changing the status, and the field they touch.
ATTRIBUTE_FIELDS: dict[str, str] = {
    EventKind.NOTE: "note",
    EventKind.COMMIT_TIME: "expectedResolutionDate",
    EventKind.LINK: "troubleTicketRelationship",
    EventKind.ATTACHMENT: "attachment",
    EventKind.OVERTIME: "characteristic",
    EventKind.PROBLEM: "characteristic",
    EventKind.SLA_RECOMPUTED: "characteristic",  # dueDate, isOvertime ... after a calendar or policy edit
    EventKind.REPEAT: "troubleTicketRelationship",
}


# Actions that keep the TMF status and change who handles the ticket (relatedParty role handler).
HANDLER_CHANGES = frozenset({EventKind.DISPATCH, EventKind.ACCEPT, EventKind.TRANSFER, EventKind.RETURN})


@dataclass(frozen=True)
class TmfEvent:
    event_type: str
    field_path: str = ""


def events_for(kind: str, from_status: str, to_status: str) -> list[TmfEvent]:
    """The TMF events a timeline entry raises (in this order)."""
    if kind == EventKind.CREATE:
        return [TmfEvent(CREATE_EVENT)]
    out: list[TmfEvent] = []
    if to_status:
        old, new = STATUS_TO_TMF.get(from_status, ""), STATUS_TO_TMF[to_status]
        if old != new:
            out.append(TmfEvent(STATUS_CHANGE_EVENT))
            if new == RESOLVED:
                out.append(TmfEvent(RESOLVED_EVENT))
            if new in (CANCELLED, REJECTED):
                # What DELETE does: the complaint is kept, but it is gone from the integrator's open work.
                out.append(TmfEvent(DELETE_EVENT))
        elif kind in HANDLER_CHANGES:
            out.append(TmfEvent(ATTRIBUTE_CHANGE_EVENT, "relatedParty"))  # e.g. transfer: new handling unit
        else:
            # answer, callback, a suspension asked for or denied: the handlers stay, the work order status moves
            # (characteristic workflowStatus, with statusChangeDate and statusChangeReason).
            out.append(TmfEvent(ATTRIBUTE_CHANGE_EVENT, "characteristic"))
        if kind == EventKind.REQUEST_INFO:
            out.append(TmfEvent(INFORMATION_REQUIRED_EVENT))
        return out
    field = ATTRIBUTE_FIELDS.get(kind)
    if field:
        out.append(TmfEvent(ATTRIBUTE_CHANGE_EVENT, field))
    return out
