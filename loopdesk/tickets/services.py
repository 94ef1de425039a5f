"""Every change of state of a work order. Views, API, admin actions, tasks and commands call these.

Each `do_*` function: checks permission and the current state (`loopdesk.tickets.policy`), makes the
change, appends a timeline event and an audit record, all in one transaction. The ticket row is
locked and its `version` compared with the one the caller saw, so of two agents acting at once one
wins and the other gets a ConflictError; nothing is half applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any, NamedTuple, TypedDict, Unpack

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q, QuerySet
from django.db.models.query import get_related_populators
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.services import record_audit
from loopdesk.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from loopdesk.core.text import one_char_line_breaks
from loopdesk.customers.models import Customer
from loopdesk.org.choices import Role, UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit, User
from loopdesk.routing.services import route_ticket
from loopdesk.sla import refcache
from loopdesk.sla.calendars import SHANGHAI, working_time_for
from loopdesk.sla.clock import compute_sla
from loopdesk.sla.services import committed_time, select_policy
from loopdesk.tickets import events as ticket_events
from loopdesk.tickets import filetypes, policy
from loopdesk.tickets.choices import (
    TERMINAL_STATUSES,
    WITH_DEPARTMENT_STATUSES,
    Action,
    CallbackVerdict,
    Channel,
    ContactType,
    EventKind,
    LinkKind,
    Priority,
    RejectReason,
    Status,
    Visibility,
)
from loopdesk.tickets.models import (
    Attachment,
    Category,
    ExternalRef,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketUnitAccess,
)
from loopdesk.tickets.numbers import next_ticket_number
from loopdesk.tickets.workflow import TRANSITIONS

MAX_DESCRIPTION = 4000
MAX_TITLE = 200
MAX_NOTE = 2000
REPEAT_WINDOW = dt.timedelta(days=30)
MAX_COMMITTED_AHEAD = dt.timedelta(days=365)  # the latest resolution time a customer may be promised
# Notes the system writes for a person (data["note"] names one): stored in the deployment's language, shown in the
# reader's (`system_notes`), as the escalation entries.
SYSTEM_NOTES = {
    "bulk_dispatch": _("Bulk dispatch"),
    "handler_moved": _("Back to the unit's queue: the handler moved to another unit."),
    "handler_left": _("Back to the unit's queue: the handler left (deactivated)."),
    "handler_role": _("Back to the unit's queue: the handler no longer holds a handling role."),
}
# Columns a service may change; `number`, `created_at` and the first responder never change.
_IMMUTABLE = {"id", "number", "created_at", "first_responder_id", "first_responder_unit_id", "province", "region"}


# --- helpers ---------------------------------------------------------------------------------------


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _clean_text(errors: dict[str, list[str]], field: str, value: str | None, *, required: bool, limit: int) -> str:
    text = one_char_line_breaks(value or "").strip()  # a line break counts once, as the text boxes count it
    if required and not text:
        errors.setdefault(field, []).append(str(_("This field is required.")))
    elif len(text) > limit:
        errors.setdefault(field, []).append(
            str(_("At most %(limit)d characters (you entered %(count)d).") % {"limit": limit, "count": len(text)})
        )
    return text


def _required_text(field: str, value: str | None, limit: int = MAX_NOTE) -> str:
    errors: dict[str, list[str]] = {}
    text = _clean_text(errors, field, value, required=True, limit=limit)
    if errors:
        raise ValidationFailed(errors)
    return text


def _optional_text(field: str, value: str | None, limit: int = MAX_NOTE) -> str:
    errors: dict[str, list[str]] = {}
    text = _clean_text(errors, field, value, required=False, limit=limit)
    if errors:
        raise ValidationFailed(errors)
    return text


# Relations joined into the locking query: only foreign keys that never change after creation. On PostgreSQL
# a locking query re-checks its joins after waiting for a concurrent update, against the joined rows it read
# before; a join on a column that can change (the handler) would lose the ticket.
_LOCK_RELATED = ("customer", "first_responder", "first_responder_unit")
# The ticket's columns as the lock read them, in `ticket.__dict__[LOADED]`: `_save` writes only what changed,
# and listeners compare with them to skip work when what they depend on did not change.
LOADED = "_as_locked"
_SNAPSHOT = tuple(f.attname for f in Ticket._meta.concrete_fields)


def _attach_reference(t: Ticket, token: Any = refcache.CURRENT) -> None:
    """Handling unit and SLA policy (with calendar) from the process's reference copy, not joined queries."""
    unit = refcache.units(token).get(t.handler_unit_id) if t.handler_unit_id else None
    if unit is not None:
        Ticket.handler_unit.field.set_cached_value(t, unit)
    policy = refcache.sla_policies(token)[1].get(t.sla_policy_id) if t.sla_policy_id else None
    if policy is not None:
        Ticket.sla_policy.field.set_cached_value(t, policy)


def _lock_queryset(pk: int) -> QuerySet[Ticket]:
    """The ticket, locked, with its never-changing relations and the reference data token."""
    return (
        Ticket.objects.select_for_update(of=("self",)).select_related(*_LOCK_RELATED)
        .annotate(reference_token=refcache.token_subquery()).filter(pk=pk).order_by("pk")[:1]
    )


class _LockQuery:
    """`_lock_queryset` compiled once per process and database connection, then run with each ticket id.

    Building and compiling that queryset cost more CPU than running it (~3 of ~5 ms per action on PostgreSQL);
    its SQL never changes but for the id. The row becomes instances exactly as `QuerySet` iteration makes them
    (`ModelIterable`: converters, `from_db`, select_related populators, annotations).
    """

    _SENTINEL = -7_310_000_001  # never a ticket id: marks where the id goes in the parameters
    _compiled: dict[str, _LockQuery] = {}

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.compiler = _lock_queryset(self._SENTINEL).query.get_compiler(using=alias)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        slots = [i for i, value in enumerate(self.params) if value == self._SENTINEL]
        if len(slots) != 1:  # pragma: no cover - a Django change in how the query is compiled
            raise RuntimeError("the ticket id is not one parameter of the locking query")
        self.slot = slots[0]
        klass_info, select = self.compiler.klass_info, self.compiler.select
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start:self.end]]
        self.populators = get_related_populators(klass_info, select, alias)  # type: ignore[call-arg]
        self.annotations = dict(self.compiler.annotation_col_map)

    @classmethod
    def fetch(cls, pk: int) -> Ticket | None:
        alias = router.db_for_write(Ticket)
        query = cls._compiled.get(alias)
        if query is None:
            query = cls._compiled[alias] = cls(alias)
        return query.run(pk)

    def run(self, pk: int) -> Ticket | None:
        params = list(self.params)
        params[self.slot] = int(pk)
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            if connection.features.has_select_for_update and connection.get_autocommit():  # as QuerySet does
                raise transaction.TransactionManagementError(
                    "select_for_update cannot be used outside of a transaction.")
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = next(iter(self.compiler.results_iter([[row]])))
        obj = Ticket.from_db(self.alias, self.init_list, row[self.start:self.end])
        for populator in self.populators:
            populator.populate(row, obj)
        for name, position in self.annotations.items():
            setattr(obj, name, row[position])
        return obj


def _pk(ticket: Ticket | int) -> int:
    """The id of a ticket given as an instance or an id (locking by id skips the version check)."""
    return int(ticket.pk if isinstance(ticket, Ticket) else ticket)


