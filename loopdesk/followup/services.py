"""Follow-up services: SLA watches and sweeps, staff alerts, escalation to supervisors, callbacks (回访).

Ticket changes go through the same private helpers as `loopdesk.tickets.services` (lock, timeline event,
SLA refresh, save, publish to listeners), so the timeline, the outbox and the version guard stay consistent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.models import AuditLog
from loopdesk.audit.services import audit_entry, record_audit
from loopdesk.core.db import insert_unless_exists
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
from loopdesk.org.choices import FRONT_LINE_ROLES, Role, UnitLevel
from loopdesk.org.models import OrgUnit, User
from loopdesk.sla import refcache
from loopdesk.tickets import events as ticket_events
from loopdesk.tickets import policy as ticket_policy
from loopdesk.tickets import services as ticket_services
from loopdesk.tickets.choices import WITH_DEPARTMENT_STATUSES, CallbackVerdict, ContactType, EventKind, Status
from loopdesk.tickets.models import Ticket, TicketEvent
from loopdesk.tickets.services import _append_event, _lock_ticket, _publish, _refresh_sla, _save

log = logging.getLogger(__name__)

SWEEP_BATCH = 500
# Crossings marked per transaction by the batched path: the tickets of one chunk stay locked until it commits.
SWEEP_CHUNK = 100


# --- who hears about a ticket ----------------------------------------------------------------------


def _still_handles(user: User | None, ticket: Ticket) -> bool:
    """Whether the named handler is still on it: active, and in the handling unit (or a room below it)."""
    return bool(user is not None and user.is_active and user.unit is not None
                and user.unit.path.startswith(ticket.handler_unit.path))


def handlers_of(ticket: Ticket) -> list[User]:
    """The handler, or while nobody took it, or when the one named left or moved to another unit, the handling unit's
    active staff (else its alerts reached nobody, or someone no longer on it)."""
    if ticket.handler_user_id:
        named = User.objects.filter(pk=ticket.handler_user_id).select_related("unit").first()
        if _still_handles(named, ticket):
            return [named]  # type: ignore[list-item]
    return list(User.objects.filter(unit_id=ticket.handler_unit_id, is_active=True))


def heads_over(ticket: Ticket) -> list[User]:
    """Department heads whose unit contains the handling unit."""
    path = ticket.handler_unit.path
    heads = User.objects.filter(groups__name=Role.DEPARTMENT_HEAD, is_active=True).select_related("unit")
    return [u for u in heads if u.unit is not None and path.startswith(u.unit.path)]


def supervisors_for(ticket: Ticket) -> list[User]:
    """Service supervisors of the ticket's region (province and HQ supervisors when the region has none)."""
    return supervisors_of(ticket.region, ticket.province)


def supervisors_of(region: str, province: str) -> list[User]:
    """Service supervisors of a region (a city), or its province's and HQ's when the region has none."""
    staff = list(User.objects.filter(groups__name=Role.SUPERVISOR, is_active=True).select_related("unit"))
    regional = [u for u in staff if u.unit is not None and u.unit.region == region
                and u.unit.level not in (UnitLevel.HQ, UnitLevel.PROVINCE)]
    if regional:
        return regional
    return [u for u in staff if u.unit is not None and (
        u.unit.level == UnitLevel.HQ or (u.unit.level == UnitLevel.PROVINCE and u.unit.province == province))]


