"""The workbench's queues: which tickets each one holds, filters, and keyset pagination by due time.

Every queue starts from `policy.visible_tickets`, so nobody sees a ticket the policy hides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loopdesk.org.choices import FRONT_LINE_ROLES, Role, UnitFunction
from loopdesk.org.models import OrgUnit, User
from loopdesk.sla.models import SlaPolicy
from loopdesk.tickets.choices import EventKind, Status
from loopdesk.tickets.models import Ticket, TicketEvent
from loopdesk.tickets.policy import is_admin, visible_tickets
from loopdesk.workbench.sla import DEFAULT_WARN_MINUTES

PAGE_SIZE = 25  # rows per queue page (keyset "next" for more); each row costs ~1 ms of template work
# Counts shown on tabs, home sections and list headings are exact up to this many, then "1,000+": the cost of a
# count is then bounded by the cap, not by the size of the backlog (a million-ticket region's overdue list).
COUNT_CAP = 1000
LIST_RELATED = (
    "category",
    "category_root",
    "customer",
    "handler_unit",
    "handler_user",
    "first_responder",
    "sla_policy",
)
# What the ticket table (partials/ticket_table.html, tag `ticket_rows`) shows, and nothing more: the columns of 25
# rows and their six relations instead of every column (descriptions, resolutions) of eight tables.
TABLE_RELATED = ("category", "category_root", "customer", "handler_unit", "handler_user", "sla_policy")
TABLE_COLUMNS = (
    "id", "number", "version", "status", "is_open", "is_repeat", "tier", "contact_type", "channel", "due_at",
    "created_at", "sla_paused", "is_overtime", "is_problem",
    "category__name", "category__name_en", "category_root__name", "category_root__name_en", "customer__msisdn",
    "handler_unit__name", "handler_unit__name_en", "handler_user__username", "handler_user__display_name",
    "handler_user__first_name", "handler_user__last_name", "sla_policy__warn_before_minutes",
)
TO_DISPATCH_STATUSES = (Status.NEW, Status.DISPATCHED, Status.RETURNED)
WIDE_ROLES = frozenset({Role.SUPERVISOR, Role.AUDITOR, Role.DISPATCHER, Role.ADMINISTRATOR})


@dataclass(frozen=True)
class Queue:
    key: str
    label: Any
    help: Any


QUEUES = {
    q.key: q
    for q in (
        Queue("mine", _("My work orders"), _("Open work orders you handle or first responded to.")),
        Queue("unit", _("My unit's queue"), _("Open work orders with your unit and the rooms below it.")),
        Queue("dispatch", _("To be dispatched"), _("Open work orders waiting with second-line support.")),
        Queue("risk", _("At risk and overdue"), _("Running clocks that fall due soon or are past due.")),
        Queue("holds", _("Suspension requests"),
              _("Requests to suspend a work order (挂起) waiting for a department head or a supervisor to decide.")),
    )
}

SORTS = {
    # key: (order_by fields, keyset field, descending)
    "due": (("due_at", "id"), "due_at", False),
    "-due": (("-due_at", "-id"), "due_at", True),
    "-created": (("-created_at", "-id"), "created_at", True),
}


def warn_window_minutes() -> int:
    """The widest "warn before due" of the active SLA policies: one small query."""
    widest = SlaPolicy.objects.filter(is_active=True).aggregate(m=Max("warn_before_minutes"))["m"]
    return int(widest or DEFAULT_WARN_MINUTES)


def unit_subtree_ids(unit: OrgUnit | None) -> list[int]:
    if unit is None:
        return []
    return list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("id", flat=True))


def _gone_first_responders(unit_id: int) -> list[int]:
    """The first responders of the unit's open tickets who left (deactivated) or work in another unit now."""
    responders = Ticket.objects.filter(is_open=True, first_responder_unit_id=unit_id).values(
        "first_responder_id").distinct()
    return list(User.objects.filter(pk__in=responders).filter(Q(is_active=False) | ~Q(unit_id=unit_id))
                .values_list("pk", flat=True))