def _lock_ticket(
    ticket: Ticket | int, expected_version: int | None, may: Callable[[Ticket], None] | None = None,
) -> Ticket:
    """Lock the ticket row and check that nobody changed it since the caller read it.

    One query: the row, locked, with its never-changing relations and the reference data token. `may`, the
    caller's permission check, runs on the locked row before the version check: one who may not act is refused
    (403) without learning that the work order changed, or its version.
    """
    pk = ticket.pk if isinstance(ticket, Ticket) else ticket
    if expected_version is None and isinstance(ticket, Ticket):
        expected_version = ticket.version
    locked = _LockQuery.fetch(pk)
    if locked is None:
        raise NotFoundError(_("Work order not found."))
    token = locked.reference_token  # type: ignore[attr-defined]
    refcache.note_token(token)
    _attach_reference(locked, token)
    locked.__dict__[LOADED] = {name: getattr(locked, name) for name in _SNAPSHOT}
    if may is not None:
        may(locked)
    if expected_version is not None and locked.version != expected_version:
        raise ConflictError(
            _(
                "Work order %(number)s was changed by someone else meanwhile (version %(theirs)d, you saw "
                "%(yours)d). Reload it and try again."
            )
            % {"number": locked.number, "theirs": locked.version, "yours": expected_version},
            params={"current_version": locked.version, "status": locked.status},
        )
    return locked


class EventFields(TypedDict, total=False):
    """The optional fields of a timeline event, as `_new_event` and `_append_event` take them (the model's
    defaults apply to those left out)."""

    from_status: str
    to_status: str
    from_unit: OrgUnit | None
    to_unit: OrgUnit | None
    to_user: Any
    note: str
    visibility: str
    data: dict[str, Any] | None


def _append_event(ticket: Ticket, kind: str, actor: Any, at: dt.datetime, **fields: Unpack[EventFields]) -> TicketEvent:
    """`_new_event`, saved."""
    event = _new_event(ticket, kind, actor, at, **fields)
    event.save(force_insert=True)
    return event


def _new_event(ticket: Ticket, kind: str, actor: Any, at: dt.datetime, **fields: Unpack[EventFields]) -> TicketEvent:
    """The next timeline event of `ticket`, queued for the listeners; the caller saves it."""
    ticket.last_event_seq += 1
    event = TicketEvent(
        ticket=ticket,
        seq=ticket.last_event_seq,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_unit_id=getattr(actor, "unit_id", None),
        created_at=at,
        **fields,
    )
    if event.data is None:
        event.data = {}
    pending = ticket.__dict__.setdefault("_unpublished_events", [])
    pending.append(event)
    created = ticket.__dict__.get(CREATED_ROWS)
    if created is not None:
        created["events"].append(event)
    timeline = ticket.__dict__.get(_TIMELINE)
    if timeline is not None:
        timeline.append(_EventRow(kind, at, event.to_status))
    return event


def _publish(ticket: Ticket) -> None:
    """Hand the events this service appended to the listeners (outbox, rollups), in the same transaction."""
    for event in ticket.__dict__.pop("_unpublished_events", []):
        ticket_events.notify(ticket, event)


# On a ticket created in the running transaction: its whole timeline so far, so the SLA clock needs no query.
_TIMELINE = "_timeline_rows"
# On the instance `do_create_ticket` returns: every row the creation wrote for it besides the ticket itself
# ({"events": [TicketEvent], "links": [TicketLink], "external_refs": [ExternalRef]}, in insertion order), so the
# caller can show the new ticket without reading it back (loopdesk.tmf.v4.representation.as_created). Only what
# went through this instance is there: a note or link added afterwards by another service is not.
CREATED_ROWS = "_created_rows"


class _EventRow(NamedTuple):
    """What the SLA clock needs of an event, read without building model instances."""

    kind: str
    created_at: dt.datetime
    to_status: str


# The columns `_refresh_sla` may change.
SLA_COLUMNS = ("first_response_due_at", "first_responded_at", "cycle_started_at", "hop_started_at", "hop_due_at",
               "overtime_at", "problem_at", "resolution_due_at", "sla_paused", "is_overtime", "is_problem", "due_at",
               "replied_at", "answered_at")


def _refresh_sla(
    ticket: Ticket, at: dt.datetime, events: Iterable[Any] | None = None, *, unsaved: list[TicketEvent] | None = None
) -> tuple[bool, bool]:
    """Derive every SLA column from the timeline; write an event when a ticket first crosses 48 h / 72 h, and
    when a reopened ticket's new cycle crosses them (its flags stay set from the earlier round).

    With `unsaved`, the crossing events are added to that list for the caller to insert in bulk instead.
    Returns whether it marked an overtime and a problem crossing now.
    """
    if ticket.sla_policy is None:
        return False, False
    if events is None:
        events = t_rows if (t_rows := ticket.__dict__.get(_TIMELINE)) is not None else None
    if events is None:
        events = [
            _EventRow(kind, created_at, to_status)
            for kind, created_at, to_status in TicketEvent.objects.filter(ticket_id=ticket.pk)
            .order_by("seq")
            .values_list("kind", "created_at", "to_status")
        ]
    was_overtime, was_problem = ticket.is_overtime, ticket.is_problem
    state = compute_sla(events, ticket.sla_policy, working_time_for(ticket.sla_policy.calendar), at)
    for name, value in state.as_fields().items():
        setattr(ticket, name, value)
    ticket.replied_at = state.replied_at
    ticket.answered_at = state.answered_at
    add = _append_event if unsaved is None else lambda *a, **kw: unsaved.append(_new_event(*a, **kw))
    new_overtime = bool(ticket.pk) and ((ticket.is_overtime and not was_overtime) or state.unmarked_overtime)
    new_problem = bool(ticket.pk) and ((ticket.is_problem and not was_problem) or state.unmarked_problem)
    if new_overtime:
        add(ticket, EventKind.OVERTIME, None, at, data={"overtime_at": str(ticket.overtime_at)})
    if new_problem:
        add(ticket, EventKind.PROBLEM, None, at, data={"problem_at": str(ticket.problem_at)})
    ticket.__dict__[SLA_MARKED] = (new_overtime, new_problem)
    return new_overtime, new_problem


# On a ticket `_refresh_sla` refreshed: (overtime, problem) crossings it marked then (the listeners of the crossing
# events read it: one that crossed both at once is alerted as a problem ticket only).
SLA_MARKED = "_sla_marked"


def _save(ticket: Ticket, at: dt.datetime, *, bump: bool = True) -> None:
    """Write the ticket back, only if its version is still the one we locked."""
    old_version = ticket.version
    if bump:
        ticket.version = old_version + 1
    ticket.updated_at = at
    loaded = ticket.__dict__.get(LOADED)
    values = {
        f.attname: getattr(ticket, f.attname)
        for f in Ticket._meta.concrete_fields
        if f.attname not in _IMMUTABLE and (loaded is None or getattr(ticket, f.attname) != loaded.get(f.attname))
    }
    values["updated_at"], values["version"] = ticket.updated_at, ticket.version
    if Ticket.objects.filter(pk=ticket.pk, version=old_version).update(**values) != 1:
        raise ConflictError(_("Work order %(number)s was changed by someone else meanwhile.") % {
            "number": ticket.number})


def _grant_unit_access(ticket: Ticket, unit: OrgUnit) -> None:
    TicketUnitAccess.objects.bulk_create([TicketUnitAccess(ticket=ticket, unit=unit)], ignore_conflicts=True)


def _unit_name(unit: OrgUnit) -> str:
    """A unit's name in the language of the message that names it."""
    return unit.display_name(get_language())


