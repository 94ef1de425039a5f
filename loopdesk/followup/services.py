"""Follow-up services: SLA watches and sweeps, staff alerts, escalation to supervisors, callbacks (回访).

Ticket changes go through the same private helpers as `loopdesk.tickets.services` (lock, timeline event,
SLA refresh, save, publish to listeners), so the timeline, the outbox and the version guard stay consistent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.services import record_audit
from loopdesk.core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from loopdesk.followup.models import (
    AlertKind,
    CallbackStatus,
    CallbackTask,
    DissatisfiedAction,
    Escalation,
    EscalationReason,
    FollowupPolicy,
    SlaWatch,
    StaffAlert,
    WatchKind,
)
from loopdesk.org.choices import Role, UnitLevel
from loopdesk.org.models import User
from loopdesk.tickets import services as ticket_services
from loopdesk.tickets.choices import WITH_DEPARTMENT_STATUSES, CallbackVerdict, ContactType, EventKind
from loopdesk.tickets.models import Ticket, TicketEvent
from loopdesk.tickets.services import _append_event, _lock_ticket, _publish, _refresh_sla, _save

log = logging.getLogger(__name__)

SWEEP_BATCH = 500


# --- who hears about a ticket ----------------------------------------------------------------------


def handlers_of(ticket: Ticket) -> list[User]:
    """The handler, or while nobody took it, the handling unit's active staff."""
    if ticket.handler_user_id:
        return list(User.objects.filter(pk=ticket.handler_user_id, is_active=True))
    return list(User.objects.filter(unit_id=ticket.handler_unit_id, is_active=True))


def heads_over(ticket: Ticket) -> list[User]:
    """Department heads whose unit contains the handling unit."""
    path = ticket.handler_unit.path
    heads = User.objects.filter(groups__name=Role.DEPARTMENT_HEAD, is_active=True).select_related("unit")
    return [u for u in heads if u.unit is not None and path.startswith(u.unit.path)]


def supervisors_for(ticket: Ticket) -> list[User]:
    """Service supervisors of the ticket's region (province and HQ supervisors when the region has none)."""
    staff = list(User.objects.filter(groups__name=Role.SUPERVISOR, is_active=True).select_related("unit"))
    regional = [u for u in staff if u.unit is not None and u.unit.region == ticket.region
                and u.unit.level not in (UnitLevel.HQ, UnitLevel.PROVINCE)]
    if regional:
        return regional
    return [u for u in staff if u.unit is not None and (
        u.unit.level == UnitLevel.HQ or (u.unit.level == UnitLevel.PROVINCE and u.unit.province == ticket.province))]


def alert(users: Iterable[User], *, ticket: Ticket | None, kind: str, occasion: str, message: str,
          at: dt.datetime) -> int:
    """One alert per user and occasion: a repeated sweep adds nothing. Returns how many were new."""
    created = 0
    for user in {u.pk: u for u in users}.values():
        try:
            with transaction.atomic():
                StaffAlert.objects.create(user=user, ticket=ticket, kind=kind, occasion=occasion[:100],
                                          message=str(message)[:300], created_at=at)
            created += 1
        except IntegrityError:
            continue
    return created


# --- SLA watches -----------------------------------------------------------------------------------


def sync_watches(ticket: Ticket, event: Any = None) -> None:
    """Ticket-event listener: keep the moments the sweep must act on in step with the ticket's clocks."""
    SlaWatch.objects.filter(ticket_id=ticket.pk).delete()
    policy = ticket.sla_policy
    if not ticket.is_open or ticket.sla_paused or policy is None:
        return
    at = getattr(event, "created_at", None) or timezone.now()
    watches = []
    if ticket.due_at and ticket.due_at > at:  # nothing to warn about once it is due
        warn_before = dt.timedelta(minutes=policy.warn_before_minutes)
        watches.append(SlaWatch(ticket_id=ticket.pk, kind=WatchKind.WARN, fire_at=ticket.due_at - warn_before,
                                due_at=ticket.due_at))
    if ticket.status in WITH_DEPARTMENT_STATUSES:
        if ticket.overtime_at and not ticket.is_overtime:
            watches.append(SlaWatch(ticket_id=ticket.pk, kind=WatchKind.OVERTIME, fire_at=ticket.overtime_at))
        if ticket.problem_at and not ticket.is_problem:
            watches.append(SlaWatch(ticket_id=ticket.pk, kind=WatchKind.PROBLEM, fire_at=ticket.problem_at))
    if watches:
        SlaWatch.objects.bulk_create(watches)


