"""Read queries of follow-up that the workbench shares: my callbacks, my alerts, the supervisors' escalations.

Every query is scoped in the database and served by an index of loopdesk/followup/models.py:
callbacks by `followup_cb_mine` (assignee, due_at where open; for the front line, whose lists also take the open
callbacks of their unit's first responders who left, a walk of that partial index: the open callbacks only),
alerts by `followup_alert_inbox` (user, read_at, created_at), open escalations by `followup_esc_open` and the
visible-ticket filter.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from loopdesk.followup.models import CallbackStatus, CallbackTask, Escalation, StaffAlert
from loopdesk.org.choices import FRONT_LINE_ROLES
from loopdesk.tickets.policy import visible_tickets

TICKET_RELATED = ("ticket", "ticket__category", "ticket__category_root", "ticket__customer", "ticket__handler_unit",
                  "ticket__handler_user", "ticket__sla_policy")


def my_open_callbacks(user: Any) -> QuerySet[CallbackTask]:
    """The open callbacks assigned to `user` while they are in the unit that registered the contact, overdue first
    (earliest due first); for the front line, also those of their unit's contacts whose first responder left
    (deactivated) or moved to another unit: the colleagues who may record them (the next shift) see them, else they
    were in nobody's list (and someone who moved on has them no more). As `services.callback_owners`."""
    mine = Q(assignee_id=user.pk, ticket__first_responder_unit_id=user.unit_id)
    if user.unit_id is not None and user.role_codes & FRONT_LINE_ROLES:
        mine |= Q(ticket__first_responder_unit_id=user.unit_id) & (
            Q(assignee__is_active=False) | ~Q(assignee__unit_id=user.unit_id))
        # And those of a first-responder unit deactivated since, whose work orders came back to theirs.
        mine |= Q(ticket__handler_unit_id=user.unit_id, ticket__first_responder_unit__is_active=False)
    return CallbackTask.objects.filter(mine, status=CallbackStatus.OPEN).order_by("due_at", "id")


def my_open_callback_count(user: Any) -> int:
    return my_open_callbacks(user).count()


def open_callback_for(ticket: Any) -> CallbackTask | None:
    """The callback the first responder still owes on this ticket (at most one per handling cycle)."""
    return (CallbackTask.objects.filter(ticket_id=ticket.pk, status=CallbackStatus.OPEN)
            .select_related("assignee").order_by("-cycle").first())


def last_callback_for(ticket: Any) -> CallbackTask | None:
    """The latest recorded (done) callback of a ticket, for the ticket page."""
    return (CallbackTask.objects.filter(ticket_id=ticket.pk, status=CallbackStatus.DONE)
            .select_related("assignee").order_by("-cycle").first())


def my_alerts(user: Any, *, unread_only: bool = False) -> QuerySet[StaffAlert]:
    """The alerts addressed to `user`, newest first (the ticket loaded with each: no query per row)."""
    qs = StaffAlert.objects.filter(user_id=user.pk)
    if unread_only:
        qs = qs.filter(read_at=None)
    return qs.select_related("ticket").order_by("-created_at", "-id")


def unread_alert_count(user: Any) -> int:
    """One indexed count (user, read_at IS NULL) per page: the top bar's notification badge."""
    return StaffAlert.objects.filter(user_id=user.pk, read_at=None).count()


def open_escalations_for(user: Any) -> QuerySet[Escalation]:
    """Open escalations of the tickets `user` may see, oldest first.

    Driven from the few open escalations, walked in order on the partial index `followup_esc_open`; each one's
    ticket is checked by primary key (a correlated EXISTS). `ticket IN (visible tickets)` made SQLite list every
    ticket of the region first (1.6 s at a million tickets, measured on bench1m.sqlite3; 1.4 ms this way)."""
    visible = visible_tickets(user).filter(pk=OuterRef("ticket_id"))
    return Escalation.objects.filter(Exists(visible), resolved_at=None).order_by("created_at", "id")