def _check_target_unit(unit: OrgUnit | None, field: str = "to_unit") -> OrgUnit:
    if unit is None:
        raise ValidationFailed(field=field, message=_("Choose the unit to send the work order to."))
    if not unit.is_active:
        raise ValidationFailed(field=field, message=_("Unit “%(unit)s” is no longer active.")
                               % {"unit": _unit_name(unit)})
    if unit.function == UnitFunction.FRONT_LINE:  # nobody there accepts work orders: it would be stuck
        raise ValidationFailed(field=field, message=_(
            "Tickets are routed to specialist departments or second-line support, not to the front line."))
    if unit.is_city_management:  # the city company, 服务管理室, 人力资源部: nobody there handles them
        raise ValidationFailed(field=field, message=_(
            "“%(unit)s” is a management unit: work orders go to specialist departments or second-line support.")
            % {"unit": _unit_name(unit)})
    return unit


def _check_target_region(t: Ticket, unit: OrgUnit, field: str = "to_unit") -> None:
    """A unit of a city (at or below the city company) takes that city's work orders only; a province's unit its
    province's; the group's (HQ) units none: a work order is handled in its city or province."""
    if unit.level == UnitLevel.HQ:
        raise ValidationFailed(field=field, message=_(
            "“%(unit)s” is a unit of the group headquarters; a work order goes to a unit of its city or province.")
            % {"unit": _unit_name(unit)})
    if unit.level in (UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM) and unit.region != t.region:
        raise ValidationFailed(field=field, message=_(
            "“%(unit)s” works for region %(unit_region)s; this work order is of region %(region)s.")
            % {"unit": _unit_name(unit), "unit_region": unit.region, "region": t.region})
    if unit.level == UnitLevel.PROVINCE and unit.province != t.province:
        raise ValidationFailed(field=field, message=_(
            "“%(unit)s” works for province %(unit_province)s; this work order is of province %(province)s.")
            % {"unit": _unit_name(unit), "unit_province": unit.province, "province": t.province})


def _check_target_user(user: Any, unit: OrgUnit, field: str = "to_user") -> Any:
    if user is None:
        return None
    if user.unit is None or not user.unit.is_within(unit) or not user.is_active:
        raise ValidationFailed(
            field=field, message=_("%(user)s does not work in %(unit)s.") % {"user": user, "unit": _unit_name(unit)}
        )
    return user


def _transition(
    acting_user: Any,
    ticket: Ticket | int,
    action: str,
    *,
    expected_version: int | None,
    now: dt.datetime | None,
    note: str = "",
    visibility: str = Visibility.INTERNAL,
    handler: tuple[OrgUnit, Any] | Callable[[Ticket], tuple[OrgUnit, Any]] | None = None,
    change: Callable[[Ticket], None] | None = None,
    data: dict[str, Any] | None = None,
    created: Ticket | None = None,
) -> Ticket:
    """The common shape of every action: lock, check, change, timeline, SLA, save, audit.

    `handler` is the new (unit, user), or a function of the locked ticket that returns it. `created` is a
    ticket inserted earlier in the same transaction (create-and-dispatch): nobody else can see it yet, so it
    needs no lock and no re-read.
    """
    if policy.is_read_only(acting_user):  # before the version check: an auditor learns nothing from a conflict
        raise PermissionDeniedError(
            _("You may not “%(action)s” this work order.") % {"action": Action(action).label})
    # A step of create-and-dispatch needs no savepoint: if it fails, the whole creation rolls back.
    with transaction.atomic(savepoint=created is None), refcache.pinned():
        t = created if created is not None else _lock_ticket(
            ticket, expected_version, lambda locked: policy.check_may(acting_user, action, locked, ever=True))
        policy.check_action(acting_user, action, t)
        at = _now(now)
        from_status, from_unit = t.status, t.handler_unit
        target = TRANSITIONS[action].target
        if change is not None:
            change(t)
        t.status = target
        t.is_open = target not in TERMINAL_STATUSES
        if target in TERMINAL_STATUSES:
            t.closed_at = at
        to_unit = to_user = None
        if handler is not None:
            to_unit, to_user = handler(t) if callable(handler) else handler
            t.handler_unit, t.handler_user = to_unit, to_user
        _append_event(
            t, action, acting_user, at, from_status=from_status, to_status=target,
            from_unit=from_unit if handler is not None else None, to_unit=to_unit, to_user=to_user,
            note=note, visibility=visibility, data=data,
        )
        _refresh_sla(t, at)
        _save(t, at)
        _publish(t)
        record_audit(acting_user, f"ticket.{action}", t, data={"from": from_status, "to": target, **(data or {})},
                     at=at)
    return t


def _renew_passed_commitment(t: Ticket, acting_user: Any, action: str, at: dt.datetime) -> None:
    """After `action` (a reopening, the end of a suspension, information supplied after a long wait) at `at`: a
    committed time that has passed by then is renewed from the SLA policy, counted from `at`, as a
    customer-visible change of the committed time (the customer's `commit_changed` SMS with the new date), so no
    later SMS quotes the passed one and nobody has to set it by hand. A time still ahead stands."""
    if t.committed_at > at:
        return
    sla_policy = t.sla_policy or select_policy(
        contact_type=t.contact_type, category=t.category, tier=t.tier, priority=t.priority, channel=t.channel)
    previous, t.committed_at = t.committed_at, committed_time(sla_policy, at)
    # No note: the action's note (a reason, the information) is internal, and this event is the customer's.
    _append_event(t, EventKind.COMMIT_TIME, acting_user, at, visibility=Visibility.CUSTOMER,
                  data={"from": previous.isoformat(), "to": t.committed_at.isoformat(), action: True})
    _save(t, at, bump=False)  # one action, one version
    _publish(t)
    record_audit(acting_user, "ticket.commit_time", t, data={"to": t.committed_at.isoformat()}, at=at)


def _transition_renewing(
    acting_user: Any, ticket: Ticket | int, action: str, *, expected_version: int | None,
    now: dt.datetime | None, **kwargs: Any,
) -> Ticket:
    """`_transition`, then `_renew_passed_commitment`, in one transaction: the actions after which the work goes
    on although the committed time may have passed meanwhile (reopen, resume, provide_info)."""
    at = _now(now)
    with transaction.atomic():
        t = _transition(acting_user, ticket, action, expected_version=expected_version, now=at, **kwargs)
        _renew_passed_commitment(t, acting_user, action, at)
    return t


# --- creation --------------------------------------------------------------------------------------