@dataclass
class SweepReport:
    warned: int = 0
    marked: int = 0
    escalated: int = 0
    remaining: bool = False


def _escalation_reason(ticket: Ticket, became_overtime: bool, became_problem: bool) -> str | None:
    if became_problem:
        return EscalationReason.PROBLEM
    if became_overtime and ticket.contact_type == ContactType.APPEAL and \
            FollowupPolicy.current().appeal_escalate_when_overtime:
        return EscalationReason.APPEAL_OVERTIME
    return None


def _escalate_locked(t: Ticket, reason: str, at: dt.datetime, *, occasion: str, note: str = "") -> Escalation | None:
    """Hand a locked ticket to the supervisors: an escalation row, a timeline entry and alerts. Idempotent."""
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(ticket=t, reason=reason, occasion=occasion[:100], note=note[:300],
                                                   created_at=at)
    except IntegrityError:
        return None
    label = EscalationReason(reason).label
    _append_event(t, EventKind.NOTE, None, at, note=str(_("Escalated to the service supervisors: %(reason)s")
                                                          % {"reason": label}),
                  data={"escalation": reason, "escalation_id": escalation.pk})
    alert(supervisors_for(t), ticket=t, kind=AlertKind.ESCALATED, occasion=f"esc:{escalation.pk}",
          message=_("%(number)s escalated: %(reason)s") % {"number": t.number, "reason": label}, at=at)
    return escalation


def do_mark_sla_crossings(*, ticket: Ticket | int, now: dt.datetime | None = None) -> Ticket:
    """Mark a ticket overtime / problem the moment it crosses (a timeline event each) and escalate per policy."""
    return _mark_sla_crossings(ticket, now)[0]


def _mark_sla_crossings(ticket: Ticket | int, now: dt.datetime | None) -> tuple[Ticket, bool]:
    """The work of `do_mark_sla_crossings`; also says whether the ticket was escalated."""
    at = now or timezone.now()
    escalated = False
    with transaction.atomic():
        t = _lock_ticket(ticket, None)
        if not t.is_open:
            return t, False
        was_overtime, was_problem = t.is_overtime, t.is_problem
        _refresh_sla(t, at)
        became_overtime = t.is_overtime and not was_overtime
        became_problem = t.is_problem and not was_problem
        if not (became_overtime or became_problem):
            return t, False
        reason = _escalation_reason(t, became_overtime, became_problem)
        if reason:
            escalated = _escalate_locked(
                t, reason, at, occasion=f"sla:{t.pk}:{reason}:{t.cycle_started_at:%Y%m%d%H%M%S}") is not None
        _save(t, at, bump=False)
        _publish(t)
        record_audit(None, "ticket.sla_crossed", t, data={"overtime": t.is_overtime, "problem": t.is_problem}, at=at)
        kind = AlertKind.PROBLEM if became_problem else AlertKind.OVERTIME
        message = (_("%(number)s is now a problem ticket (over 72 h).") if became_problem
                   else _("%(number)s is now overtime (over 48 h).")) % {"number": t.number}
        alert(handlers_of(t) + heads_over(t), ticket=t, kind=kind, occasion=f"{kind}:{t.pk}:{t.cycle_started_at}",
              message=message, at=at)
    return t, escalated


