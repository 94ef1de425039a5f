"""The ticket page: status, SLA clocks, customer (masked unless revealed), timeline, and the actions
this user may take now, as dialogs that call the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from loopdesk.core.errors import DomainError, ValidationFailed
from loopdesk.customers.services import do_reveal_customer
from loopdesk.followup.selectors import open_callback_for
from loopdesk.followup.services import escalation_notes
from loopdesk.tickets import policy, services
from loopdesk.tickets.choices import Action, CallbackVerdict, EventKind, LinkKind, RejectReason, Visibility
from loopdesk.tickets.models import MISSING_FILE, Attachment, Ticket, TicketLink
from loopdesk.tickets.services import MAX_NOTE
from loopdesk.workbench.actions import DANGEROUS, PRIMARY, RELOAD, ActionForm, posted_version, stale_message
from loopdesk.workbench.common import numbered_ticket, raise_for_domain_error, staff_required, typed_number
from loopdesk.workbench.forms import TextField
from loopdesk.workbench.sla import badge, due_badge
from loopdesk.workbench.views.dialogs import done, run_service, status_for

DETAIL_RELATED = ("category", "category_root", "customer", "customer__account_manager", "handler_unit",
                  "handler_user", "first_responder", "first_responder_unit", "sla_policy", "branch")


INVERSE_LINK_LABELS = {
    LinkKind.PARENT: _("Child of"),
    LinkKind.DUPLICATE: _("Duplicated by"),
    LinkKind.RELATED: _("Related to"),
    LinkKind.REPEAT: _("Repeated by"),
}
# The other work order's number a timeline entry names (a link, a repeat complaint, a rejection as a duplicate).
NUMBERS_IN_EVENTS = ("other", "repeat_of", "duplicate_of")
HIDDEN_TICKET = _("a work order you may not see")


def get_ticket(user: Any, pk: int) -> Ticket:
    """The ticket if this user may see it; 404 otherwise (no hint that it exists)."""
    ticket = policy.visible_tickets(user).select_related(*DETAIL_RELATED).filter(pk=pk).first()
    if ticket is None:
        raise Http404(_("Work order not found."))
    return ticket


def may_write(user: Any, ticket: Ticket) -> bool:
    """Notes, attachments and links: anyone who sees the ticket, except a read-only auditor."""
    return bool(user.role_codes - {"auditor"}) or policy.is_admin(user)


def _moment(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def may_change_committed_time(user: Any, ticket: Ticket, *, now: bool = True) -> bool:
    """Who may change the resolution time promised to the customer (as `services.do_set_committed_time` decides):
    the first responder's side, a supervisor of the region or an administrator; with `now` (the form is offered),
    only while the work order is open and the customer not yet answered (the service refuses it then, under the
    field)."""
    if policy.is_read_only(user) or (now and (not ticket.is_open or ticket.status in services.ANSWERED_STATUSES)):
        return False
    return bool(policy.is_first_responder_side(user, ticket) or policy.is_region_supervisor(user, ticket)
                or policy.is_admin(user))


class CommitTimeForm(forms.Form):
    """A new committed resolution time, read in Asia/Shanghai (the site's time zone), and why (the customer is told)."""

    committed_at = forms.DateTimeField(label=_("New committed time"), input_formats=["%Y-%m-%dT%H:%M",
                                                                                    "%Y-%m-%d %H:%M"])
    reason = TextField(label=_("Why it changes (the customer sees it)"), max_length=MAX_NOTE)  # a text box
    version = forms.IntegerField(min_value=0, error_messages={"required": RELOAD, "invalid": RELOAD,
                                                              "min_value": RELOAD})


def ticket_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    user = request.user
    events = list(ticket.events.select_related("actor", "actor_unit", "from_unit", "to_unit", "to_user")
                  .order_by("seq"))
    links = list(TicketLink.objects.filter(from_ticket=ticket).select_related("to_ticket"))
    links_in = list(TicketLink.objects.filter(to_ticket=ticket).select_related("from_ticket"))
    # A linked work order the reader may not see (another region, a unit it was never dispatched to) is counted,
    # not named: its number and page are as much outside their scope as the work order itself.
    numbers = {str((e.data or {}).get(key) or "") for e in events for key in NUMBERS_IN_EVENTS}
    seen_ids, seen_numbers = policy.visible_among(
        user, ids=[link.to_ticket_id for link in links] + [link.from_ticket_id for link in links_in], numbers=numbers)
    hidden_links = sum(1 for link in links if link.to_ticket_id not in seen_ids) + sum(
        1 for link in links_in if link.from_ticket_id not in seen_ids)
    links = [link for link in links if link.to_ticket_id in seen_ids]
    links_in = [link for link in links_in if link.from_ticket_id in seen_ids]
    for link in links_in:  # seen from this side: "JM-1 is the parent of this one" reads "Child of JM-1"
        link.inverse_label = INVERSE_LINK_LABELS.get(link.kind, link.get_kind_display())
    for event in events:
        data = event.data or {}
        if any(data.get(key) and data[key] not in seen_numbers for key in NUMBERS_IN_EVENTS):
            event.data = {**data, **{key: str(HIDDEN_TICKET) for key in NUMBERS_IN_EVENTS
                                     if data.get(key) and data[key] not in seen_numbers}}  # shown, never saved
    actions = policy.allowed_actions(user, ticket)
    now = timezone.now()
    for event in events:  # the callback's verdict and a new committed time, readable in the timeline
        verdict = (event.data or {}).get("verdict")
        event.verdict_label = CallbackVerdict(verdict).label if verdict in CallbackVerdict.values else ""
        event.committed_to = _moment((event.data or {}).get("to")) if event.kind == EventKind.COMMIT_TIME else None
        reject = (event.data or {}).get("reason") if event.kind == EventKind.REJECT else None
        event.reject_label = RejectReason(reject).label if reject in RejectReason.values else ""
    escalation_notes(events)  # stored in the language they were made in: shown in the reader's
    services.system_notes(events)
    callback_task = open_callback_for(ticket)
    return {
        "callback_task": callback_task,
        # Whoever may record it (the first responder, the unit's front line: the next shift, or when they left).
        "callback_ours": bool(callback_task and policy.is_first_responder_side(user, ticket)),
        "callback_badge": due_badge(callback_task.due_at, now) if callback_task else None,
        "ticket": ticket,
        "badge": badge(ticket, now),
        "now": now,
        "path": ticket.category.ancestors(),
        "events": events,
        "attachments": list(ticket.attachments.select_related("uploaded_by").order_by("created_at")),
        "links_out": links,
        "links_in": links_in,
        "hidden_links": hidden_links,
        "actions": [(a, Action(a).label, "danger" if a in DANGEROUS else "primary" if a in PRIMARY else "")
                    for a in actions],
        "can_reveal": policy.can_reveal(user),
        "can_commit": may_change_committed_time(user, ticket),
        "can_write": may_write(user, ticket),
        "visibility_choices": Visibility.choices,
        # What the note, attachment and link forms show as chosen (a refused form shows the user's choice again).
        "note_visibility": Visibility.INTERNAL, "file_visibility": Visibility.INTERNAL, "link_kind": LinkKind.RELATED,
        "link_kinds": [(LinkKind.RELATED, LinkKind.RELATED.label), (LinkKind.PARENT, LinkKind.PARENT.label),
                       (LinkKind.DUPLICATE, LinkKind.DUPLICATE.label)],
    }


@staff_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_ticket(request.user, pk)
    return render(request, "workbench/ticket.html", ticket_context(request, ticket))


@staff_required
def ticket_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """GET: the action's form (a dialog for htmx, a page otherwise). POST: run it through the service."""
    ticket = get_ticket(request.user, pk)
    if action not in Action.values or action == Action.CREATE:
        raise Http404(_("No such action."))
    if action not in policy.allowed_actions(request.user, ticket):
        seen = posted_version(request.POST) if request.method == "POST" else None
        if seen is not None and seen != ticket.version and policy.could_take(request.user, action, ticket):
            # A form opened before someone else moved the ticket on: say so (reload), not "you may not". Only to
            # one who could take the action at all: the others get the 403 whatever version they send.
            form = ActionForm(request.POST, action=action, ticket=ticket, user=request.user)
            form.is_valid()
            form.errors.clear()  # only the conflict: the fields' own errors would not help before a reload
            form.add_error(None, stale_message(ticket, seen))
            context = {"ticket": ticket, "form": form, "action": action, "action_label": Action(action).label,
                       "dangerous": action in DANGEROUS}
            template = "workbench/partials/action_form.html" if request.htmx else "workbench/action_page.html"
            return render(request, template, context, status=409)
        raise PermissionDenied(_("You may not “%(action)s” this work order now.") % {"action": Action(action).label})
    if action == Action.CALLBACK:
        task = open_callback_for(ticket)
        if task is not None:  # the callback task's form applies the dissatisfied-customer policy
            from loopdesk.workbench.views.followup import record_callback

            return record_callback(request, task.pk)
    status = 200
    if request.method == "POST":
        form = ActionForm(request.POST, action=action, ticket=ticket, user=request.user)
        if form.is_valid():
            ok, _result = run_service(form, form.run)
            if ok:
                return done(request, _("%(action)s: done.") % {"action": Action(action).label},
                            reverse("workbench:ticket", args=[ticket.pk]))
        status = status_for(form)
        if status == 409:  # changed meanwhile: say so with the versions and "reload"; the typed text stays shown
            ticket.refresh_from_db(fields=["version"])
            form.errors.pop(NON_FIELD_ERRORS, None)
            form.add_error(None, stale_message(ticket, form.cleaned_data["version"]))
    else:
        form = ActionForm(action=action, ticket=ticket, user=request.user)
    context = {"ticket": ticket, "form": form, "action": action, "action_label": Action(action).label,
               "dangerous": action in DANGEROUS}
    template = "workbench/partials/action_form.html" if request.htmx else "workbench/action_page.html"
    return render(request, template, context, status=status)


@staff_required
@require_POST
def add_note(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_ticket(request.user, pk)
    try:
        services.do_add_note(acting_user=request.user, ticket=ticket, text=request.POST.get("text", ""),
                             visibility=request.POST.get("visibility", Visibility.INTERNAL))
    except ValidationFailed as exc:
        context = ticket_context(request, ticket)
        context.update(note_errors=exc.errors, note_text=request.POST.get("text", ""),
                       note_visibility=request.POST.get("visibility", Visibility.INTERNAL))
        return render(request, "workbench/ticket.html", context, status=422)
    except DomainError as exc:
        raise_for_domain_error(exc)
        raise
    messages.success(request, _("Note added."))
    return redirect("workbench:ticket", pk=ticket.pk)


@staff_required
@require_POST
def add_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_ticket(request.user, pk)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationFailed(field="file", message=_("Choose a file."))
        services.do_add_attachment(acting_user=request.user, ticket=ticket, upload=upload,
                                   visibility=request.POST.get("visibility", Visibility.INTERNAL))
    except ValidationFailed as exc:
        context = ticket_context(request, ticket)
        context.update(file_errors=exc.errors, file_visibility=request.POST.get("visibility", Visibility.INTERNAL))
        return render(request, "workbench/ticket.html", context, status=422)
    except DomainError as exc:
        raise_for_domain_error(exc)
        raise
    messages.success(request, _("File attached."))
    return redirect("workbench:ticket", pk=ticket.pk)


@staff_required
def download_attachment(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    ticket = get_ticket(request.user, pk)
    attachment = Attachment.objects.filter(pk=attachment_id, ticket=ticket).first()
    if attachment is None:
        raise Http404(_("File not found."))
    content = attachment.open_for_download()
    if content is None:
        return render(request, "404.html", {"message": MISSING_FILE % {"name": attachment.filename}}, status=404)
    return FileResponse(content, as_attachment=True, filename=attachment.filename)


@staff_required
@require_POST
def change_committed_time(request: HttpRequest, pk: int) -> HttpResponse:
    """The ticket page's "change committed time" form: `do_set_committed_time`; a refusal re-shows the page with the
    errors under the fields and what was typed (422, or 409 when the work order changed meanwhile)."""
    ticket = get_ticket(request.user, pk)
    if not may_change_committed_time(request.user, ticket, now=False):  # the state is the service's field error
        raise PermissionDenied(_("Only the first responder or a supervisor may change the committed time."))
    form = CommitTimeForm(request.POST)
    errors: dict[str, list[str]] = {}
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.do_set_committed_time(acting_user=request.user, ticket=ticket, committed_at=data["committed_at"],
                                           reason=data["reason"], expected_version=data["version"])
        except ValidationFailed as exc:
            errors = exc.errors
        except DomainError as exc:
            raise_for_domain_error(exc)
            errors, status = {"general": [str(exc.message)]}, exc.status
        else:
            messages.success(request, _("Committed time changed; the customer is told."))
            return redirect("workbench:ticket", pk=ticket.pk)
    else:
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
    for field in [f for f in errors if f not in ("committed_at", "reason", "general")]:  # version, or the form's own
        errors.setdefault("general", []).extend(errors.pop(field))
    context = ticket_context(request, ticket)
    context.update(commit_errors=errors, commit_at=request.POST.get("committed_at", ""),
                   commit_reason=request.POST.get("reason", ""))
    return render(request, "workbench/ticket.html", context, status=status)


@staff_required
@require_POST
def add_link(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_ticket(request.user, pk)
    number = typed_number(request.POST.get("other"))
    try:
        if not number:
            raise ValidationFailed(field="other", message=_("No work order you may see has this number."))
        other = numbered_ticket(request.user, number, field="other")
        services.do_link_tickets(acting_user=request.user, ticket=ticket, other=other,
                                 kind=request.POST.get("kind", ""))
    except ValidationFailed as exc:
        context = ticket_context(request, ticket)
        context.update(link_errors=exc.errors, link_other=number, link_kind=request.POST.get("kind", ""))
        return render(request, "workbench/ticket.html", context, status=422)
    except DomainError as exc:
        raise_for_domain_error(exc)
        raise
    messages.success(request, _("Linked."))
    return redirect("workbench:ticket", pk=ticket.pk)


@staff_required
@require_POST
def reveal_customer(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the full number and name (audited). htmx swaps the masked text for the revealed one."""
    ticket = get_ticket(request.user, pk)
    try:
        revealed = do_reveal_customer(acting_user=request.user, customer=ticket.customer,
                                      reason=str(_("Work order %(number)s") % {"number": ticket.number}))
    except DomainError as exc:
        raise_for_domain_error(exc)
        raise
    return render(request, "workbench/partials/revealed.html", {"revealed": revealed})
