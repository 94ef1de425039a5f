"""The SLA badge of a ticket as the workbench shows it: colour, label and the deadline to count down to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from loopdesk.tickets.models import Ticket

DEFAULT_WARN_MINUTES = 4 * 60


@dataclass(frozen=True)
class Badge:
    state: str  # css class: normal, at_risk, overdue, overtime, problem, paused, done
    label: str
    due: dt.datetime | None  # what the live countdown counts to (None: no countdown)


LABELS = {
    "normal": _("On time"),
    "at_risk": _("At risk"),
    "overdue": _("Overdue"),
    "overtime": _("Overtime"),
    "problem": _("Problem ticket"),
    "paused": _("Clock paused"),
    "done": _("Finished"),
}


def warn_minutes(ticket: Ticket) -> int:
    # Only use the policy when it was loaded with the ticket (select_related): never a query per row.
    cached = ticket._state.fields_cache.get("sla_policy")
    return cached.warn_before_minutes if cached is not None else DEFAULT_WARN_MINUTES


def badge(ticket: Ticket, now: dt.datetime) -> Badge:
    """problem > overtime > overdue > at risk > normal; paused and finished tickets have no countdown."""
    if not ticket.is_open:
        return Badge("done", str(LABELS["done"]), None)
    if ticket.is_problem:
        return Badge("problem", str(LABELS["problem"]), ticket.due_at if not ticket.sla_paused else None)
    if ticket.is_overtime:
        return Badge("overtime", str(LABELS["overtime"]), ticket.due_at if not ticket.sla_paused else None)
    if ticket.sla_paused:
        return Badge("paused", str(LABELS["paused"]), None)
    if ticket.due_at < now:
        return Badge("overdue", str(LABELS["overdue"]), ticket.due_at)
    if ticket.due_at < now + dt.timedelta(minutes=warn_minutes(ticket)):
        return Badge("at_risk", str(LABELS["at_risk"]), ticket.due_at)
    return Badge("normal", str(LABELS["normal"]), ticket.due_at)


def due_badge(due: dt.datetime, now: dt.datetime) -> Badge:
    """The same badge for a plain deadline (e.g. a callback's): overdue, at risk within the warning time, on time."""
    if due < now:
        return Badge("overdue", str(LABELS["overdue"]), due)
    if due < now + dt.timedelta(minutes=DEFAULT_WARN_MINUTES):
        return Badge("at_risk", str(LABELS["at_risk"]), due)
    return Badge("normal", str(LABELS["normal"]), due)