def _warn(watch: SlaWatch, now: dt.datetime) -> bool:
    ticket = (Ticket.objects.select_related("handler_unit").only(
        "id", "number", "is_open", "due_at", "sla_paused", "handler_user_id", "handler_unit__path",
        "handler_unit__id").filter(pk=watch.ticket_id).first())
    if ticket is None or not ticket.is_open or ticket.sla_paused or ticket.due_at != watch.due_at \
            or ticket.due_at <= now:
        return False
    local_due = timezone.localtime(ticket.due_at)
    message = _("%(number)s is due at %(due)s.") % {"number": ticket.number, "due": f"{local_due:%m-%d %H:%M}"}
    return alert(handlers_of(ticket) + heads_over(ticket), ticket=ticket, kind=AlertKind.DUE_SOON,
                 occasion=f"warn:{ticket.pk}:{ticket.due_at.isoformat()}", message=message, at=now) > 0


def sweep_sla(*, now: dt.datetime | None = None, batch: int = SWEEP_BATCH) -> SweepReport:
    """Act on the SLA watches that have come due (oldest first, at most `batch`). Idempotent."""
    now = now or timezone.now()
    report = SweepReport()
    due = list(SlaWatch.objects.filter(fire_at__lte=now).order_by("fire_at", "id")[: batch + 1])
    report.remaining = len(due) > batch
    for watch in due[:batch]:
        try:
            if watch.kind == WatchKind.WARN:
                report.warned += _warn(watch, now)
            else:
                _ticket, escalated = _mark_sla_crossings(watch.ticket_id, now)
                report.marked += 1
                report.escalated += escalated
        except NotFoundError:
            pass
        except Exception:  # one broken ticket must not stop the sweep; it is logged and retried next run
            log.exception("SLA sweep failed on ticket %s", watch.ticket_id)
            continue
        SlaWatch.objects.filter(pk=watch.pk, fire_at__lte=now).delete()
    return report


# --- escalation of other kinds ---------------------------------------------------------------------


def do_escalate_ticket(*, ticket: Ticket | int, reason: str, occasion: str, note: str = "",
                       now: dt.datetime | None = None) -> Escalation | None:
    """Escalate a ticket to the service supervisors (low rating, dissatisfied customer). Idempotent by occasion."""
    if reason not in EscalationReason.values:
        raise ValidationFailed(field="reason", message=_("Choose a valid escalation reason."))
    at = now or timezone.now()
    with transaction.atomic():
        t = _lock_ticket(ticket, None)
        escalation = _escalate_locked(t, reason, at, occasion=occasion, note=note)
        if escalation is not None:
            Ticket.objects.filter(pk=t.pk).update(last_event_seq=t.last_event_seq)
            _publish(t)
            record_audit(None, "ticket.escalate", t, data={"reason": reason}, at=at)
    return escalation


def do_resolve_escalation(*, acting_user: Any, escalation: Escalation, note: str,
                          now: dt.datetime | None = None) -> Escalation:
    """A supervisor closes the follow-up of an escalation with what was done."""
    if not (acting_user.has_role(Role.SUPERVISOR) or acting_user.has_role(Role.ADMINISTRATOR)):
        raise PermissionDeniedError(_("Only service supervisors resolve escalations."))
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(field="note", message=_("Say what was done."))
    at = now or timezone.now()
    with transaction.atomic():
        locked = Escalation.objects.select_for_update().get(pk=escalation.pk)
        if locked.resolved_at is not None:
            raise ValidationFailed(field="note", message=_("This escalation was already resolved."))
        locked.resolved_at, locked.resolved_by, locked.resolution_note = at, acting_user, note[:2000]
        locked.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
        record_audit(acting_user, "escalation.resolve", locked, data={"ticket": locked.ticket_id}, at=at)
    return locked


# --- callbacks (回访) -------------------------------------------------------------------------------


