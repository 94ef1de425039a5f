"""The one place that decides what a user may see and do with work orders.

- `visible_tickets(user)`: the tickets a user may see (every list, export, API and search uses it).
- `allowed_actions(user, ticket)`: the actions this user may take on this ticket now.
- `check_action(user, action, ticket)`: raise a clear error if the action is not allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from loopdesk.core.errors import InvalidTransition, PermissionDeniedError
from loopdesk.org.choices import FRONT_LINE_ROLES, Role, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.tickets.choices import Action, CallbackVerdict, EventKind, Status
from loopdesk.tickets.models import Ticket, TicketEvent, TicketUnitAccess
from loopdesk.tickets.workflow import TRANSITIONS, actions_from

HANDLER_ROLES = frozenset({Role.SPECIALIST, Role.DEPARTMENT_HEAD, Role.DISPATCHER})
REVEAL_ROLES = frozenset(
    {Role.HOTLINE_AGENT, Role.HALL_CLERK, Role.ACCOUNT_MANAGER, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMINISTRATOR}
)
CREATE_ROLES = FRONT_LINE_ROLES | {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMINISTRATOR}


def is_admin(user: Any) -> bool:
    return bool(user.is_superuser or user.has_role(Role.ADMINISTRATOR))


def is_read_only(user: Any) -> bool:
    """An auditor and nothing else: sees, never changes."""
    return bool(user.role_codes == {Role.AUDITOR} and not is_admin(user))


def company_scope_q(unit: Any) -> Q:
    """The rows (with `province` and `region` columns: tickets, units, rollups) of the company `unit` belongs to:
    everything for HQ, its province for a province's unit, else its region (city); nothing without a unit."""
    if unit is None:
        return Q(pk__in=[])
    if unit.level == UnitLevel.HQ:
        return Q()
    if unit.level == UnitLevel.PROVINCE:
        return Q(province=unit.province)
    return Q(region=unit.region)


def _scope_q_for_wide_role(user: Any) -> Q:
    """Supervisors, auditors and dispatchers see every ticket of the company their unit belongs to."""
    return company_scope_q(user.unit)


