"""The customer 360 of the screen-pop: profile, every contact, open tickets, last satisfaction, repeats."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils import timezone

from loopdesk.customers.models import Customer
from loopdesk.surveys.models import Score, Survey, SurveyStatus
from loopdesk.tickets.choices import CallbackVerdict, ContactType, EventKind, Status
from loopdesk.tickets.models import Category, Ticket, TicketEvent
from loopdesk.tickets.policy import visible_tickets
from loopdesk.tickets.services import REPEAT_WINDOW

HISTORY_LIMIT = 200
# Contacts rendered in the screen-pop at first; "show all" renders the rest (up to HISTORY_LIMIT). Rendering a
# row costs ~1 ms of template work, so 200 rows would make the screen-pop wait for history nobody reads first.
HISTORY_SHOWN = 20


@dataclass(frozen=True)
class Satisfaction:
    """The customer's latest word on our service: a callback verdict or an answered survey, whichever is newer."""

    label: str  # "Satisfied" / "Very satisfied (非常满意)" ...
    at: dt.datetime
    source: str  # "callback" or "survey"
    number: str = ""  # the work order it was about (empty for a window-service survey)


@dataclass
class Customer360:
    customer: Customer | None
    history: list[Ticket] = field(default_factory=list)
    open_tickets: list[Ticket] = field(default_factory=list)
    last_satisfaction: Satisfaction | None = None
    repeats: list[tuple[Any, int]] = field(default_factory=list)  # (top category, complaints in 30 days)
    more: bool = False

    def shown(self, show_all: bool = False) -> list[Ticket]:
        """The contacts to render now: the latest HISTORY_SHOWN, or all that were loaded."""
        return self.history if show_all else self.history[:HISTORY_SHOWN]

    def open_shown(self, show_all: bool = False) -> list[Ticket]:
        """The open work orders to render now (a customer with dozens open is rare, but must stay fast)."""
        return self.open_tickets if show_all else self.open_tickets[:HISTORY_SHOWN]


def last_satisfaction(customer: Customer, history: list[Ticket], user: Any = None) -> Satisfaction | None:
    """The newer of the last callback verdict (its timeline event) on a work order shown and the last answered
    survey of the number. Three indexed queries at most, whatever the history's length. A survey's work order is
    named only to a user who may see it (`visible_tickets`; not when `user` is None): the rating is the customer's
    word on our service, the number of a work order out of the user's reach is not theirs to see."""
    verdict = None
    with_verdict = {t.pk: t for t in history if t.callback_verdict}
    if with_verdict:
        event = (TicketEvent.objects.filter(ticket_id__in=list(with_verdict), kind=EventKind.CALLBACK)
                 .order_by("-created_at", "-id").only("ticket_id", "created_at", "data").first())
        if event is not None:
            code = (event.data or {}).get("verdict") or with_verdict[event.ticket_id].callback_verdict
            if code in CallbackVerdict.values:
                verdict = Satisfaction(str(CallbackVerdict(code).label), event.created_at, "callback",
                                       with_verdict[event.ticket_id].number)
    survey = (Survey.objects.filter(msisdn=customer.msisdn, status=SurveyStatus.ANSWERED, score__isnull=False)
              .select_related("ticket").only("score", "answered_at", "ticket__number")
              .order_by("-answered_at", "-id").first())
    scored = None
    if survey is not None and survey.answered_at is not None:
        number = ""
        if survey.ticket is not None and user is not None and (
                survey.ticket_id in {t.pk for t in history}
                or visible_tickets(user).filter(pk=survey.ticket_id).exists()):
            number = survey.ticket.number
        scored = Satisfaction(str(Score(survey.score).label), survey.answered_at, "survey", number)
    if verdict is None or (scored is not None and scored.at > verdict.at):
        return scored
    return verdict


def customer_360(user: Any, msisdn: str, *, now: dt.datetime | None = None) -> Customer360:
    """A few queries whatever the history's length: customer, its tickets (capped), the last satisfaction."""
    now = now or timezone.now()
    customer = Customer.objects.select_related("account_manager", "home_branch").filter(msisdn=msisdn).first()
    if customer is None:
        return Customer360(None)
    rows = list(
        visible_tickets(user)
        .filter(customer=customer)
        .select_related("category", "category_root", "handler_unit", "sla_policy")
        .order_by("-created_at", "-id")[: HISTORY_LIMIT + 1]
    )
    more = len(rows) > HISTORY_LIMIT
    history = rows[:HISTORY_LIMIT]
    return Customer360(
        customer=customer,
        history=history,
        open_tickets=[t for t in history if t.is_open],
        last_satisfaction=last_satisfaction(customer, history, user),
        repeats=recent_complaints(customer, now),
        more=more,
    )


def recent_complaints(customer: Customer, now: dt.datetime) -> list[tuple[Any, int]]:
    """(top category, complaints) of the last 30 days that make a new complaint a repeat: the rule of the service
    (`tickets.services._earlier_complaint`), whoever registered them (only the category and the count are shown)
    and not the rejected ones. One grouped query and one for the categories."""
    counts = (Ticket.objects.filter(customer=customer, created_at__gte=now - REPEAT_WINDOW,
                                    contact_type__in=(ContactType.COMPLAINT, ContactType.APPEAL))
              .exclude(status=Status.REJECTED).values("category_root").annotate(n=Count("id")).order_by())
    recent = Counter({row["category_root"]: row["n"] for row in counts})
    roots = Category.objects.in_bulk(list(recent)) if recent else {}
    return [(roots[root_id], n) for root_id, n in recent.most_common() if root_id in roots]