def do_create_ticket(
    *,
    acting_user: Any,
    customer: Customer,
    contact_type: str,
    category: Category | None,
    channel: str,
    description: str,
    priority: str = Priority.NORMAL,
    title: str = "",
    committed_at: dt.datetime | None = None,
    requested_resolution_at: dt.datetime | None = None,
    external_refs: dict[str, str] | None = None,
    parent: Ticket | None = None,
    dispatch: bool = False,
    dispatch_to: OrgUnit | None = None,
    dispatch_note: str = "",
    now: dt.datetime | None = None,
    imported: bool = False,
) -> Ticket:
    """Register (受理) a contact as a work order. The acting user becomes its first responder.

    `imported`: a legacy work order registered as history (the import's reference path): the complaint it repeats
    gets no timeline entry, as the bulk import writes none.

    With `dispatch=True` the ticket is dispatched in the same transaction, to `dispatch_to` or, when
    that is empty, where the routing rules send it ("create and dispatch" in one step), with `dispatch_note`
    as the dispatch's note.
    """
    if not policy.can_create(acting_user):
        raise PermissionDeniedError(_("You may not register work orders."))
    if acting_user.unit is None:
        raise PermissionDeniedError(_("Your account belongs to no unit; ask an administrator."))
    at = _now(now)
    errors: dict[str, list[str]] = {}
    if contact_type not in ContactType.values:
        errors["contact_type"] = [str(_("Choose a valid contact type."))]
    if channel not in Channel.values:
        errors["channel"] = [str(_("Choose a valid channel."))]
    if priority not in Priority.values:
        errors["priority"] = [str(_("Choose a valid priority."))]
    if category is None or not category.is_active:
        errors["category"] = [str(_("Choose an active category."))]
    description = _clean_text(errors, "description", description, required=True, limit=MAX_DESCRIPTION)
    title = _clean_text(errors, "title", title, required=False, limit=MAX_TITLE)
    committed_error = _committed_time_error(committed_at, at) if committed_at is not None else ""
    if committed_error:
        errors["committed_at"] = [committed_error]
    # What the customer asks for: a time already past when the contact is registered cannot be promised (it made
    # the ticket look overdue for the customer from its first minute).
    if requested_resolution_at is not None and requested_resolution_at <= at:
        errors["requested_resolution_at"] = [str(_("The requested resolution time must be in the future."))]
    if customer is None or customer.pk is None:
        errors["customer"] = [str(_("Choose the customer."))]
    for system, external_id in (external_refs or {}).items():
        if not system or not external_id or len(system) > 32 or len(external_id) > 64:
            errors["external_refs"] = [str(_("External ids need a system (≤ 32) and an id (≤ 64)."))]
        elif ExternalRef.objects.filter(system=system, external_id=external_id).exists():
            errors["external_refs"] = [_external_taken(system, external_id)]
    if errors:
        raise ValidationFailed(errors)
    assert category is not None

    with refcache.pinned():
        return _create(
            acting_user=acting_user, customer=customer, contact_type=contact_type, category=category, channel=channel,
            description=description, priority=priority, title=title, committed_at=committed_at,
            requested_resolution_at=requested_resolution_at, external_refs=external_refs, parent=parent,
            dispatch=dispatch, dispatch_to=dispatch_to, dispatch_note=dispatch_note, at=at, imported=imported,
        )


def _external_taken(system: str, external_id: str) -> str:
    return str(_("%(system)s id %(id)s is already on another work order.") % {"system": system, "id": external_id})


def _create(
    *, acting_user: Any, customer: Customer, contact_type: str, category: Category, channel: str, description: str,
    priority: str, title: str, committed_at: dt.datetime | None, requested_resolution_at: dt.datetime | None,
    external_refs: dict[str, str] | None, parent: Ticket | None, dispatch: bool, dispatch_to: OrgUnit | None,
    at: dt.datetime, dispatch_note: str = "", imported: bool = False,
) -> Ticket:
    root = (refcache.categories().get(category.root_id) or Category.objects.get(pk=category.root_id)
            if category.parent_id else category)
    sla_policy = select_policy(
        contact_type=contact_type, category=category, tier=customer.tier, priority=priority, channel=channel,
        policies=refcache.sla_policies()[0],
    )
    region = customer.region or acting_user.unit.region
    province = customer.province or acting_user.unit.province or settings.LOOPDESK_PROVINCE
    created_event = SimpleNamespace(kind=EventKind.CREATE, created_at=at, to_status=Status.NEW)
    state = compute_sla([created_event], sla_policy, working_time_for(sla_policy.calendar), at)

    with transaction.atomic():
        earlier = (_earlier_complaint(customer.pk, root.pk, at)
                   if contact_type in (ContactType.COMPLAINT, ContactType.APPEAL) else None)
        number = next_ticket_number(region, at.astimezone(SHANGHAI).date())
        ticket = Ticket(
            number=number,
            province=province,
            region=region,
            contact_type=contact_type,
            category=category,
            category_root=root,
            channel=channel,
            priority=priority,
            customer=customer,
            tier=customer.tier,
            branch_id=customer.home_branch_id,
            title=title,
            description=description,
            first_responder=acting_user,
            first_responder_unit=acting_user.unit,
            handler_unit=acting_user.unit,
            handler_user=acting_user,
            status=Status.NEW,
            is_open=True,
            is_repeat=earlier is not None,
            sla_policy=sla_policy,
            committed_at=committed_at or committed_time(sla_policy, at),
            requested_resolution_at=requested_resolution_at,
            parent=parent,
            created_at=at,
            updated_at=at,
            last_event_seq=0,
            **state.as_fields(),
        )
        ticket.__dict__[_TIMELINE] = []
        created: dict[str, list[Any]] = {"events": [], "links": [], "external_refs": []}
        ticket.__dict__[CREATED_ROWS] = created
        events = [_new_event(
            ticket, EventKind.CREATE, acting_user, at, to_status=Status.NEW, to_unit=acting_user.unit,
            to_user=acting_user, note=description, data={"channel": channel, "contact_type": contact_type},
        )]
        if earlier is not None:
            events.append(_new_event(ticket, EventKind.REPEAT, None, at, data={"repeat_of": earlier[1]}))
        # The row goes in with its final event count: no update after the events.
        ticket.save(force_insert=True)
        TicketEvent.objects.bulk_create(events)
        for system, external_id in (external_refs or {}).items():
            try:
                with transaction.atomic():
                    created["external_refs"].append(
                        ExternalRef.objects.create(ticket=ticket, system=system, external_id=external_id))
            except IntegrityError:
                # Another registration took the id between the check above and now (tkt_external_unique):
                # the same field error as the check's, and nothing of this ticket is stored.
                raise ValidationFailed(field="external_refs", message=_external_taken(system, external_id)) from None
        links = []
        if parent is not None:
            links.append(TicketLink(from_ticket=parent, to_ticket=ticket, kind=LinkKind.PARENT, created_at=at,
                                    created_by=acting_user))
        if earlier is not None:
            # The earlier ticket as far as it is known (id and number), for whoever shows the new link.
            links.append(TicketLink(from_ticket=ticket, to_ticket=Ticket(pk=earlier[0], number=earlier[1]),
                                    kind=LinkKind.REPEAT, created_at=at, created_by=acting_user))
        if links:
            TicketLink.objects.bulk_create(links)
            created["links"] += links
        _publish(ticket)
        if parent is not None:
            _record_link_on_other_side(parent.pk, LinkKind.PARENT, ticket.number, acting_user, at)
        if earlier is not None and not imported:  # the complaint repeated: its handlers and TMF listeners hear of it
            _record_link_on_other_side(earlier[0], LinkKind.REPEAT, ticket.number, acting_user, at)
        record_audit(acting_user, "ticket.create", ticket, data={"number": number}, at=at)
        if dispatch:
            ticket = _dispatch(acting_user=acting_user, ticket=ticket, to_unit=dispatch_to, to_user=None,
                               note=dispatch_note, expected_version=ticket.version, now=at, created=ticket)
        ticket.__dict__.pop(_TIMELINE, None)
    return ticket


def _earlier_complaint(customer_id: int, root_id: int, at: dt.datetime) -> tuple[int, str] | None:
    """Same customer, same top category, within 30 days: the earlier complaint a new one repeats (id, number)."""
    return (
        Ticket.objects.filter(
            customer_id=customer_id,
            category_root_id=root_id,
            created_at__gte=at - REPEAT_WINDOW,
            created_at__lte=at,  # a work order registered with an earlier time (an import) repeats only older ones
            contact_type__in=(ContactType.COMPLAINT, ContactType.APPEAL),
        )
        .exclude(status=Status.REJECTED)
        .order_by("-created_at", "-id")
        .values_list("id", "number")
        .first()
    )