def visible_tickets(user: Any, queryset: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    """The tickets `user` may see."""
    qs = queryset if queryset is not None else Ticket.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if is_admin(user):
        return qs
    roles = user.role_codes
    if roles & {Role.SUPERVISOR, Role.AUDITOR, Role.DISPATCHER}:
        return qs.filter(_scope_q_for_wide_role(user))
    q = Q(pk__in=[])
    if user.unit_id is not None:
        # What they registered or hold, while they are still where it sits: the first responder in the unit they
        # registered it for, the handler in the handling unit or a room below it (a room's specialist holds what
        # sits with the centre). Once moved (another unit, another city) they see none of it: it stays with the
        # unit, whose staff see it (and answer or handle it).
        q |= Q(first_responder=user, first_responder_unit_id=user.unit_id)
        q |= Q(handler_user=user, handler_unit_id__in=user.unit.ancestor_ids())
        if roles & FRONT_LINE_ROLES:
            q |= Q(first_responder_unit_id=user.unit_id)
            # Standing in for a first-responder unit deactivated since (`services._back_to_first_responder`).
            q |= Q(handler_unit_id=user.unit_id,
                   first_responder_unit_id__in=OrgUnit.objects.filter(is_active=False).values("id"))
        if roles & {Role.SPECIALIST, Role.DEPARTMENT_HEAD}:
            # What is with my unit now (always also in TicketUnitAccess: dispatch and transfer grant it) is tested
            # first, from one uncorrelated list of unit ids, so that a queue's rows rarely need the correlated
            # EXISTS below (which costs a lookup per row: ~0.1 ms each at a million tickets on SQLite).
            subtree = OrgUnit.objects.filter(path__startswith=user.unit.path).values("id")
            access = TicketUnitAccess.objects.filter(ticket=OuterRef("pk"), unit__path__startswith=user.unit.path)
            q |= Q(handler_unit_id__in=subtree) | Q(Exists(access))
    if Role.ACCOUNT_MANAGER in roles:
        q |= Q(customer__account_manager=user)
    return qs.filter(q)


def can_see(user: Any, ticket: Ticket) -> bool:
    return visible_tickets(user, Ticket.objects.filter(pk=ticket.pk)).exists()


def visible_among(user: Any, ids: Iterable[int] = (), numbers: Iterable[str] = ()) -> tuple[set[int], set[str]]:
    """Which of these work orders (by id, by number) `user` may see, in one query: a linked work order (parent,
    child, duplicate, related, repeat) outside the reader's scope is shown as one they may not see, not by number."""
    ids, numbers = set(ids), {n for n in numbers if n}
    if not ids and not numbers:
        return set(), set()
    rows = visible_tickets(user, Ticket.objects.filter(Q(pk__in=ids) | Q(number__in=numbers))).values_list(
        "pk", "number")
    seen = list(rows)
    return {pk for pk, _n in seen}, {n for _pk, n in seen}


# --- relations between a user and a ticket -------------------------------------------------------


def _in_region(user: Any, ticket: Ticket) -> bool:
    unit = user.unit
    if unit is None:
        return False
    if unit.level == UnitLevel.HQ:
        return True
    if unit.level == UnitLevel.PROVINCE:
        return unit.province == ticket.province
    return unit.region == ticket.region


def is_first_responder_side(user: Any, ticket: Ticket) -> bool:
    """The first responder, or a front-line colleague of the same unit (the next shift); once that unit has been
    deactivated, the front line of the unit the work order came back to in its place (the nearest active front-line
    unit above it: `services._back_to_first_responder`)."""
    if user.pk == ticket.first_responder_id and user.unit_id == ticket.first_responder_unit_id:
        return True  # while still in the unit they registered it for: once moved, that unit's front line acts
    if not user.unit_id or not user.role_codes & FRONT_LINE_ROLES:
        return False
    if user.unit_id == ticket.first_responder_unit_id:
        return True
    return bool(user.unit_id == ticket.handler_unit_id and not ticket.first_responder_unit.is_active)


def is_handler_side(user: Any, ticket: Ticket) -> bool:
    """A member of the handling unit (or a room below it) who handles tickets, or a department head above it."""
    unit = user.unit
    if unit is None or not user.role_codes & HANDLER_ROLES:
        return False
    handler_path = ticket.handler_unit.path
    return bool(unit.path.startswith(handler_path)) or is_head_over_handler(user, ticket)


def is_head_over_handler(user: Any, ticket: Ticket) -> bool:
    unit = user.unit
    if unit is None or not user.has_role(Role.DEPARTMENT_HEAD):
        return False
    return bool(ticket.handler_unit.path.startswith(unit.path))


def is_region_dispatcher(user: Any, ticket: Ticket) -> bool:
    return bool(user.has_role(Role.DISPATCHER) and _in_region(user, ticket))


def is_region_supervisor(user: Any, ticket: Ticket) -> bool:
    return bool(user.has_role(Role.SUPERVISOR) and _in_region(user, ticket))


def _requested_hold(user: Any, ticket: Ticket) -> bool:
    """Whether `user` asked for the hold the ticket waits on (its latest hold request)."""
    requester = (TicketEvent.objects.filter(ticket_id=ticket.pk, kind=EventKind.REQUEST_HOLD).order_by("-seq")
                 .values_list("actor_id", flat=True).first())
    return bool(requester is not None and requester == user.pk)


def _may(user: Any, action: str, ticket: Ticket, *, ever: bool = False) -> bool:
    """Who may take `action` on `ticket`, regardless of its state. With `ever`: whether `user` could at some point
    of the ticket's life (the first responder and region never change; the handling unit does, so a handler's role
    is enough, and a hold's requester is not yet known)."""
    if is_admin(user):
        return True
    if is_read_only(user):
        return False
    supervisor = is_region_supervisor(user, ticket)
    first = is_first_responder_side(user, ticket)
    dispatcher = is_region_dispatcher(user, ticket)
    if ever:
        handler = bool(user.unit is not None and user.role_codes & HANDLER_ROLES)  # department heads too
        if action in (Action.APPROVE_HOLD, Action.DENY_HOLD):
            return bool(user.unit is not None and user.has_role(Role.DEPARTMENT_HEAD)) or supervisor
        if action == Action.RESUME:
            return handler or supervisor
    else:
        handler = is_handler_side(user, ticket)
    if action in (Action.DISPATCH, Action.REJECT, Action.WITHDRAW):
        return first or dispatcher or supervisor
    if action in (Action.ACCEPT, Action.RETURN, Action.REQUEST_INFO, Action.REQUEST_HOLD, Action.REPLY):
        return handler
    if action == Action.TRANSFER:
        return handler or dispatcher or supervisor
    if action == Action.PROVIDE_INFO:
        return first or handler or dispatcher
    if action == Action.APPROVE_HOLD and _requested_hold(user, ticket):
        return False  # an approval is someone else's: not the head or supervisor who asked for the hold
    if action in (Action.APPROVE_HOLD, Action.DENY_HOLD):
        return is_head_over_handler(user, ticket) or supervisor
    if action == Action.RESUME:
        return handler or is_head_over_handler(user, ticket) or supervisor
    if action in (Action.ANSWER, Action.CALLBACK, Action.CLOSE, Action.REOPEN):
        return first or supervisor
    return False


def could_take(user: Any, action: str, ticket: Ticket) -> bool:
    """Whether `user` could take `action` on `ticket` at some point of its life (their role and the ticket's
    first responder and region allow it). Checked before the version the caller saw: one who could not is refused
    (403) and learns nothing about versions; one who could, whose form or copy is stale, is told to reload (409)."""
    return _may(user, action, ticket, ever=True)


def allowed_actions(user: Any, ticket: Ticket) -> list[str]:
    """The actions `user` may take on `ticket` in its current state (what the UI offers). Closing is not offered
    after a dissatisfied callback: the service refuses it (reopen instead)."""
    return [action for action in actions_from(ticket.status) if _may(user, action, ticket)
            and not (action == Action.CLOSE and ticket.callback_verdict == CallbackVerdict.DISSATISFIED)]


def check_action(user: Any, action: str, ticket: Ticket) -> None:
    """Raise InvalidTransition (naming the state and what is allowed) or PermissionDeniedError."""
    allowed_from = TRANSITIONS[action].sources
    if ticket.status not in allowed_from:
        status_label = Status(ticket.status).label
        # What this user may do now (as the UI offers it), not every action of the status: one their role may not
        # take would only be refused next (403).
        mine = allowed_actions(user, ticket)
        now_allowed = ", ".join(str(Action(a).label) for a in mine) or str(_("none"))
        raise InvalidTransition(
            _("“%(action)s” is not possible while the work order is “%(status)s”. Possible now: %(allowed)s.")
            % {"action": Action(action).label, "status": status_label, "allowed": now_allowed},
            params={"status": ticket.status, "allowed_actions": mine},
        )
    check_may(user, action, ticket)


def check_may(user: Any, action: str, ticket: Ticket, *, ever: bool = False) -> None:
    """Raise PermissionDeniedError unless `user` may take `action` on `ticket` (in some state; with `ever`, at some
    point of its life: `_may`)."""
    if not _may(user, action, ticket, ever=ever):
        raise PermissionDeniedError(
            _("You may not “%(action)s” this work order.") % {"action": Action(action).label},
            params={"status": ticket.status},
        )


def can_create(user: Any) -> bool:
    return bool(is_admin(user) or user.role_codes & CREATE_ROLES)


def can_reveal(user: Any) -> bool:
    return bool(is_admin(user) or user.role_codes & REVEAL_ROLES)