def alert_language(user: Any) -> str:
    """The language an alert to `user` is written in: the one they chose (the top bar's switcher), else the site's
    (an empty choice follows a browser that a sweep or someone else's action cannot know)."""
    chosen = (getattr(user, "language", "") or "").lower()
    return chosen if chosen in {code for code, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


def alert_texts(message: Callable[[], Any]) -> dict[str, str]:
    """An alert's message built in every language of the site: a reader sees it in theirs of the moment, whatever
    language they had, or the site had, when it was raised."""
    texts: dict[str, str] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            texts[language] = str(message())[:300]
    return texts


def alert(users: Iterable[User], *, ticket: Ticket | None, kind: str, occasion: str,
          message: str | Callable[[], Any], at: dt.datetime) -> int:
    """One alert per user and occasion: a repeated sweep adds nothing. Returns how many were new.

    `message`, a function that builds the (translated) text, is built in every language (`alert_texts`: shown in the
    reader's language of the moment) and stored as `message` in each user's (`alert_language`), not in that of the
    action or sweep that raised the alert; a plain string is stored as is."""
    created = 0
    texts = alert_texts(message) if callable(message) else {}
    for user in {u.pk: u for u in users}.values():
        text = texts[alert_language(user)] if callable(message) else str(message)
        row = StaffAlert(user=user, ticket=ticket, kind=kind, occasion=occasion[:100], message=text[:300],
                         texts=texts, created_at=at)
        created += insert_unless_exists(row, ["user", "occasion"])
    return created


def do_mark_alerts_read(*, acting_user: Any, alert_ids: Iterable[int] | None = None,
                        now: dt.datetime | None = None) -> int:
    """Mark `acting_user`'s own alerts read: these (`alert_ids`) or, when None, all of them.

    Alerts are personal: an id that is not one of this user's alerts is refused as not found (no hint that it
    exists) and nothing is marked. Marking is idempotent (an alert read before keeps its time). Returns how many
    alerts were newly marked.
    """
    if not getattr(acting_user, "pk", None):
        raise PermissionDeniedError(_("Sign in to read your alerts."))
    mine = StaffAlert.objects.filter(user_id=acting_user.pk)
    if alert_ids is not None:
        wanted = set(alert_ids)
        if not wanted:
            return 0
        if mine.filter(pk__in=wanted).count() != len(wanted):
            raise NotFoundError(_("Alert not found."))
        mine = mine.filter(pk__in=wanted)
    return mine.filter(read_at=None).update(read_at=now or timezone.now())


# --- SLA watches -----------------------------------------------------------------------------------


# What the watches of a ticket depend on. The services record these columns as they locked them
# (`loopdesk.tickets.services.LOADED`); the watches are in step with the stored row, so when none of them
# changed there is nothing to do.
_WATCHED = ("is_open", "sla_paused", "sla_policy_id", "status", "due_at", "overtime_at", "problem_at",
            "is_overtime", "is_problem")
_SYNCED = "_watches_synced_for"
# The states in which a handling cycle's overtime / problem clock runs (loopdesk.sla.clock: from the first dispatch to
# the department's reply): with a department, and returned (退单) to be dispatched again, which does not end it.
CYCLE_RUNNING_STATUSES = WITH_DEPARTMENT_STATUSES | {Status.RETURNED}


def _watch_key(values: Any) -> tuple[Any, ...]:
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    return tuple(get(name) if name != "status" else get(name) in CYCLE_RUNNING_STATUSES for name in _WATCHED)


def sync_watches(ticket: Ticket, event: Any = None) -> None:
    """Ticket-event listener: keep the moments the sweep must act on in step with the ticket's clocks."""
    key = _watch_key(ticket)
    if event is not None:
        before = ticket.__dict__.get(_SYNCED)
        if before is None and (loaded := ticket.__dict__.get(ticket_services.LOADED)) is not None:
            before = _watch_key(loaded)
        if before == key:
            return
    ticket.__dict__[_SYNCED] = key
    if not (event is not None and event.kind == EventKind.CREATE and event.seq == 1):  # a new ticket has none
        SlaWatch.objects.filter(ticket_id=ticket.pk).delete()
    watches = _watches_for(ticket, getattr(event, "created_at", None) or timezone.now())
    if watches:
        SlaWatch.objects.bulk_create(watches)


def _watches_for(ticket: Ticket, at: dt.datetime) -> list[SlaWatch]:
    """The moments the sweep must act on for this ticket as it is now."""
    policy = ticket.sla_policy
    if not ticket.is_open or ticket.sla_paused or policy is None:
        return []
    watches = []
    if ticket.due_at and ticket.due_at > at:  # nothing to warn about once it is due
        warn_before = dt.timedelta(minutes=policy.warn_before_minutes)
        watches.append(SlaWatch(ticket_id=ticket.pk, kind=WatchKind.WARN, fire_at=ticket.due_at - warn_before,
                                due_at=ticket.due_at))
    if ticket.status in CYCLE_RUNNING_STATUSES:
        # A limit still ahead is watched also when the flag is set: a reopened ticket's new cycle (the flags stay
        # from the earlier round) is chased like the first.
        if ticket.overtime_at and (not ticket.is_overtime or ticket.overtime_at > at):
            watches.append(SlaWatch(ticket_id=ticket.pk, kind=WatchKind.OVERTIME, fire_at=ticket.overtime_at))
        if ticket.problem_at and (not ticket.is_problem or ticket.problem_at > at):
            watches.append(SlaWatch(ticket_id=ticket.pk, kind=WatchKind.PROBLEM, fire_at=ticket.problem_at))
    return watches


def _sync_watches_many(items: list[tuple[Ticket, Any]]) -> None:
    """`sync_watches` for the events of many tickets at once: one delete and one insert in all."""
    latest: dict[int, tuple[Ticket, Any]] = {}
    for ticket, event in items:
        latest[ticket.pk] = (ticket, event)
    changed = []
    for ticket, event in latest.values():
        key = _watch_key(ticket)
        before = ticket.__dict__.get(_SYNCED)
        if before is None and (loaded := ticket.__dict__.get(ticket_services.LOADED)) is not None:
            before = _watch_key(loaded)
        if before != key:
            ticket.__dict__[_SYNCED] = key
            changed.append((ticket, event))
    if not changed:
        return
    SlaWatch.objects.filter(ticket_id__in=[t.pk for t, _e in changed]).delete()
    watches = []
    for ticket, event in changed:
        watches.extend(_watches_for(ticket, getattr(event, "created_at", None) or timezone.now()))
    if watches:
        SlaWatch.objects.bulk_create(watches)


sync_watches.batch = _sync_watches_many  # type: ignore[attr-defined]  # see loopdesk.tickets.events.notify_many


@dataclass
class SweepReport:
    warned: int = 0
    marked: int = 0
    escalated: int = 0
    remaining: bool = False


def _crossing_message(t: Ticket, became_problem: bool) -> str:
    """The alert of a crossing, with the limit of the ticket's own policy (regulator appeals have shorter ones)."""
    policy = t.sla_policy
    minutes = (policy.problem_minutes if became_problem else policy.overtime_minutes) if policy else 0
    limit = f"{minutes / 60:g}"
    if became_problem:
        return str(_("%(number)s is now a problem ticket (over %(hours)s h).") % {"number": t.number, "hours": limit})
    return str(_("%(number)s is now overtime (over %(hours)s h).") % {"number": t.number, "hours": limit})


def _escalation_reason(ticket: Ticket, became_overtime: bool, became_problem: bool) -> str | None:
    if became_problem:
        return EscalationReason.PROBLEM
    if became_overtime and ticket.contact_type == ContactType.APPEAL and \
            refcache.followup_policy().appeal_escalate_when_overtime:
        return EscalationReason.APPEAL_OVERTIME
    return None


def escalation_note(reason: str, note: str = "") -> str:
    """The timeline entry of an escalation, in the active language: stored in the language it was made in, and
    rebuilt in the reader's (`escalation_notes`). `note`: the person's, of an escalation by hand."""
    label = EscalationReason(reason).label
    if note:
        return str(_("Escalated to the service supervisors: %(reason)s. %(note)s") % {"reason": label, "note": note})
    return str(_("Escalated to the service supervisors: %(reason)s") % {"reason": label})


def escalation_notes(events: Iterable[TicketEvent]) -> None:
    """Rewrite the notes of the escalation entries among `events` in the active language (the reader's), with the
    note of an escalation by hand as the person wrote it (one query)."""
    entries = [e for e in events if e.kind == EventKind.NOTE and (e.data or {}).get("escalation") in
               EscalationReason.values]
    ids = {e.data.get("escalation_id") for e in entries if e.actor_id is not None}
    notes = dict(Escalation.objects.filter(pk__in=ids).values_list("pk", "note")) if ids else {}
    for event in entries:
        note = notes.get(event.data.get("escalation_id"), "") if event.actor_id is not None else ""
        event.note = escalation_note(event.data["escalation"], note)


def _escalate_locked(t: Ticket, reason: str, at: dt.datetime, *, occasion: str, note: str = "",
                     actor: Any = None) -> Escalation | None:
    """Hand a locked ticket to the supervisors: an escalation row, a timeline entry and alerts. Idempotent.

    `actor`: the person who escalated it by hand (None: the system); they get no alert of their own escalation."""
    # The note holds 300 characters: a longer reason (a callback's note, a survey comment) says it was cut.
    cut = note if len(note) <= MAX_ESCALATION_NOTE else note[:MAX_ESCALATION_NOTE - 1] + "…"
    escalation = Escalation(ticket=t, reason=reason, occasion=occasion[:100], note=cut, created_at=at,
                            escalated_by=actor)
    if not insert_unless_exists(escalation, ["occasion"]):
        return None
    text = escalation_note(reason, note if actor is not None else "")
    _append_event(t, EventKind.NOTE, actor, at, note=text,
                  data={"escalation": reason, "escalation_id": escalation.pk})
    alert([u for u in supervisors_for(t) if actor is None or u.pk != actor.pk], ticket=t, kind=AlertKind.ESCALATED,
          occasion=f"esc:{escalation.pk}",
          message=lambda: _("%(number)s escalated: %(reason)s") % {"number": t.number,
                                                                   "reason": EscalationReason(reason).label},
          at=at)
    return escalation


def do_mark_sla_crossings(*, ticket: Ticket | int, now: dt.datetime | None = None) -> Ticket:
    """Mark a ticket overtime / problem the moment it crosses (a timeline event each) and escalate per policy."""
    return _mark_sla_crossings(ticket, now)[0]


def _mark_sla_crossings(ticket: Ticket | int, now: dt.datetime | None) -> tuple[Ticket, bool]:
    """The work of `do_mark_sla_crossings`; also says whether the ticket was escalated."""
    at = now or timezone.now()
    escalated = False
    with transaction.atomic(), refcache.pinned():
        t = _lock_ticket(ticket, None)
        if not t.is_open:
            return t, False
        became_overtime, became_problem = _refresh_sla(t, at)
        if not (became_overtime or became_problem):
            return t, False
        reason = _escalation_reason(t, became_overtime, became_problem)
        if reason:
            escalated = _escalate_locked(t, reason, at, occasion=_sla_occasion(t, reason)) is not None
        _save(t, at)  # a new version: an edit based on what was seen before the crossing gets a conflict
        t.__dict__[_CROSSING_HANDLED] = True  # escalated and alerted here: `on_crossing_event` leaves it alone
        _publish(t)
        record_audit(None, "ticket.sla_crossed", t, data={"overtime": t.is_overtime, "problem": t.is_problem}, at=at)
        kind = AlertKind.PROBLEM if became_problem else AlertKind.OVERTIME
        alert(handlers_of(t) + heads_over(t), ticket=t, kind=kind, occasion=f"{kind}:{t.pk}:{t.cycle_started_at}",
              message=lambda: _crossing_message(t, became_problem), at=at)
    return t, escalated


def _sla_occasion(t: Ticket, reason: str) -> str:
    """The escalation's occasion for a crossing: one per ticket, reason and handling cycle."""
    return f"sla:{t.pk}:{reason}:{t.cycle_started_at:%Y%m%d%H%M%S}"


# Set on a ticket whose crossing the sweep has escalated and alerted itself.
_CROSSING_HANDLED = "_sla_crossing_handled"


def on_crossing_event(ticket: Ticket, event: Any) -> None:
    """Ticket-event listener: a crossing that an action or a recompute noticed (not the sweep) is escalated and
    alerted at once, exactly as the sweep would have done (same occasions, so never twice).

    Runs inside the service's transaction on the locked ticket, after it was saved: the escalation's own timeline
    entry is saved with the ticket's event counter and handed to the listeners too."""
    if event.kind not in (EventKind.OVERTIME, EventKind.PROBLEM) or ticket.__dict__.get(_CROSSING_HANDLED):
        return
    if not ticket.is_open:
        return
    became_problem = event.kind == EventKind.PROBLEM
    if not became_problem and ticket.__dict__.get(ticket_services.SLA_MARKED, (False, False))[1]:
        return  # crossed both at once: the problem event that follows does it, as the sweep does
    at = event.created_at
    seq = ticket.last_event_seq
    reason = _escalation_reason(ticket, not became_problem, became_problem)
    if reason:
        _escalate_locked(ticket, reason, at, occasion=_sla_occasion(ticket, reason))
    if ticket.last_event_seq != seq:
        Ticket.objects.filter(pk=ticket.pk).update(last_event_seq=ticket.last_event_seq)
        _publish(ticket)
    record_audit(None, "ticket.sla_crossed", ticket,
                 data={"overtime": ticket.is_overtime, "problem": ticket.is_problem}, at=at)
    kind = AlertKind.PROBLEM if became_problem else AlertKind.OVERTIME
    alert(handlers_of(ticket) + heads_over(ticket), ticket=ticket, kind=kind,
          occasion=f"{kind}:{ticket.pk}:{ticket.cycle_started_at}",
          message=lambda: _crossing_message(ticket, became_problem), at=at)


def _warn(watch: SlaWatch, now: dt.datetime) -> bool:
    ticket = (Ticket.objects.select_related("handler_unit").only(
        "id", "number", "is_open", "due_at", "sla_paused", "handler_user_id", "handler_unit__path",
        "handler_unit__id").filter(pk=watch.ticket_id).first())
    if ticket is None or not ticket.is_open or ticket.sla_paused or ticket.due_at != watch.due_at \
            or ticket.due_at <= now:
        return False
    local_due = timezone.localtime(ticket.due_at)

    def message() -> str:
        return str(_("%(number)s is due at %(due)s.") % {"number": ticket.number, "due": f"{local_due:%m-%d %H:%M}"})

    return alert(handlers_of(ticket) + heads_over(ticket), ticket=ticket, kind=AlertKind.DUE_SOON,
                 occasion=f"warn:{ticket.pk}:{ticket.due_at.isoformat()}", message=message, at=now) > 0


def sweep_sla(*, now: dt.datetime | None = None, batch: int = SWEEP_BATCH, chunk: int = SWEEP_CHUNK) -> SweepReport:
    """Act on the SLA watches that have come due (oldest first, at most `batch`). Idempotent.

    Crossings (overtime / problem) are marked `chunk` tickets per transaction (`_mark_crossings_batch`);
    a chunk that fails is retried ticket by ticket, so one broken ticket never holds up the others.
    """
    now = now or timezone.now()
    report = SweepReport()
    due = list(SlaWatch.objects.filter(fire_at__lte=now).order_by("fire_at", "id")[: batch + 1])
    report.remaining = len(due) > batch
    due = due[:batch]
    for watch in due:
        if watch.kind == WatchKind.WARN:
            try:
                report.warned += _warn(watch, now)
            except Exception:  # one broken ticket must not stop the sweep; it is logged and retried next run
                log.exception("SLA sweep failed on ticket %s", watch.ticket_id)
                continue
            SlaWatch.objects.filter(pk=watch.pk, fire_at__lte=now).delete()
    crossings = [w for w in due if w.kind != WatchKind.WARN]
    for start in range(0, len(crossings), max(1, chunk)):
        part = crossings[start:start + max(1, chunk)]
        try:
            marked, escalated = _mark_crossings_batch([w.pk for w in part], now)
        except Exception:
            log.exception("SLA sweep: batch of %d failed, marking its tickets one by one", len(part))
            marked, escalated = _mark_one_by_one(part, now)
        report.marked += marked
        report.escalated += escalated
    return report


def _mark_one_by_one(watches: list[SlaWatch], now: dt.datetime) -> tuple[int, int]:
    """The per-ticket path: one locked service call per crossing."""
    marked = escalated = 0
    for watch in watches:
        try:
            _ticket, was_escalated = _mark_sla_crossings(watch.ticket_id, now)
            marked += 1
            escalated += was_escalated
        except NotFoundError:
            pass
        except Exception:  # one broken ticket must not stop the sweep; it is logged and retried next run
            log.exception("SLA sweep failed on ticket %s", watch.ticket_id)
            continue
        SlaWatch.objects.filter(pk=watch.pk, fire_at__lte=now).delete()
    return marked, escalated


def _mark_crossings_batch(watch_ids: list[int], now: dt.datetime) -> tuple[int, int]:
    """Mark the crossings of many tickets in one transaction, with the guarantees of `do_mark_sla_crossings`.

    Per ticket that crossed: exactly one `overtime` / `problem` timeline event, its flags, a new version (an edit
    based on the old one gets a conflict), an audit record, the escalation per policy, the staff alerts, and
    every ticket-event listener sees the events (`notify_many`). Set-based: one query locks the watches, one the
    tickets, one reads their timelines, then one insert of events, one update of the tickets, one insert of
    audit records and one of alerts. On PostgreSQL watches and tickets are locked with SKIP LOCKED: several
    workers drain the due work in parallel, and a ticket someone is changing right now keeps its watch for the
    next run. Returns (watches done, tickets escalated).
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic(), refcache.pinned():
        watches = SlaWatch.objects.filter(pk__in=watch_ids, fire_at__lte=now)
        if skip_locked:
            watches = watches.select_for_update(skip_locked=True)
        claimed = list(watches.values_list("pk", "ticket_id"))
        if not claimed:
            return 0, 0
        tickets_qs = (Ticket.objects.filter(pk__in={tid for _pk, tid in claimed})
                      .select_related(*ticket_services._LOCK_RELATED).order_by("pk"))
        if skip_locked:
            tickets_qs = tickets_qs.select_for_update(of=("self",), skip_locked=True)
        tickets = list(tickets_qs)
        locked_ids = {t.pk for t in tickets}
        timelines: dict[int, list[Any]] = defaultdict(list)
        rows = (TicketEvent.objects.filter(ticket_id__in=locked_ids).order_by("ticket_id", "seq")
                .values_list("ticket_id", "kind", "created_at", "to_status"))
        for ticket_id, kind, created_at, to_status in rows:
            timelines[ticket_id].append(ticket_services._EventRow(kind, created_at, to_status))

        new_events: list[TicketEvent] = []
        crossed: list[tuple[Ticket, bool, bool]] = []
        for t in tickets:
            ticket_services._attach_reference(t)
            t.__dict__[ticket_services.LOADED] = {name: getattr(t, name) for name in ticket_services._SNAPSHOT}
            if not t.is_open:
                continue
            became_overtime, became_problem = ticket_services._refresh_sla(t, now, timelines[t.pk],
                                                                           unsaved=new_events)
            if became_overtime or became_problem:
                crossed.append((t, became_overtime, became_problem))

        escalated = 0
        if crossed:
            TicketEvent.objects.bulk_create(new_events)
            for t, became_overtime, became_problem in crossed:
                reason = _escalation_reason(t, became_overtime, became_problem)
                if reason and _escalate_locked(t, reason, now, occasion=_sla_occasion(t, reason)):
                    escalated += 1
                t.__dict__[_CROSSING_HANDLED] = True
                t.version += 1
                t.updated_at = now
            _write_columns([t for t, _o, _p in crossed],
                           [*ticket_services.SLA_COLUMNS, "last_event_seq", "version", "updated_at"])
            published: list[tuple[Ticket, TicketEvent]] = []
            for t, _o, _p in crossed:
                published.extend((t, event) for event in t.__dict__.pop("_unpublished_events", []))
            ticket_events.notify_many(published)
            AuditLog.objects.bulk_create([
                audit_entry(None, "ticket.sla_crossed", t, data={"overtime": t.is_overtime, "problem": t.is_problem},
                            at=now) for t, _o, _p in crossed])
            _alert_crossings(crossed, now)
        done = [pk for pk, ticket_id in claimed if ticket_id in locked_ids]
        SlaWatch.objects.filter(pk__in=done).delete()
    return len(done), escalated


def _write_columns(tickets: list[Ticket], names: list[str]) -> None:
    """Write these columns of locked tickets: one statement run for many rows (executemany; psycopg pipelines
    it), instead of `bulk_update`, whose CASE expressions cost more to build than the database takes to run."""
    by_name = {field.name: field for field in Ticket._meta.concrete_fields}
    fields = [by_name[name] for name in names]
    qn = connection.ops.quote_name
    sql = (f"UPDATE {qn(Ticket._meta.db_table)} SET "  # noqa: S608 - our own table and column names
           + ", ".join(f"{qn(field.column or field.name)} = %s" for field in fields) + f" WHERE {qn('id')} = %s")
    rows = [[field.get_db_prep_save(getattr(t, field.attname), connection) for field in fields] + [t.pk]
            for t in tickets]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _alert_crossings(crossed: list[tuple[Ticket, bool, bool]], at: dt.datetime) -> None:
    """The handlers' and department heads' alerts of `_mark_sla_crossings`, for many tickets in three queries."""
    handler_ids = {t.handler_user_id for t, _o, _p in crossed if t.handler_user_id}
    active = User.objects.filter(is_active=True)
    by_id = {u.pk: u for u in active.filter(pk__in=handler_ids).select_related("unit")} if handler_ids else {}
    # The unit's staff where nobody is named, or the one named left or moved (as `handlers_of`).
    named = {t.pk: by_id[t.handler_user_id] for t, _o, _p in crossed
             if t.handler_user_id and _still_handles(by_id.get(t.handler_user_id), t)}
    unit_ids = {t.handler_unit_id for t, _o, _p in crossed if t.pk not in named}
    by_unit: dict[int, list[User]] = defaultdict(list)
    for user in (active.filter(unit_id__in=unit_ids) if unit_ids else []):
        if user.unit_id is not None:
            by_unit[user.unit_id].append(user)
    heads = [u for u in active.filter(groups__name=Role.DEPARTMENT_HEAD).select_related("unit") if u.unit is not None]
    alerts: list[StaffAlert] = []
    for t, _became_overtime, became_problem in crossed:
        handlers = [named[t.pk]] if t.pk in named else by_unit.get(t.handler_unit_id, [])
        path = t.handler_unit.path if t.handler_unit is not None else None
        users = {u.pk: u for u in [*handlers, *(h for h in heads if path and h.unit and path.startswith(h.unit.path))]}
        kind = AlertKind.PROBLEM if became_problem else AlertKind.OVERTIME
        occasion = f"{kind}:{t.pk}:{t.cycle_started_at}"[:100]
        texts = alert_texts(partial(_crossing_message, t, became_problem)) if users else {}  # as `alert`
        for user in users.values():
            alerts.append(StaffAlert(user=user, ticket=t, kind=kind, occasion=occasion,
                                     message=texts[alert_language(user)], texts=texts, created_at=at))
    StaffAlert.objects.bulk_create(alerts, ignore_conflicts=True)  # one alert per user and occasion


# --- escalation of other kinds ---------------------------------------------------------------------


def do_escalate_ticket(*, ticket: Ticket | int, reason: str, occasion: str, note: str = "",
                       now: dt.datetime | None = None) -> Escalation | None:
    """Escalate a ticket to the service supervisors (low rating, dissatisfied customer). Idempotent by occasion."""
    if reason not in EscalationReason.values:
        raise ValidationFailed(field="reason", message=_("Choose a valid escalation reason."))
    at = now or timezone.now()
    with transaction.atomic(), refcache.pinned():
        t = _lock_ticket(ticket, None)
        escalation = _escalate_locked(t, reason, at, occasion=occasion, note=note)
        if escalation is not None:
            Ticket.objects.filter(pk=t.pk).update(last_event_seq=t.last_event_seq)
            _publish(t)
            record_audit(None, "ticket.escalate", t, data={"reason": reason}, at=at)
    return escalation


MAX_ESCALATION_NOTE = 300  # Escalation.note


def escalates(user: Any, ticket: Ticket) -> bool:
    """A service supervisor of the ticket's region, a department head over its handling unit, or an administrator
    (no query when the ticket's handler_unit and the user's unit are loaded), whether the ticket is open or not."""
    return bool(ticket_policy.is_admin(user) or ticket_policy.is_region_supervisor(user, ticket)
                or ticket_policy.is_head_over_handler(user, ticket))


def may_escalate_by_hand(user: Any, ticket: Ticket) -> bool:
    """`escalates`, and the ticket is open."""
    return bool(ticket.is_open and escalates(user, ticket))


def do_escalate_by_hand(*, acting_user: Any, ticket: Ticket | int, note: str,
                        now: dt.datetime | None = None) -> Escalation:
    """A supervisor (or a department head) hands an open ticket to the service supervisors' escalation list with a
    note saying why: an escalation row (reason "by hand", who), a timeline entry by them, alerts to the other
    supervisors of the region, an audit record. Refused while an escalation by hand of the ticket is still open."""
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(field="note", message=_("Say why it is escalated."))
    if len(note) > MAX_ESCALATION_NOTE:
        raise ValidationFailed(field="note", message=_("At most %(limit)d characters.") % {
            "limit": MAX_ESCALATION_NOTE})
    at = now or timezone.now()
    with transaction.atomic(), refcache.pinned():
        pk = ticket.pk if isinstance(ticket, Ticket) else ticket
        t = _lock_ticket(pk, None)
        if not ticket_policy.can_see(acting_user, t):
            raise NotFoundError(_("Work order not found."))
        if not may_escalate_by_hand(acting_user, t):
            if not t.is_open:
                raise ValidationFailed(field="note", message=_("Only an open work order can be escalated."))
            raise PermissionDeniedError(_("Only service supervisors and department heads escalate work orders."))
        already = ValidationFailed(field="note", message=_(
                "This work order is already escalated by hand; the escalation is open until a supervisor resolves it."))
        if Escalation.objects.filter(ticket=t, reason=EscalationReason.MANUAL, resolved_at=None).exists():
            raise already
        escalation = _escalate_locked(t, EscalationReason.MANUAL, at, occasion=f"manual:{t.pk}:{at:%Y%m%d%H%M%S%f}",
                                      note=note, actor=acting_user)
        if escalation is None:  # the same ticket escalated in the same microsecond: the other one stands
            raise already
        Ticket.objects.filter(pk=t.pk).update(last_event_seq=t.last_event_seq)
        _publish(t)
        record_audit(acting_user, "ticket.escalate", t, data={"reason": EscalationReason.MANUAL, "note": note,
                                                              "escalation": escalation.pk}, at=at)
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


def callback_owners(ticket: Ticket, assignee: User | None) -> list[User]:
    """Who owes a callback: the first responder it is named to, or when they left (deactivated) or moved to another
    unit, the active front-line staff of the unit that registered the contact (who may record it, and whose callback
    lists show it: `selectors.my_open_callbacks`). Else its alerts reached nobody there."""
    if assignee is not None and assignee.is_active and assignee.unit_id == ticket.first_responder_unit_id:
        return [assignee]
    unit_id = ticket.first_responder_unit_id
    if not OrgUnit.objects.filter(pk=unit_id, is_active=True).exists():
        # That unit deactivated since: the front-line unit the reply came back to stands in for it
        # (`tickets.services._back_to_first_responder`).
        unit_id = ticket.handler_unit_id
    return list(User.objects.filter(unit_id=unit_id, is_active=True,
                                    groups__name__in=FRONT_LINE_ROLES).distinct())


def on_ticket_event_callbacks(ticket: Ticket, event: TicketEvent) -> None:
    """Listener: a reply creates the first responder's callback task; a callback or end of cycle finishes it."""
    kind = event.kind
    if kind == EventKind.REPLY:
        hours = refcache.followup_policy().callback_due_hours
        task = CallbackTask(ticket=ticket, cycle=ticket.reopen_count, assignee_id=ticket.first_responder_id,
                            due_at=event.created_at + dt.timedelta(hours=hours), created_at=event.created_at)
        if insert_unless_exists(task, ["ticket", "cycle"]):  # one per handling cycle: a second reply adds none
            alert(callback_owners(ticket, ticket.first_responder), ticket=ticket, kind=AlertKind.CALLBACK_DUE,
                  occasion=f"cb:{task.pk}",
                  message=lambda: _("Call back the customer of %(number)s by %(due)s.") % {
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
                       expected_version: int | None = None, now: dt.datetime | None = None) -> Ticket:
    """Record the callback's outcome through `do_callback`; a dissatisfied customer reopens or escalates per policy.
    `expected_version`: the work order's version the form showed, compared under the row lock (a conflict if it
    changed since)."""
    task_obj = task if isinstance(task, CallbackTask) else CallbackTask.objects.filter(pk=task).first()
    if task_obj is None:
        raise NotFoundError(_("Callback task not found."))
    if task_obj.status != CallbackStatus.OPEN:
        raise ValidationFailed(field="task", message=_("This callback was already recorded or cancelled."))
    _check_dissatisfied_note(verdict, note)
    at = now or timezone.now()
    with transaction.atomic():
        ticket = ticket_services.do_callback(acting_user=acting_user, ticket=task_obj.ticket_id, verdict=verdict,
                                             note=note, expected_version=expected_version, now=at)
        return _after_callback(acting_user, ticket, verdict, note, occasion=f"cb:{task_obj.pk}", at=at)


def do_record_ticket_callback(*, acting_user: Any, ticket: Ticket | int, verdict: str, note: str = "",
                              expected_version: int | None = None, now: dt.datetime | None = None) -> Ticket:
    """The callback of a work order, by the work order (a callback task of it, if open, is done by it; one solved at
    first contact has none), with the outcome of `do_record_callback`: a dissatisfied customer reopens or escalates
    per policy. The workbench's action form and the REST API's callback action."""
    _check_dissatisfied_note(verdict, note)
    at = now or timezone.now()
    ticket_id = ticket.pk if isinstance(ticket, Ticket) else ticket
    task_id = (CallbackTask.objects.filter(ticket_id=ticket_id, status=CallbackStatus.OPEN)
               .values_list("pk", flat=True).first())
    with transaction.atomic():
        t = ticket_services.do_callback(acting_user=acting_user, ticket=ticket, verdict=verdict, note=note,
                                        expected_version=expected_version, now=at)
        occasion = f"cb:{task_id}" if task_id is not None else f"cbt:{t.pk}:{t.reopen_count}"
        return _after_callback(acting_user, t, verdict, note, occasion=occasion, at=at)


def _check_dissatisfied_note(verdict: str, note: str | None) -> None:
    """A dissatisfied customer's callback says why (the department reads it on the reopened or escalated work order):
    the rule of the workbench's callback forms, for every caller of the follow-up services (the REST API too)."""
    if verdict == CallbackVerdict.DISSATISFIED and not (note or "").strip():
        raise ValidationFailed(field="note",
                               message=_("Say why the customer is not satisfied: the department will read it."))


def _after_callback(acting_user: Any, ticket: Ticket, verdict: str, note: str, *, occasion: str,
                    at: dt.datetime) -> Ticket:
    """What the follow-up policy does after a dissatisfied callback: reopen (default) or escalate."""
    if verdict != CallbackVerdict.DISSATISFIED:
        return ticket
    reason_text = note.strip() or str(_("The customer was not satisfied at the callback."))
    if FollowupPolicy.current().dissatisfied_action == DissatisfiedAction.REOPEN:
        return ticket_services.do_reopen_ticket(acting_user=acting_user, ticket=ticket, reason=reason_text, now=at)
    do_escalate_ticket(ticket=ticket, reason=EscalationReason.DISSATISFIED, occasion=occasion, note=reason_text,
                       now=at)
    ticket.refresh_from_db()
    return ticket


def sweep_callbacks(*, now: dt.datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Alert the first responder (or their unit's front line if they left: `callback_owners`) and the supervisors once
    about every overdue callback."""
    now = now or timezone.now()
    overdue = list(CallbackTask.objects.filter(status=CallbackStatus.OPEN, overdue_alerted=False, due_at__lte=now)
                   .select_related("ticket", "assignee").order_by("due_at")[:batch])
    def overdue_message(number: str) -> Callable[[], str]:
        return lambda: str(_("The callback of %(number)s is overdue.") % {"number": number})

    for task in overdue:
        alert([*callback_owners(task.ticket, task.assignee), *supervisors_for(task.ticket)], ticket=task.ticket,
              kind=AlertKind.CALLBACK_OVERDUE,
              occasion=f"cbo:{task.pk}", message=overdue_message(task.ticket.number), at=now)
    CallbackTask.objects.filter(pk__in=[t.pk for t in overdue]).update(overdue_alerted=True)
    return len(overdue)


def open_escalations() -> Any:
    return Escalation.objects.filter(Q(resolved_at=None)).select_related("ticket").order_by("created_at")
