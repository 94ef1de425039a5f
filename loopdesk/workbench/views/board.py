"""Supervisor board: overtime and problem tickets by department and branch, ageing, one-click reassign.

Service supervisors see their company's board; a department head sees the board of the tickets now with their
department (its rooms included). Aggregates are grouped queries over open tickets only (a few per page, whatever
the table size)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loopdesk.followup.models import Escalation, EscalationReason
from loopdesk.followup.selectors import open_escalations_for
from loopdesk.followup.services import MAX_ESCALATION_NOTE, do_escalate_by_hand, escalates, may_escalate_by_hand
from loopdesk.org.models import OrgUnit
from loopdesk.tickets.choices import Action
from loopdesk.tickets.policy import allowed_actions, visible_tickets
from loopdesk.workbench.common import RoleFlags, staff_required
from loopdesk.workbench.forms import TextField
from loopdesk.workbench.queues import LIST_RELATED
from loopdesk.workbench.views.dialogs import form_dialog
from loopdesk.workbench.views.tickets import get_ticket

BOARD_ROWS = 50
AGE_BUCKETS = [
    ("lt1", _("Under 24 h"), 0, 24),
    ("d1", _("24–48 h"), 24, 48),
    ("d2", _("48–72 h"), 48, 72),
    ("d3", _("3–7 days"), 72, 168),
    ("old", _("Over 7 days"), 168, None),
]


def _late_counts(qs: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Overtime and problem counts by handling department and by branch (each ordered by problem, then overtime
    tickets, most first), from one grouped query over the open overtime / problem tickets (index tkt_open_late)."""
    cells = (
        qs.filter(Q(is_overtime=True) | Q(is_problem=True))
        .values("handler_unit", "branch")
        .annotate(overtime=Count("id", filter=Q(is_overtime=True, is_problem=False)),
                  problem=Count("id", filter=Q(is_problem=True)))
        .order_by()
    )
    by_unit: dict[str, dict[int | None, dict[str, Any]]] = {"handler_unit": {}, "branch": {}}
    for cell in cells:
        for field, rows in by_unit.items():
            row = rows.setdefault(cell[field], {"unit": cell[field], "overtime": 0, "problem": 0})
            row["overtime"] += cell["overtime"]
            row["problem"] += cell["problem"]
    units = OrgUnit.objects.in_bulk([pk for rows in by_unit.values() for pk in rows if pk])
    language = get_language()
    grouped = []
    for rows in by_unit.values():
        ordered = sorted(rows.values(), key=lambda r: (-r["problem"], -r["overtime"], r["unit"] or 0))
        top = max((r["overtime"] + r["problem"] for r in ordered), default=0) or 1
        for r in ordered:
            unit = units.get(r["unit"])
            r["name"] = unit.display_name(language) if unit else _("(none)")
            r["overtime_pct"] = round(100 * r["overtime"] / top)
            r["problem_pct"] = round(100 * r["problem"] / top)
        grouped.append(ordered)
    return grouped[0], grouped[1]


def board_context(user: Any, now: dt.datetime, department: OrgUnit | None = None) -> dict[str, Any]:
    """The board's figures over the open tickets `user` sees; with `department`, only those now with it."""
    open_qs = visible_tickets(user).filter(is_open=True)
    if department is not None:
        open_qs = open_qs.filter(handler_unit_id__in=OrgUnit.objects.filter(path__startswith=department.path)
                                 .values("id"))
    ageing_counts = {
        key: Count("id", filter=Q(created_at__lte=now - dt.timedelta(hours=low),
                                  **({"created_at__gt": now - dt.timedelta(hours=high)} if high else {})))
        for key, _label, low, high in AGE_BUCKETS
    }
    totals = open_qs.aggregate(
        open=Count("id"), overtime=Count("id", filter=Q(is_overtime=True, is_problem=False)),
        problem=Count("id", filter=Q(is_problem=True)),
        overdue=Count("id", filter=Q(sla_paused=False, due_at__lt=now)), **ageing_counts,
    )
    biggest = max((totals[key] for key, *_rest in AGE_BUCKETS), default=0) or 1
    ageing = [(label, totals[key], round(100 * totals[key] / biggest)) for key, label, *_rest in AGE_BUCKETS]
    late = list(open_qs.filter(Q(is_overtime=True) | Q(is_problem=True)).select_related(*LIST_RELATED)
                .order_by("-is_problem", "overtime_at", "id")[:BOARD_ROWS])
    # The row's buttons: only what this user may do now (no query per row: the relations are loaded), and whether
    # an escalation by hand is still open (one query for the whole list).
    escalated = set(Escalation.objects.filter(ticket_id__in=[t.pk for t in late], reason=EscalationReason.MANUAL,
                                              resolved_at=None).values_list("ticket_id", flat=True)) if late else set()
    for t in late:
        t.may_reassign = Action.TRANSFER in allowed_actions(user, t)
        t.escalated_by_hand = t.pk in escalated
        t.may_escalate = not t.escalated_by_hand and may_escalate_by_hand(user, t)
    by_department, by_branch = _late_counts(open_qs)
    return {
        "totals": totals,
        "ageing": ageing,
        "by_department": by_department,
        "by_branch": by_branch,
        "late": late,
        "now": now,
        "department": department,
    }


@staff_required
def board(request: HttpRequest) -> HttpResponse:
    flags = RoleFlags(request.user)
    if flags.oversees:  # an auditor reads the whole board; its buttons are only what the user may do (none)
        department = None
    elif flags.head and request.user.unit is not None:
        department = request.user.unit  # a department head: their own department's board
    else:
        raise PermissionDenied(_("The board is for service supervisors, department heads and auditors."))
    context = board_context(request.user, timezone.now(), department)
    context["nav"] = "board"
    if not request.htmx and department is None:
        context["open_escalations"] = open_escalations_for(request.user).count()
    template = "workbench/partials/board_body.html" if request.htmx else "workbench/board.html"
    return render(request, template, context)


class EscalateForm(forms.Form):
    note = TextField(label=_("Why it is escalated"), max_length=MAX_ESCALATION_NOTE,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("The supervisors see it on their escalation list; it goes on the timeline "
                                       "and in the audit log."))


@staff_required
def escalate(request: HttpRequest, pk: int) -> HttpResponse:
    """The board's Escalate button: a dialog asking why, then `do_escalate_by_hand` (back to the board)."""
    ticket = get_ticket(request.user, pk)
    if not may_escalate_by_hand(request.user, ticket):
        if not escalates(request.user, ticket):
            raise PermissionDenied(_("Only service supervisors and department heads escalate work orders."))
        # Closed (or withdrawn) since the board was loaded: say so in the dialog, keeping the note typed.
        form = EscalateForm(request.POST if request.method == "POST" else None)
        form.add_error(None, _("Work order %(number)s is no longer open (it was closed meanwhile): only an open "
                               "work order can be escalated.") % {"number": ticket.number})
        template = "workbench/partials/escalate_form.html" if request.htmx else "workbench/escalate_page.html"
        return render(request, template, {"ticket": ticket, "nav": "board", "form": form}, status=409)

    def run(form: forms.Form) -> tuple[Any, str]:
        do_escalate_by_hand(acting_user=request.user, ticket=ticket, note=form.cleaned_data["note"])
        return (_("%(number)s escalated to the service supervisors.") % {"number": ticket.number},
                reverse("workbench:board"))

    return form_dialog(request, EscalateForm, run,
                       ("workbench/partials/escalate_form.html", "workbench/escalate_page.html"),
                       {"ticket": ticket, "nav": "board"})
