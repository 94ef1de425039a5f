"""Read queries shared by views, the API and exports. Every one is scoped by `policy.visible_tickets`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from loopdesk.tickets.models import Category, Ticket, TicketEvent
from loopdesk.tickets.policy import visible_tickets

QUEUE_PAGE = 50
LIST_RELATED = ("category", "customer", "handler_unit", "handler_user", "first_responder", "first_responder_unit")


def unit_open_queue(
    user: Any, unit_id: int, *, after: tuple[dt.datetime, int] | None = None, limit: int = QUEUE_PAGE
) -> list[Ticket]:
    """A unit's open tickets by due time (keyset pagination on (due_at, id)): index tkt_open_queue."""
    qs = visible_tickets(user).filter(handler_unit_id=unit_id, is_open=True)
    if after is not None:
        due, pk = after
        qs = qs.filter(Q(due_at__gt=due) | Q(due_at=due, id__gt=pk))
    return list(qs.select_related(*LIST_RELATED).order_by("due_at", "id")[:limit])


def my_open_tickets(user: Any, *, limit: int = QUEUE_PAGE) -> list[Ticket]:
    """Open tickets the user handles or first responded to, by due time."""
    qs = visible_tickets(user).filter(Q(handler_user=user) | Q(first_responder=user), is_open=True)
    return list(qs.select_related(*LIST_RELATED).order_by("due_at", "id")[:limit])


def due_within(user: Any, minutes: int, *, now: dt.datetime | None = None) -> QuerySet[Ticket]:
    """Open tickets whose running clock falls due in the next `minutes` (index tkt_due_running)."""
    now = now or timezone.now()
    return visible_tickets(user).filter(
        is_open=True, sla_paused=False, due_at__gte=now, due_at__lt=now + dt.timedelta(minutes=minutes)
    )


def overdue(user: Any, *, now: dt.datetime | None = None) -> QuerySet[Ticket]:
    now = now or timezone.now()
    return visible_tickets(user).filter(is_open=True, sla_paused=False, due_at__lt=now)


def ticket_for_user(user: Any, pk: int) -> Ticket | None:
    return visible_tickets(user).select_related(*LIST_RELATED, "sla_policy", "category_root").filter(pk=pk).first()


def timeline(ticket: Ticket, *, customer_view: bool = False) -> QuerySet[TicketEvent]:
    events = ticket.events.select_related("actor", "actor_unit", "to_unit", "to_user").order_by("seq")
    if customer_view:
        events = events.filter(visibility="customer")
    return events


def customer_history(user: Any, customer_id: int, *, limit: int = 200) -> list[Ticket]:
    """A customer's tickets the user may see, newest first (the customer 360)."""
    qs = visible_tickets(user).filter(customer_id=customer_id).select_related("category", "handler_unit")
    return list(qs.order_by("-created_at", "-id")[:limit])


def category_subtree(category: Category) -> QuerySet[Ticket]:
    return Ticket.objects.filter(category__path__startswith=category.path)
