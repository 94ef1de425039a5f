"""Queues: my tickets, my unit's, to be dispatched, at risk and overdue. Filters, keyset pages, bulk dispatch."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from loopdesk.core.errors import ConflictError, DomainError
from loopdesk.org.choices import UnitFunction
from loopdesk.org.models import OrgUnit, User
from loopdesk.reports import exports
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets import services
from loopdesk.tickets.choices import Action, Status
from loopdesk.tickets.policy import allowed_actions, visible_tickets
from loopdesk.workbench.actions import RELOAD, posted_version, stale_message
from loopdesk.workbench.common import RoleFlags, posted_id, safe_next, staff_required
from loopdesk.workbench.forms import QueueFilterForm
from loopdesk.workbench.queues import (
    PAGE_SIZE,
    QUEUES,
    capped_count,
    count_label,
    decides_holds,
    page,
    queue_queryset,
)
from loopdesk.workbench.units import target_handler_groups, target_unit_choices, user_scope

BULK_LIMIT = 100


TABS_TARGET = "queue-tabs"  # the htmx request of the tabs' counts (sent once the page has loaded)
RESULTS_TARGET = "queue-results"  # the htmx refresh of the list when a filter changes
TOTAL_TARGET = "queue-total"  # the htmx request of a long list's count (sent once the list is shown)


@staff_required
def queue(request: HttpRequest, key: str) -> HttpResponse:
    if key not in QUEUES:
        raise Http404(_("No such queue."))
    now = timezone.now()
    bulk = may_bulk_dispatch(request.user)
    # The tabs: "to be dispatched" only for those who dispatch, "suspension requests" for those who decide them.
    offered = {"dispatch": bulk, "holds": decides_holds(request.user)}
    tabs = [q for q in QUEUES.values() if offered.get(q.key, True) or q.key == key]
    target = request.htmx.target if request.htmx else None
    if target == TABS_TARGET:
        # The tabs with their counts: asked for by the page once it has loaded, so that the list does not wait for
        # the other queues' counts (each an index walk of up to COUNT_CAP entries).
        counts = [(q, capped_count(queue_queryset(request.user, q.key, now=now))) for q in tabs]
        response = render(request, "workbench/partials/queue_tabs.html",
                          {"queue": QUEUES[key], "queues": counts, "counted": True})
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
    form = QueueFilterForm(request.GET or None, user=request.user)
    qs = queue_queryset(request.user, key, now=now)
    if form.is_bound and form.is_valid():
        qs = form.apply(qs)
        sort = form.cleaned_data.get("sort") or "due"
    else:
        sort = "due"
    export = request.GET.get("format")
    if export in EXPORT_FORMATS and not (form.is_bound and form.errors):
        # The whole list with these filters (every page, not only the first), as a download.
        return queue_download(qs, export, f"{key}-{now.astimezone(SHANGHAI):%Y%m%d-%H%M}", str(QUEUES[key].label))
    if target == TOTAL_TARGET:
        # The heading of a list longer than a page: its count (of every page, with the same filters).
        total = capped_count(qs)
        response = render(request, "workbench/partials/queue_total.html",
                          {"total": total, "total_more": count_label(total) != str(total)})
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
    after = request.GET.get("after", "")
    rows, next_cursor = page(qs, sort, after, size=PAGE_SIZE)
    # The whole list on its first page: its length is the count. A longer list is counted (up to COUNT_CAP) by a
    # request the heading sends once shown, so that the rows do not wait for the count.
    total = len(rows) if not next_cursor and not after else None
    partial = target == RESULTS_TARGET
    context: dict[str, Any] = {
        "nav": "queues",
        "queue": QUEUES[key],
        "queues": [(q, None) for q in tabs],
        "counted": False,
        "form": form,
        "rows": rows,
        "total": total,
        "more_than": f"{PAGE_SIZE}+",
        "next_cursor": next_cursor,
        "first_page": bool(after),
        "bulk": bulk,
        # The bulk form's choices are on the page only (not in a list refresh).
        "bulk_handlers": target_handler_groups(**user_scope(request.user)) if bulk and not partial else [],
        "bulk_units": target_unit_choices(blank=_("Where the routing rules send each"), **user_scope(request.user))
        if bulk and not partial else [],
    }
    template = "workbench/partials/queue_results.html" if partial else "workbench/queue.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


EXPORT_FORMATS = ("csv", "xlsx")


def queue_download(qs: Any, fmt: str, stem: str, sheet: str) -> HttpResponse:
    """A queue as CSV (UTF-8 with BOM, streamed) or XLSX: the columns of the reports' ticket lists, in the user's
    language, numbers masked, in order of registration."""
    language = translation.get_language()
    if fmt == "csv":
        response: HttpResponse = StreamingHttpResponse(exports.ticket_csv(qs, language),
                                                       content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
        return response
    # Times as date-time cells (Excel sorts and filters them as dates), as the reports' ticket lists have them.
    handle = exports.xlsx_file([(sheet, exports.ticket_header(), exports.ticket_rows(qs, language, typed=True))])
    return FileResponse(handle, as_attachment=True, filename=f"{stem}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def may_bulk_dispatch(user: Any) -> bool:
    """Who gets the bulk form: those who dispatch (front line, dispatchers, supervisors, administrators)."""
    flags = RoleFlags(user)
    return bool(flags.dispatcher or flags.supervisor or flags.front_line or flags.admin)


@staff_required
@require_POST
def bulk_dispatch(request: HttpRequest) -> HttpResponse:
    """Send the selected tickets to a unit: dispatch the registered/returned ones, transfer the others.

    Each ticket goes through its own service call: one that may not be moved is reported, the rest move.
    """
    if not may_bulk_dispatch(request.user):
        raise PermissionDenied(_("Your role does not dispatch work orders."))
    back = safe_next(request, "/queues/dispatch/")
    posted = [posted_id(x) for x in request.POST.getlist("ids")]
    ids = sorted({x for x in posted if x})[:BULK_LIMIT] if all(posted) else []
    if not ids:
        messages.error(request, _("Select at least one work order."))
        return redirect(back)
    unit = None
    if request.POST.get("to_unit"):
        unit_id = posted_id(request.POST["to_unit"])
        unit = OrgUnit.objects.filter(pk=unit_id, is_active=True).first() if unit_id else None
        if unit is None:
            messages.error(request, _("Choose a valid unit."))
            return redirect(back)
    person = None
    if request.POST.get("to_user"):
        user_id = posted_id(request.POST["to_user"])
        person = (User.objects.filter(pk=user_id, is_active=True).select_related("unit").first()
                  if user_id else None)
        if person is None or person.unit is None:
            messages.error(request, _("Choose a valid handler."))
            return redirect(back)
        if unit is None:
            unit = person.unit  # "assign to" alone: the handler's own unit
    note = (request.POST.get("note") or "").strip()
    selected = visible_tickets(request.user).filter(pk__in=ids)
    tickets = list(selected.select_related("handler_unit", "first_responder_unit", "category"))
    moved, failed = [], []
    for ticket in tickets:
        # The version the queue showed: a ticket someone changed since is reported, not overwritten.
        seen = posted_version({"version": request.POST.get(f"version_{ticket.pk}", "")})
        try:
            if seen is None:
                raise DomainError(RELOAD)
            if seen != ticket.version:
                raise ConflictError(stale_message(ticket, seen))
            actions = allowed_actions(request.user, ticket)
            if Action.DISPATCH in actions:
                services.do_dispatch_ticket(acting_user=request.user, ticket=ticket, to_unit=unit, to_user=person,
                                            note=note, expected_version=seen, not_back=True)
            elif Action.TRANSFER in actions and ticket.status in (Status.DISPATCHED, Status.IN_PROGRESS):
                if unit is None:
                    raise DomainError(_("Choose the unit to transfer it to."))
                with_second_line = ticket.handler_unit.function == UnitFunction.SECOND_LINE
                if not note and not with_second_line:  # taking it from a department: 转派 needs its reason
                    raise DomainError(_("It is with a department already: a transfer needs its reason in the note."))
                # From second-line support's own queue (routed there by default) it is the dispatch it waited for.
                services.do_transfer_ticket(acting_user=request.user, ticket=ticket, to_unit=unit, to_user=person,
                                            note=note, system_note="bulk_dispatch", expected_version=seen)
            else:
                raise DomainError(_("You may not dispatch it in its current state."))
            moved.append(ticket.number)
        except DomainError as exc:
            failed.append(f"{ticket.number}: {exc.message}")
    missing = len(ids) - len(tickets)
    if moved:
        messages.success(request, _("%(count)d work orders sent on: %(numbers)s") % {
            "count": len(moved), "numbers": ", ".join(moved)})
    for line in failed:
        messages.error(request, line)
    if missing:
        messages.error(request, _("%(count)d selected work orders were not found.") % {"count": missing})
    return redirect(back)