def on_ticket_event_callbacks(ticket: Ticket, event: TicketEvent) -> None:
    """Listener: a reply creates the first responder's callback task; a callback or end of cycle finishes it."""
    kind = event.kind
    if kind == EventKind.REPLY:
        hours = FollowupPolicy.current().callback_due_hours
        task, created = CallbackTask.objects.get_or_create(
            ticket=ticket, cycle=ticket.reopen_count,
            defaults={"assignee_id": ticket.first_responder_id, "due_at": event.created_at + dt.timedelta(hours=hours),
                      "created_at": event.created_at},
        )
        if created:
            alert([ticket.first_responder], ticket=ticket, kind=AlertKind.CALLBACK_DUE, occasion=f"cb:{task.pk}",
                  message=_("Call back the customer of %(number)s by %(due)s.") % {
                      "number": ticket.number, "due": f"{timezone.localtime(task.due_at):%m-%d %H:%M}"},
                  at=event.created_at)
    elif kind == EventKind.CALLBACK:
        CallbackTask.objects.filter(ticket=ticket, status=CallbackStatus.OPEN).update(
            status=CallbackStatus.DONE, verdict=(event.data or {}).get("verdict", ""), note=event.note[:2000],
            done_at=event.created_at)
    elif kind in (EventKind.REOPEN, EventKind.WITHDRAW, EventKind.REJECT, EventKind.CLOSE):
        CallbackTask.objects.filter(ticket=ticket, status=CallbackStatus.OPEN).update(
            status=CallbackStatus.CANCELLED, done_at=event.created_at)


def do_record_callback(*, acting_user: Any, task: CallbackTask | int, verdict: str, note: str = "",
                       now: dt.datetime | None = None) -> Ticket:
    """Record the callback's outcome through `do_callback`; a dissatisfied customer reopens or escalates per policy."""
    task_obj = task if isinstance(task, CallbackTask) else CallbackTask.objects.filter(pk=task).first()
    if task_obj is None:
        raise NotFoundError(_("Callback task not found."))
    if task_obj.status != CallbackStatus.OPEN:
        raise ValidationFailed(field="task", message=_("This callback was already recorded or cancelled."))
    at = now or timezone.now()
    with transaction.atomic():
        ticket = ticket_services.do_callback(acting_user=acting_user, ticket=task_obj.ticket_id, verdict=verdict,
                                             note=note, now=at)
        if verdict == CallbackVerdict.DISSATISFIED:
            action = FollowupPolicy.current().dissatisfied_action
            reason_text = note.strip() or str(_("The customer was not satisfied at the callback."))
            if action == DissatisfiedAction.REOPEN:
                ticket = ticket_services.do_reopen_ticket(acting_user=acting_user, ticket=ticket,
                                                          reason=reason_text, now=at)
            else:
                do_escalate_ticket(ticket=ticket, reason=EscalationReason.DISSATISFIED,
                                   occasion=f"cb:{task_obj.pk}", note=reason_text, now=at)
                ticket.refresh_from_db()
    return ticket


def sweep_callbacks(*, now: dt.datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Alert the first responder (and supervisors) once about every overdue callback."""
    now = now or timezone.now()
    overdue = list(CallbackTask.objects.filter(status=CallbackStatus.OPEN, overdue_alerted=False, due_at__lte=now)
                   .select_related("ticket", "assignee").order_by("due_at")[:batch])
    for task in overdue:
        alert([task.assignee, *supervisors_for(task.ticket)], ticket=task.ticket, kind=AlertKind.CALLBACK_OVERDUE,
              occasion=f"cbo:{task.pk}", message=_("The callback of %(number)s is overdue.") % {
                  "number": task.ticket.number}, at=now)
    CallbackTask.objects.filter(pk__in=[t.pk for t in overdue]).update(overdue_alerted=True)
    return len(overdue)


def open_escalations() -> Any:
    return Escalation.objects.filter(Q(resolved_at=None)).select_related("ticket").order_by("created_at")