def queue_queryset(user: Any, key: str, *, now: dt.datetime | None = None) -> QuerySet[Ticket]:
    """The open tickets of one queue, unsorted and unfiltered."""
    now = now or timezone.now()
    qs = visible_tickets(user).filter(is_open=True)
    if key == "mine":
        # One index per side of the OR (tkt_handler_user, tkt_fr_open), whatever the planner thinks of the
        # visibility filter: `handler_user = me OR first_responder = me` made SQLite scan the region's tickets.
        mine = Ticket.objects.filter(is_open=True, handler_user=user).values("id").union(
            Ticket.objects.filter(is_open=True, first_responder=user).values("id"), all=True)
        if user.unit_id is not None and user.role_codes & FRONT_LINE_ROLES:
            # The front line also has its unit's contacts whose first responder left (deactivated) or moved to
            # another unit: the next shift answers, calls back and closes them (as their callback tasks), else they
            # were in nobody's list.
            # Found from the few distinct first responders of the unit's open tickets (index-only, tkt_fr_unit_open):
            # joining every open ticket of a busy room to its first responder took 220 ms at 17,000 open.
            gone = _gone_first_responders(user.unit_id)
            if gone:
                mine = mine.union(Ticket.objects.filter(is_open=True, first_responder_unit_id=user.unit_id,
                                                        first_responder_id__in=gone).values("id"), all=True)
            # And those it stands in for, of a first-responder unit deactivated since (back with it on reply).
            closed_units = list(OrgUnit.objects.filter(is_active=False).values_list("id", flat=True))
            if closed_units:
                mine = mine.union(Ticket.objects.filter(is_open=True, handler_unit_id=user.unit_id,
                                                        first_responder_unit_id__in=closed_units).values("id"),
                                  all=True)
        return qs.filter(pk__in=mine)
    if key == "unit":
        return qs.filter(handler_unit_id__in=unit_subtree_ids(user.unit))
    if key == "dispatch":
        # The unit ids as a list, so that the open-queue index (handler_unit, due_at, id) serves the query.
        second_line = list(OrgUnit.objects.filter(function=UnitFunction.SECOND_LINE).values_list("id", flat=True))
        return qs.filter(status__in=TO_DISPATCH_STATUSES, handler_unit_id__in=second_line)
    if key == "holds":
        # A head decides for the units below it, a supervisor for the company (what the policy lets them approve);
        # not a request they made themselves, which someone else approves (the policy's rule).
        requester = (TicketEvent.objects.filter(ticket_id=OuterRef("pk"), kind=EventKind.REQUEST_HOLD)
                     .order_by("-seq").values("actor_id")[:1])
        qs = qs.filter(status=Status.HOLD_REQUESTED).alias(hold_requester=Subquery(requester)).exclude(
            hold_requester=user.pk)
        if user.has_role(Role.SUPERVISOR) or is_admin(user):
            return qs
        if user.has_role(Role.DEPARTMENT_HEAD):
            return qs.filter(handler_unit_id__in=unit_subtree_ids(user.unit))
        return qs.none()
    if key == "risk":
        qs = qs.filter(sla_paused=False, due_at__lt=now + dt.timedelta(minutes=warn_window_minutes()))
        if user.role_codes & WIDE_ROLES or user.unit_id is None:
            return qs
        # Everybody else: what is theirs to chase, i.e. with them or their unit now, or first responded to by
        # them or (front line) by their unit; not what merely passed through their unit once.
        own = Q(handler_user=user) | Q(first_responder=user) | Q(handler_unit_id__in=unit_subtree_ids(user.unit))
        if user.role_codes & FRONT_LINE_ROLES:
            own |= Q(first_responder_unit_id=user.unit_id)
        return qs.filter(own)
    raise KeyError(key)


def decides_holds(user: Any) -> bool:
    """Who gets the "Suspension requests" queue: department heads, supervisors and administrators."""
    return bool(is_admin(user) or user.has_role(Role.SUPERVISOR) or user.has_role(Role.DEPARTMENT_HEAD))


def table_rows(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """The tickets with what the ticket table shows loaded (one query, no query per row)."""
    return qs.select_related(*TABLE_RELATED).only(*TABLE_COLUMNS)


def encode_cursor(ticket: Ticket, sort: str) -> str:
    field = SORTS[sort][1]
    return f"{getattr(ticket, field).isoformat()}~{ticket.pk}"


def decode_cursor(value: str) -> tuple[dt.datetime, int] | None:
    """A cursor from the query string; anything malformed means "first page"."""
    try:
        stamp, pk = value.rsplit("~", 1)
        moment = dt.datetime.fromisoformat(stamp.replace(" ", "+"))
        if timezone.is_naive(moment):
            return None
        return moment, int(pk)
    except (ValueError, TypeError):
        return None


def page(qs: QuerySet[Ticket], sort: str, cursor: str = "", size: int = PAGE_SIZE) -> tuple[list[Ticket], str]:
    """One page in `sort` order after `cursor`, and the cursor of the next page ("" on the last page)."""
    order, field, descending = SORTS.get(sort, SORTS["due"])
    after = decode_cursor(cursor) if cursor else None
    if after is not None:
        value, pk = after
        if descending:
            qs = qs.filter(Q(**{f"{field}__lt": value}) | Q(**{field: value, "id__lt": pk}))
        else:
            qs = qs.filter(Q(**{f"{field}__gt": value}) | Q(**{field: value, "id__gt": pk}))
    rows = list(table_rows(qs).order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (encode_cursor(rows[-1], sort if sort in SORTS else "due") if more and rows else "")


def capped_count(qs: QuerySet[Any]) -> int:
    """The number of rows, exact up to COUNT_CAP; COUNT_CAP + 1 stands for "more than COUNT_CAP"."""
    return qs.values("pk")[: COUNT_CAP + 1].count()


def count_label(count: int) -> str:
    """A count from `capped_count` as shown: the number, or "1,000+" past the cap."""
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else str(count)