# --- the loop --------------------------------------------------------------------------------------


def do_dispatch_ticket(
    *,
    acting_user: Any,
    ticket: Ticket | int,
    to_unit: OrgUnit | None = None,
    to_user: Any = None,
    note: str = "",
    expected_version: int | None = None,
    now: dt.datetime | None = None,
    not_back: bool = False,
) -> Ticket:
    """Dispatch (派单) to a department; with no unit given, where the routing rules send it.

    `not_back` (the workbench's forms): a returned work order that the rules would send back to the unit that
    returned it is refused on `to_unit` (choose where it goes; naming that unit again is allowed)."""
    with refcache.pinned():
        return _dispatch(acting_user=acting_user, ticket=ticket, to_unit=to_unit, to_user=to_user, note=note,
                         expected_version=expected_version, now=now, not_back=not_back)


def _dispatch(
    *, acting_user: Any, ticket: Ticket | int, to_unit: OrgUnit | None, to_user: Any, note: str,
    expected_version: int | None, now: dt.datetime | None, created: Ticket | None = None, not_back: bool = False,
) -> Ticket:
    note = _optional_text("note", note)
    routed: dict[str, Any] = {}
    if to_unit is None:
        t = ticket if isinstance(ticket, Ticket) else Ticket.objects.select_related("category").get(pk=ticket)
        decision = route_ticket(
            region=t.region, category=t.category, contact_type=t.contact_type, tier=t.tier, channel=t.channel,
            branch_id=t.branch_id,
        )
        to_unit = decision.unit
        routed = {"routed_by_rule": decision.rule.pk if decision.rule else None}
        if not_back and to_unit is not None and t.status == Status.RETURNED and _returned_by(t) == to_unit.pk:
            # The same rules sent it there before: back again, it would only be returned again.
            raise ValidationFailed(field="to_unit", message=_(
                "The routing rules send it to %(unit)s, which returned it as not theirs: choose where it goes.")
                % {"unit": _unit_name(to_unit)})
    unit = _check_target_unit(to_unit)
    user = _check_target_user(to_user, unit)

    def change(t: Ticket) -> None:
        _check_target_region(t, unit)
        t.dispatcher_unit_id = acting_user.unit_id
        t.dispatch_count += 1
        _grant_unit_access(t, unit)

    return _transition(acting_user, ticket, Action.DISPATCH, expected_version=expected_version, now=now, note=note,
                       handler=(unit, user), change=change, data={"to_unit": unit.code, **routed}, created=created)


def _returned_by(t: Ticket) -> int | None:
    """The unit that returned the work order last (退单), by id."""
    return (TicketEvent.objects.filter(ticket_id=t.pk, kind=EventKind.RETURN).order_by("-seq")
            .values_list("from_unit_id", flat=True).first())


def _dispatched_by(t: Ticket, unit: OrgUnit) -> Any:
    """The user of `unit` whose dispatch (or dispatcher's transfer) sent the work order on last, if active and still
    in `unit`; else None."""
    actor_id = (TicketEvent.objects.filter(ticket_id=t.pk, kind__in=(EventKind.DISPATCH, EventKind.TRANSFER),
                                           actor_unit_id=unit.pk).order_by("-seq")
                .values_list("actor_id", flat=True).first())
    if actor_id is None:
        return None
    return User.objects.filter(pk=actor_id, is_active=True, unit_id=unit.pk).first()


def _back_to_first_responder(t: Ticket) -> tuple[OrgUnit, Any]:
    """Back to the first responder (a reply, a reopening). When the unit they registered it for has been deactivated
    since (nobody there any more), to the nearest active front-line unit above it (the branch of a closed hall, the
    customer service centre of a closed call room), whose front line stands in for it
    (`policy.is_first_responder_side`): its staff see, answer, call back and close it."""
    unit = t.first_responder_unit
    if unit.is_active:
        return unit, t.first_responder
    return _front_line_above(unit) or unit, None


def _front_line_above(unit: OrgUnit) -> OrgUnit | None:
    """The nearest active front-line unit above `unit`, within its city."""
    ancestors = {a.pk: a for a in OrgUnit.objects.filter(
        pk__in=unit.ancestor_ids(), is_active=True, function=UnitFunction.FRONT_LINE, region=unit.region,
        level__in=(UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM)).exclude(pk=unit.pk)}
    return max(ancestors.values(), key=lambda a: len(a.path), default=None)


def do_accept_ticket(
    *, acting_user: Any, ticket: Ticket | int, expected_version: int | None = None, now: dt.datetime | None = None
) -> Ticket:
    """Accept (接单): the department takes the ticket; the acting specialist becomes its handler."""
    return _transition(acting_user, ticket, Action.ACCEPT, expected_version=expected_version, now=now,
                       handler=lambda t: (t.handler_unit, acting_user))


def do_transfer_ticket(
    *,
    acting_user: Any,
    ticket: Ticket | int,
    to_unit: OrgUnit,
    to_user: Any = None,
    note: str,
    system_note: str = "",
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Transfer (转派) to another department, with the reason. `system_note` (a key of SYSTEM_NOTES): the standard
    note of that name when none is given (second-line support's bulk dispatch from its own queue), shown in the
    reader's language."""
    data: dict[str, Any] = {}
    if system_note and not (note or "").strip():
        with translation.override(settings.LANGUAGE_CODE):
            note = str(SYSTEM_NOTES[system_note])
        data["note"] = system_note
    note = _required_text("note", note)
    unit = _check_target_unit(to_unit)
    user = _check_target_user(to_user, unit)

    def change(t: Ticket) -> None:
        _check_target_region(t, unit)
        if t.handler_unit_id == unit.pk:
            raise ValidationFailed(field="to_unit", message=_("The work order is already with this unit."))
        if policy.is_region_dispatcher(acting_user, t) or policy.is_region_supervisor(acting_user, t):
            # A dispatcher's (or supervisor's) transfer routes it, as a dispatch does (second-line support sending on
            # what was passed to it): a return comes back to them. A department's own transfer leaves the dispatcher.
            t.dispatcher_unit_id = acting_user.unit_id
        t.dispatch_count += 1
        _grant_unit_access(t, unit)

    return _transition(acting_user, ticket, Action.TRANSFER, expected_version=expected_version, now=now, note=note,
                       handler=(unit, user), change=change, data={"to_unit": unit.code, **data})


def _lost_role_q(user: Any) -> Q:
    """The work orders `user` holds that their roles, as they are now, no longer let them handle: a department's
    (dispatched, in progress, waiting, suspended) without a handling role (specialist, department head, dispatcher);
    a returned one someone else registered without a dispatcher's or supervisor's role."""
    roles = set(user.groups.values_list("name", flat=True))  # as now: `role_codes` may be cached from before
    if user.is_superuser or Role.ADMINISTRATOR in roles:
        return Q(pk__in=[])
    q = Q(pk__in=[])
    if not roles & policy.HANDLER_ROLES:
        q |= Q(status__in=WITH_DEPARTMENT_STATUSES)
    if not roles & {Role.DISPATCHER, Role.SUPERVISOR}:
        q |= Q(status=Status.RETURNED) & ~Q(first_responder_id=user.pk)
    return q


def release_held_tickets(user: Any, *, now: dt.datetime | None = None) -> int:
    """Staff who left (deactivated), moved out of the unit where a work order they hold sits, or lost the role that
    let them handle it (`_lost_role_q`) no longer see or act on it (`policy.visible_tickets`, `policy.allowed_actions`):
    each such open work order goes back to its handling unit's queue, nobody's in hand, with a timeline entry (a
    system note that clears the handler: `timeline.replay`), for the unit's staff to pick it up. Returns how many."""
    at = _now(now)
    unit = OrgUnit.objects.filter(pk=user.unit_id).only("path").first() if user.unit_id else None
    keep = unit.ancestor_ids() if user.is_active and unit is not None else []
    gone = ~Q(handler_unit_id__in=keep)
    candidates = Ticket.objects.filter(Q(is_open=True, handler_user_id=user.pk) & (
        (gone | _lost_role_q(user)) if user.is_active else gone))
    pks = list(candidates.values_list("pk", flat=True))
    released = 0
    for pk in pks:
        with transaction.atomic(), refcache.pinned():
            t = _lock_ticket(pk, None)
            if not candidates.filter(pk=pk).exists():  # as it is now, under the lock
                continue
            if not user.is_active:
                reason = "handler_left"
            else:
                reason = "handler_moved" if t.handler_unit_id not in keep else "handler_role"
            with translation.override(settings.LANGUAGE_CODE):
                text = str(SYSTEM_NOTES[reason])
            t.handler_user = None
            _append_event(t, EventKind.NOTE, None, at, to_unit=t.handler_unit, to_user=None, note=text,
                          data={"note": reason, "released": user.pk})
            _save(t, at)
            _publish(t)
            record_audit(None, "ticket.release", t, data={"user": user.pk, "reason": reason}, at=at)
            released += 1
    return released


def system_notes(events: Iterable[TicketEvent]) -> None:
    """Rewrite the notes the system wrote (SYSTEM_NOTES) among `events` in the active language (the reader's)."""
    for event in events:
        key = (event.data or {}).get("note")
        if isinstance(key, str) and key in SYSTEM_NOTES:
            event.note = str(SYSTEM_NOTES[key])


def do_return_ticket(
    *, acting_user: Any, ticket: Ticket | int, reason: str, expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Return as misrouted (退单), with the reason: back to the unit that dispatched it (or a dispatcher's transfer
    sent it on), to the person who did (while active and still in that unit): they routed it, so it is theirs again,
    not every member's of a front-line room (its alerts went to all of them, and nobody had it in hand)."""
    reason = _required_text("reason", reason)

    data: dict[str, Any] = {}

    def back_to(t: Ticket) -> tuple[OrgUnit, Any]:
        unit = OrgUnit.objects.get(pk=t.dispatcher_unit_id or t.first_responder_unit_id)
        if not unit.is_active:
            # Deactivated since: nobody there any more. The city's second-line support routes it again.
            data["instead_of"] = unit.code
            unit = _second_line_of(t) or unit
        return unit, _dispatched_by(t, unit)

    def change(t: Ticket) -> None:
        t.return_count += 1

    return _transition(acting_user, ticket, Action.RETURN, expected_version=expected_version, now=now, note=reason,
                       handler=back_to, change=change, data=data)


def _second_line_of(t: Ticket) -> OrgUnit | None:
    """The active second-line support unit (综援室) of the work order's city, where a return goes when the unit that
    dispatched it has been deactivated: its dispatchers see and dispatch every work order of the city."""
    return (OrgUnit.objects.filter(is_active=True, function=UnitFunction.SECOND_LINE, region=t.region,
                                   level__in=(UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM))
            .order_by("path").first())


def do_request_info(
    *, acting_user: Any, ticket: Ticket | int, question: str, expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Ask for more information (补充信息). The SLA clocks stop until it is supplied."""
    question = _required_text("question", question)
    return _transition(acting_user, ticket, Action.REQUEST_INFO, expected_version=expected_version, now=now,
                       note=question)


def do_provide_info(
    *, acting_user: Any, ticket: Ticket | int, info: str, expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """The information asked for: the clocks run again, and a committed time that has passed meanwhile is renewed
    (`_renew_passed_commitment`)."""
    info = _required_text("info", info, MAX_DESCRIPTION)
    return _transition_renewing(acting_user, ticket, Action.PROVIDE_INFO, expected_version=expected_version, now=now,
                                note=info)


def do_request_hold(
    *, acting_user: Any, ticket: Ticket | int, reason: str, expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Ask to suspend (挂起), e.g. waiting for a base station to be built. A department head approves."""
    reason = _required_text("reason", reason)
    return _transition(acting_user, ticket, Action.REQUEST_HOLD, expected_version=expected_version, now=now,
                       note=reason)


def do_approve_hold(
    *, acting_user: Any, ticket: Ticket | int, note: str = "", expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """The department head approves the suspension: the clocks stop."""
    return _transition(acting_user, ticket, Action.APPROVE_HOLD, expected_version=expected_version, now=now,
                       note=_optional_text("note", note))


def do_deny_hold(
    *, acting_user: Any, ticket: Ticket | int, reason: str, expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    reason = _required_text("reason", reason)
    return _transition(acting_user, ticket, Action.DENY_HOLD, expected_version=expected_version, now=now, note=reason)


def do_resume_ticket(
    *, acting_user: Any, ticket: Ticket | int, note: str = "", expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """End a suspension: the clocks run again, and a committed time that has passed meanwhile is renewed
    (`_renew_passed_commitment`)."""
    return _transition_renewing(acting_user, ticket, Action.RESUME, expected_version=expected_version, now=now,
                                note=_optional_text("note", note))


def do_reply_ticket(
    *, acting_user: Any, ticket: Ticket | int, resolution: str, expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Reply with the resolution (回单): the ticket goes back to its first responder."""
    resolution = _required_text("resolution", resolution, MAX_DESCRIPTION)

    def change(t: Ticket) -> None:
        t.resolution = resolution

    return _transition(acting_user, ticket, Action.REPLY, expected_version=expected_version, now=now,
                       note=resolution, handler=_back_to_first_responder, change=change)


def do_answer_customer(
    *, acting_user: Any, ticket: Ticket | int, answer: str, resolution: str = "",
    expected_version: int | None = None, now: dt.datetime | None = None,
) -> Ticket:
    """Answer the customer (答复客户). From a new ticket this is first-contact resolution and needs the resolution."""
    answer = _required_text("answer", answer, MAX_DESCRIPTION)
    resolution = _optional_text("resolution", resolution, MAX_DESCRIPTION)

    def change(t: Ticket) -> None:
        if resolution:
            t.resolution = resolution
        if not t.resolution:
            raise ValidationFailed(field="resolution", message=_("Record how the problem was solved."))
        t.answer = answer

    return _transition(acting_user, ticket, Action.ANSWER, expected_version=expected_version, now=now, note=answer,
                       visibility=Visibility.CUSTOMER, change=change)


def do_callback(
    *, acting_user: Any, ticket: Ticket | int, verdict: str, note: str = "", expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Call back (回访) and record the customer's verdict."""
    if verdict not in CallbackVerdict.values:
        raise ValidationFailed(field="verdict", message=_("Choose the customer's verdict."))
    note = _optional_text("note", note)

    def change(t: Ticket) -> None:
        t.callback_verdict = verdict

    return _transition(acting_user, ticket, Action.CALLBACK, expected_version=expected_version, now=now, note=note,
                       change=change, data={"verdict": verdict})


def do_close_ticket(
    *, acting_user: Any, ticket: Ticket | int, note: str = "", expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Close (归档). Refused when the callback found the customer dissatisfied: reopen instead."""

    def change(t: Ticket) -> None:
        if t.callback_verdict == CallbackVerdict.DISSATISFIED:
            raise ValidationFailed(
                field="callback_verdict",
                message=_("The customer was not satisfied at the callback: reopen the work order instead."),
            )

    return _transition(acting_user, ticket, Action.CLOSE, expected_version=expected_version, now=now,
                       note=_optional_text("note", note), change=change)


def do_reopen_ticket(
    *, acting_user: Any, ticket: Ticket | int, reason: str, expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Reopen (重开): back to the first responder; a new handling cycle starts. A committed time that has passed
    is renewed (`_renew_passed_commitment`)."""
    reason = _required_text("reason", reason)

    def change(t: Ticket) -> None:
        t.reopen_count += 1
        t.resolution = ""
        t.answer = ""
        t.callback_verdict = ""
        t.closed_at = None

    return _transition_renewing(acting_user, ticket, Action.REOPEN, expected_version=expected_version, now=now,
                                note=reason, handler=_back_to_first_responder, change=change)


def do_withdraw_ticket(
    *, acting_user: Any, ticket: Ticket | int, reason: str, expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Withdraw (撤销): the customer no longer needs it."""
    reason = _required_text("reason", reason)
    return _transition(acting_user, ticket, Action.WITHDRAW, expected_version=expected_version, now=now, note=reason)


def do_reject_ticket(
    *,
    acting_user: Any,
    ticket: Ticket | int,
    reason: str,
    note: str = "",
    duplicate_of: Ticket | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Reject (驳回) as invalid, or as a duplicate of another work order."""
    if reason not in RejectReason.values:
        raise ValidationFailed(field="reason", message=_("Choose why the work order is rejected."))
    if reason == RejectReason.DUPLICATE and duplicate_of is None:
        raise ValidationFailed(field="duplicate_of", message=_("Name the work order this one duplicates."))
    if reason != RejectReason.DUPLICATE and duplicate_of is not None:
        raise ValidationFailed(field="duplicate_of", message=_(
            "Name an original only when rejecting as a duplicate; otherwise leave it empty."))
    note = _optional_text("note", note)

    def change(t: Ticket) -> None:
        t.reject_reason = reason
        if duplicate_of is not None:
            if duplicate_of.pk == t.pk:
                raise ValidationFailed(field="duplicate_of", message=_("A work order cannot duplicate itself."))
            # As it is now (not as the caller read it): an original nobody handles any more would leave the
            # customer's contact with nobody (two work orders rejected as each other's duplicate).
            if Ticket.objects.filter(pk=duplicate_of.pk, status__in=(Status.REJECTED, Status.WITHDRAWN)).exists():
                raise ValidationFailed(field="duplicate_of", message=_(
                    "Work order %(number)s was rejected or withdrawn: name an original that is handled, or reject "
                    "this one as invalid.") % {"number": duplicate_of.number})
            t.duplicate_of = duplicate_of
            at = _now(now)
            _link, linked = TicketLink.objects.get_or_create(
                from_ticket=t, to_ticket=duplicate_of, kind=LinkKind.DUPLICATE,
                defaults={"created_at": at, "created_by": acting_user},
            )
            if linked:
                _record_link_on_other_side(duplicate_of.pk, LinkKind.DUPLICATE, t.number, acting_user, at)

    data = {"reason": reason, "duplicate_of": duplicate_of.number if duplicate_of else None}
    return _transition(acting_user, ticket, Action.REJECT, expected_version=expected_version, now=now, note=note,
                       change=change, data=data)


# --- things that do not move the ticket ------------------------------------------------------------


def _check_can_write(acting_user: Any, t: Ticket) -> None:
    if not policy.can_see(acting_user, t) or policy.is_read_only(acting_user):
        raise PermissionDeniedError(_("You may not change this work order."))


def _touch(t: Ticket, at: dt.datetime) -> None:
    """After an event that does not move the ticket (note, attachment, link): its event count and last update
    (what `updated_at` / TMF `lastUpdate` and "changed since" filters read), the version unchanged."""
    t.updated_at = at
    Ticket.objects.filter(pk=t.pk).update(last_event_seq=t.last_event_seq, updated_at=at)


def do_add_note(
    *, acting_user: Any, ticket: Ticket | int, text: str, visibility: str = Visibility.INTERNAL,
    now: dt.datetime | None = None,
) -> TicketEvent:
    """A note on the timeline: internal, or one the customer may see. Does not change the version."""
    text = _required_text("text", text, MAX_DESCRIPTION)
    if visibility not in Visibility.values:
        raise ValidationFailed(field="visibility", message=_("Choose who may see the note."))
    at = _now(now)
    with transaction.atomic(), refcache.pinned():
        t = _lock_ticket(_pk(ticket), None)  # no version check: this changes no state of the ticket
        _check_can_write(acting_user, t)
        event = _append_event(t, EventKind.NOTE, acting_user, at, note=text, visibility=visibility)
        _touch(t, at)
        _publish(t)
        record_audit(acting_user, "ticket.note", t, data={"visibility": visibility}, at=at)
    return event


def _committed_time_error(committed_at: dt.datetime, at: dt.datetime) -> str:
    """What is wrong with promising the customer `committed_at` at `at` ("" when nothing): it must be in the
    future and within a year (MAX_COMMITTED_AHEAD). The customer's SMS names the day without its year (`11月5日18:00`),
    and a time years ahead is a mistyped year (2207 for 2027, 9999), not a promise."""
    if committed_at <= at:
        return str(_("The committed resolution time must be in the future."))
    if committed_at > at + MAX_COMMITTED_AHEAD:
        return str(_("The committed resolution time must be within a year (by %(latest)s).")
                   % {"latest": (at + MAX_COMMITTED_AHEAD).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")})
    return ""


# Answered (答复客户), waiting for the callback or closing: the committed time is kept as it was (until a reopening).
ANSWERED_STATUSES = frozenset({Status.ANSWERED, Status.CALLED_BACK})


def _check_may_commit(acting_user: Any, t: Ticket) -> None:
    if not (policy.is_first_responder_side(acting_user, t) or policy.is_region_supervisor(acting_user, t)
            or policy.is_admin(acting_user)):
        raise PermissionDeniedError(_("Only the first responder or a supervisor may change the committed time."))


def do_set_committed_time(
    *, acting_user: Any, ticket: Ticket | int, committed_at: dt.datetime, reason: str,
    expected_version: int | None = None, now: dt.datetime | None = None,
) -> Ticket:
    """Change the resolution time promised to the customer (the customer is told: a visible event)."""
    reason = _required_text("reason", reason)
    at = _now(now)
    committed_error = _committed_time_error(committed_at, at)
    if committed_error:
        raise ValidationFailed(field="committed_at", message=committed_error)
    with transaction.atomic(), refcache.pinned():
        t = _lock_ticket(ticket, expected_version, lambda locked: _check_may_commit(acting_user, locked))
        if not t.is_open:
            raise ValidationFailed(field="committed_at", message=_("The work order is no longer open."))
        if t.status in ANSWERED_STATUSES:  # the customer has the result: no "time changed" SMS after it
            raise ValidationFailed(field="committed_at", message=_(
                "The customer has been answered: the committed time can no longer change (reopen the work order "
                "to go on with it)."))
        previous = t.committed_at
        t.committed_at = committed_at
        _append_event(t, EventKind.COMMIT_TIME, acting_user, at, note=reason, visibility=Visibility.CUSTOMER,
                      data={"from": previous.isoformat(), "to": committed_at.isoformat()})
        _save(t, at)
        _publish(t)
        record_audit(acting_user, "ticket.commit_time", t, data={"to": committed_at.isoformat()}, at=at)
    return t


def _check_parent_link(parent: Ticket, child: Ticket) -> None:
    """A work order has at most one parent, and no work order is its own ancestor."""
    current = Ticket.objects.filter(pk=child.pk).values_list("parent_id", flat=True).first()
    if current is not None and current != parent.pk:
        raise ValidationFailed(field="other", message=_("Work order %(number)s already has a parent work order.")
                               % {"number": child.number})
    ancestor: int | None = parent.pk
    for _depth in range(100):
        if ancestor is None:
            return
        if ancestor == child.pk:
            raise ValidationFailed(field="other", message=_(
                "Work order %(child)s is already above %(parent)s (its parent or further up): it cannot also be "
                "its child.") % {"child": child.number, "parent": parent.number})
        ancestor = Ticket.objects.filter(pk=ancestor).values_list("parent_id", flat=True).first()


def do_link_tickets(
    *, acting_user: Any, ticket: Ticket, other: Ticket, kind: str, now: dt.datetime | None = None
) -> TicketLink:
    """Link two work orders: `ticket` is parent of / duplicate of / related to `other`."""
    if kind not in (LinkKind.PARENT, LinkKind.DUPLICATE, LinkKind.RELATED):
        raise ValidationFailed(field="kind", message=_("Choose a valid kind of link."))
    if ticket.pk == other.pk:
        raise ValidationFailed(field="other", message=_("A work order cannot be linked to itself."))
    at = _now(now)
    with transaction.atomic(), refcache.pinned():
        # Both rows locked (both get a timeline entry), in id order: no deadlock with a link made the other way.
        locked = {pk: _lock_ticket(pk, None) for pk in sorted({_pk(ticket), other.pk})}  # no version check
        t, o = locked[_pk(ticket)], locked[other.pk]
        _check_can_write(acting_user, t)
        if not policy.can_see(acting_user, o):
            raise NotFoundError(_("Work order not found."))
        if kind == LinkKind.PARENT:
            _check_parent_link(t, o)
        link, created = TicketLink.objects.get_or_create(
            from_ticket=t, to_ticket=o, kind=kind, defaults={"created_at": at, "created_by": acting_user}
        )
        if created:
            if kind == LinkKind.PARENT:
                Ticket.objects.filter(pk=o.pk).update(parent=t)
                o.parent_id = t.pk
            _append_event(t, EventKind.LINK, acting_user, at, data={"kind": kind, "other": o.number})
            _touch(t, at)
            _publish(t)
            _record_link_on_other_side(o, kind, t.number, acting_user, at)
            record_audit(acting_user, "ticket.link", t, data={"kind": kind, "other": o.number}, at=at)
    return link


def _record_link_on_other_side(other: Ticket | int, kind: str, number: str, acting_user: Any,
                               at: dt.datetime) -> None:
    """The other end of a new link gets its timeline entry too (`inverse`: it is the child / the original / the
    related one): its relationships changed as well (TMF troubleTicketRelationship: its listeners hear a
    TroubleTicketAttributeValueChangeEvent), and its handlers see who linked it and to what."""
    o = other if isinstance(other, Ticket) else _lock_ticket(other, None)
    _append_event(o, EventKind.LINK, acting_user, at, data={"kind": kind, "other": number, "inverse": True})
    _touch(o, at)
    _publish(o)


def validate_upload(upload: UploadedFile) -> None:
    """Size and type limits of an attachment (settings); sets `upload.content_type` to the detected type."""
    max_bytes = settings.LOOPDESK_ATTACHMENT_MAX_BYTES
    if upload.size is None or upload.size > max_bytes:
        raise ValidationFailed(
            field="file",
            message=_("The file is larger than %(limit)d MB.") % {"limit": max_bytes // (1024 * 1024)},
        )
    if upload.size == 0:
        raise ValidationFailed(field="file", message=_("The file is empty."))
    # The type is what the name and the first bytes say, not what the client declares (filetypes.detect).
    if upload.file is None:
        raise ValidationFailed(field="file", message=_("The file is empty."))
    upload.content_type = filetypes.detect(upload.name or "", upload.content_type or "", upload.file)


def do_add_attachment(
    *, acting_user: Any, ticket: Ticket | int, upload: UploadedFile, visibility: str = Visibility.INTERNAL,
    now: dt.datetime | None = None,
) -> Attachment:
    """Attach a file (size and type limited by settings)."""
    validate_upload(upload)
    if visibility not in Visibility.values:
        raise ValidationFailed(field="visibility", message=_("Choose who may see the file."))
    at = _now(now)
    with transaction.atomic(), refcache.pinned():
        t = _lock_ticket(_pk(ticket), None)  # no version check: this changes no state of the ticket
        _check_can_write(acting_user, t)
        name = (upload.name or "file")[-200:]
        attachment = Attachment.objects.create(
            ticket=t, file=upload, filename=name, size=upload.size or 0, content_type=upload.content_type or "",
            visibility=visibility, uploaded_by=acting_user, created_at=at,
        )
        _append_event(t, EventKind.ATTACHMENT, acting_user, at, visibility=visibility,
                      data={"attachment": attachment.pk, "filename": name, "size": attachment.size})
        _touch(t, at)
        _publish(t)
        record_audit(acting_user, "ticket.attachment", t, data={"filename": name}, at=at)
    return attachment


def do_recompute_sla(*, ticket: Ticket | int, acting_user: Any = None, now: dt.datetime | None = None) -> Ticket:
    """Recompute the SLA columns from the timeline (after a calendar or policy edit)."""
    at = _now(now)
    with transaction.atomic(), refcache.pinned():
        t = _lock_ticket(_pk(ticket), None)  # no version check: this changes no state of the ticket
        before = {k: getattr(t, k) for k in ("due_at", "hop_due_at", "overtime_at", "problem_at", "resolution_due_at")}
        columns, seq = {k: getattr(t, k) for k in SLA_COLUMNS}, t.last_event_seq
        marked = _refresh_sla(t, at)
        after = {k: getattr(t, k) for k in before}
        if before != after:
            _append_event(t, EventKind.SLA_RECOMPUTED, acting_user, at,
                          data={k: v.isoformat() if v else None for k, v in after.items()})
        # Saved whenever anything moved, also only a flag: a crossing the sweep had not marked yet writes its
        # overtime / problem event above, and the ticket must carry that event's number and the flag with it.
        crossed = any(marked)
        if t.last_event_seq != seq or columns != {k: getattr(t, k) for k in SLA_COLUMNS}:
            _save(t, at, bump=crossed)  # as the sweep's crossing: an edit based on the flags before is stale
            _publish(t)
    return t


ACTION_SERVICES: dict[str, Callable[..., Ticket]] = {
    Action.DISPATCH: do_dispatch_ticket,
    Action.ACCEPT: do_accept_ticket,
    Action.TRANSFER: do_transfer_ticket,
    Action.RETURN: do_return_ticket,
    Action.REQUEST_INFO: do_request_info,
    Action.PROVIDE_INFO: do_provide_info,
    Action.REQUEST_HOLD: do_request_hold,
    Action.APPROVE_HOLD: do_approve_hold,
    Action.DENY_HOLD: do_deny_hold,
    Action.RESUME: do_resume_ticket,
    Action.REPLY: do_reply_ticket,
    Action.ANSWER: do_answer_customer,
    Action.CALLBACK: do_callback,
    Action.CLOSE: do_close_ticket,
    Action.REOPEN: do_reopen_ticket,
    Action.WITHDRAW: do_withdraw_ticket,
    Action.REJECT: do_reject_ticket,
}
