"""Follow-up in the workbench: my callbacks (回访) and recording their outcome, the supervisors' escalations,
my staff alerts, and the window-service survey SMS from the desk.

The views are thin: the state changes are the follow-up and survey services (`do_record_callback`,
`do_resolve_escalation`, `do_create_window_survey`); the lists are the selectors of loopdesk/followup.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from loopdesk.core.errors import DomainError, ValidationFailed
from loopdesk.customers.services import clean_msisdn
from loopdesk.followup import selectors
from loopdesk.followup.models import CallbackTask, DissatisfiedAction, Escalation, FollowupPolicy
from loopdesk.followup.services import do_mark_alerts_read, do_record_callback, do_resolve_escalation
from loopdesk.surveys.selectors import find_window_survey, is_opted_out, window_survey_delivery
from loopdesk.surveys.services import do_create_window_survey
from loopdesk.tickets import policy
from loopdesk.tickets.choices import Action, CallbackVerdict, Status
from loopdesk.tickets.services import MAX_NOTE
from loopdesk.workbench.actions import RELOAD
from loopdesk.workbench.common import RoleFlags, posted_id, raise_for_domain_error, safe_next, staff_required
from loopdesk.workbench.forms import TextField
from loopdesk.workbench.sla import due_badge
from loopdesk.workbench.views.dialogs import done, form_dialog, run_service, status_for
from loopdesk.workbench.views.tickets import may_write

PAGE_SIZE = 50


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


# --- callbacks (回访) ---------------------------------------------------------------------------------------


def _require_first_responder_role(user: Any) -> None:
    if not policy.can_create(user):
        raise PermissionDenied(_("Callbacks are made by the front line that registered the contact."))


@staff_required
def callbacks(request: HttpRequest) -> HttpResponse:
    """My open callbacks, overdue first; each row says whether the customer must be answered first."""
    _require_first_responder_role(request.user)
    now = timezone.now()
    page = _page(request, selectors.my_open_callbacks(request.user).select_related(*selectors.TICKET_RELATED))
    rows = [(task, due_badge(task.due_at, now), task.ticket.status == Status.ANSWERED) for task in page]
    return render(request, "workbench/followup/callbacks.html", {
        "nav": "callbacks", "page": page, "rows": rows, "overdue": sum(1 for _t, b, _r in rows if b.state == "overdue"),
    })


class CallbackForm(forms.Form):
    verdict = forms.ChoiceField(label=_("Customer's verdict"), choices=CallbackVerdict.choices,
                                widget=forms.RadioSelect)
    note = TextField(label=_("Note"), required=False, max_length=MAX_NOTE,
                           widget=forms.Textarea(attrs={"rows": 4}),
                           help_text=_("What the customer said. Required when the customer is not satisfied."))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0,
                                 error_messages={"required": RELOAD, "invalid": RELOAD, "min_value": RELOAD})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("verdict") == CallbackVerdict.DISSATISFIED and not (data.get("note") or "").strip():
            self.add_error("note", _("Say why the customer is not satisfied: the department will read it."))
        return data


def _task_for(user: Any, task_id: int) -> CallbackTask:
    """The callback task if this user may see its ticket; 404 otherwise (no hint that it exists)."""
    task = (CallbackTask.objects.select_related("ticket", "ticket__handler_unit", "assignee")
            .filter(pk=task_id, ticket__in=policy.visible_tickets(user).values("pk")).first())
    if task is None:
        raise Http404(_("Callback not found."))
    return task


def _outcome_message(task: CallbackTask, verdict: str, ticket: Any) -> Any:
    if verdict == CallbackVerdict.SATISFIED:
        return _("Callback recorded: the customer is satisfied. You may close the work order.")
    if verdict == CallbackVerdict.UNREACHABLE:
        return _("Callback recorded: the customer could not be reached.")
    if ticket.status == Status.NEW:
        return _("Callback recorded: the customer is not satisfied, so the work order %(number)s is reopened and "
                 "back with you to dispatch again.") % {"number": ticket.number}
    if Escalation.objects.filter(occasion=f"cb:{task.pk}").exists():
        return _("Callback recorded: the customer is not satisfied, so the work order %(number)s is escalated to "
                 "the service supervisors.") % {"number": ticket.number}
    return _("Callback recorded: the customer is not satisfied.")


@staff_required
def record_callback(request: HttpRequest, task_id: int) -> HttpResponse:
    """GET: the outcome form (a dialog for htmx, a page otherwise). POST: `do_record_callback`."""
    task = _task_for(request.user, task_id)
    ticket = task.ticket
    if request.method == "POST" and not may_write(request.user, ticket):
        raise PermissionDenied(_("You may not record the callback of this work order."))  # a read-only auditor
    status = 200
    blocked = ""
    if task.status != "open":
        blocked = str(_("This callback was already recorded or cancelled."))
    elif Action.CALLBACK not in policy.allowed_actions(request.user, ticket):
        if ticket.status != Status.ANSWERED and policy.is_first_responder_side(request.user, ticket):
            blocked = str(_("Answer the customer first (the department's reply is in); then record the callback."))
        else:
            raise PermissionDenied(_("You may not record the callback of this work order."))
    if request.method == "POST" and not blocked:
        form = CallbackForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if data["version"] != ticket.version:
                form.add_error(None, _("The work order changed since you opened this form: reload the page and "
                                       "check before recording."))
                form.conflict = True  # type: ignore[attr-defined]
            else:
                ok, changed = run_service(form, lambda: do_record_callback(
                    acting_user=request.user, task=task, verdict=data["verdict"], note=data["note"],
                    expected_version=data["version"]))  # checked again under the lock
                if ok:
                    return done(request, _outcome_message(task, data["verdict"], changed),
                                reverse("workbench:ticket", args=[ticket.pk]))
        status = status_for(form)
    else:
        form = CallbackForm(initial={"version": ticket.version})
        if blocked and request.method == "POST":
            status = 409
    context = {"task": task, "ticket": ticket, "form": form, "blocked": blocked, "badge": due_badge(task.due_at,
                                                                                                   timezone.now()),
               "dissatisfied_action": DissatisfiedAction(FollowupPolicy.current().dissatisfied_action).label}
    template = "workbench/followup/callback_form.html" if request.htmx else "workbench/followup/callback_page.html"
    return render(request, template, context, status=status)


# --- escalations ------------------------------------------------------------------------------------------


def _require_supervisor(user: Any) -> None:
    if not RoleFlags(user).supervisor:
        raise PermissionDenied(_("Escalations are followed up by the service supervisors."))


@staff_required
def escalations(request: HttpRequest) -> HttpResponse:
    if not RoleFlags(request.user).oversees:  # auditors read the list; resolving stays with the supervisors
        _require_supervisor(request.user)
    now = timezone.now()
    qs = selectors.open_escalations_for(request.user).select_related(*selectors.TICKET_RELATED, "escalated_by")
    page = _page(request, qs)
    return render(request, "workbench/followup/escalations.html", {
        "nav": "escalations", "page": page, "rows": [(e, now - e.created_at) for e in page],
        "may_resolve": RoleFlags(request.user).supervisor,
    })


class ResolveForm(forms.Form):
    note = TextField(label=_("What was done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}),
                           help_text=_("Kept with the escalation and in the audit log."))


@staff_required
def resolve_escalation(request: HttpRequest, pk: int) -> HttpResponse:
    _require_supervisor(request.user)
    escalation = (Escalation.objects.select_related("ticket")
                  .filter(pk=pk, ticket__in=policy.visible_tickets(request.user).values("pk")).first())
    if escalation is None:
        raise Http404(_("Escalation not found."))

    def run(form: forms.Form) -> tuple[Any, str]:
        do_resolve_escalation(acting_user=request.user, escalation=escalation, note=form.cleaned_data["note"])
        return (_("Escalation of %(number)s resolved.") % {"number": escalation.ticket.number},
                reverse("workbench:escalations"))

    return form_dialog(request, ResolveForm, run,
                       ("workbench/followup/resolve_form.html", "workbench/followup/resolve_page.html"),
                       {"escalation": escalation})


# --- staff alerts -----------------------------------------------------------------------------------------


@staff_required
def alerts(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    page = _page(request, selectors.my_alerts(request.user, unread_only=unread_only))
    return render(request, "workbench/followup/alerts.html", {
        "nav": "alerts", "page": page, "unread_only": unread_only,
    })


def _mark_read(user: Any, ids: list[int] | None) -> int:
    """`do_mark_alerts_read`; someone else's alert is a 404 (no hint that it exists)."""
    try:
        return do_mark_alerts_read(acting_user=user, alert_ids=ids)
    except DomainError as exc:
        raise_for_domain_error(exc)
        raise


@staff_required
@require_POST
def alerts_read(request: HttpRequest) -> HttpResponse:
    """Mark one alert read (`id`) or all of them (`all`); then back to the list (or to the alert's ticket)."""
    if request.POST.get("all"):
        count = _mark_read(request.user, None)
        messages.success(request, _("%(count)d alerts marked read.") % {"count": count})
    else:
        alert_id = posted_id(request.POST.get("id", ""))
        if alert_id is None:
            messages.error(request, _("Choose an alert."))
        else:
            _mark_read(request.user, [alert_id])
    return redirect(safe_next(request, reverse("workbench:alerts")))


# --- window-service survey from the desk -------------------------------------------------------------------


def contact_reference(request: HttpRequest, user: Any, msisdn: str, now: dt.datetime) -> str:
    """The contact a window survey rates: the telephony's call id when the screen-pop passed one (`contact`),
    else this member of staff, this caller and this day (one survey per caller, staff member and day). A call id over
    64 characters is passed whole: the service refuses it (cut, two call ids with the same start were one contact)."""
    given = (request.POST.get("contact") or "").strip()
    if given:
        return given
    return f"desk:{user.pk}:{msisdn}:{timezone.localdate(now):%Y%m%d}"


@staff_required
@require_POST
def window_survey(request: HttpRequest) -> HttpResponse:
    """Send the satisfaction SMS for this contact from the survey port; say clearly what happened."""
    from loopdesk.workbench.views.desk import default_channel, desk_url

    flags = RoleFlags(request.user)
    if not (flags.front_line or flags.admin):
        raise PermissionDenied(_("Window-service surveys are sent by the front line after a contact."))
    now = timezone.now()
    level, text, status = "error", "", 200
    try:
        msisdn = clean_msisdn(request.POST.get("caller", ""), field="caller")
    except ValidationFailed as exc:
        msisdn, text, status = "", str(exc.message), 422
    if msisdn:
        ref = contact_reference(request, request.user, msisdn, now)
        channel = default_channel(request.user)
        existing = find_window_survey(f"window:{channel}:{ref}")
        if existing is not None:
            level, text = "warning", _already_sent_text(existing, now)
        elif is_opted_out(msisdn):
            text = str(_("Not sent: this customer has opted out of service SMS."))
        else:
            try:
                survey = do_create_window_survey(acting_user=request.user, msisdn=msisdn, channel=channel,
                                                 contact_ref=ref, now=now)
            except ValidationFailed as exc:
                text = " ".join(str(m) for errors in exc.errors.values() for m in errors)
                status = 422
            else:
                level, text = _delivery_text(survey, now)
    if request.htmx:
        return render(request, "workbench/followup/window_survey_result.html", {"level": level, "text": text},
                      status=status)
    getattr(messages, level)(request, text)
    return redirect(desk_url(msisdn) if msisdn else reverse("workbench:desk"))


def _local_when(at: dt.datetime, now: dt.datetime) -> str:
    """A time as the desk shows it: "14:05" today, "2026-11-21 14:05" on another day."""
    local = timezone.localtime(at)
    return local.strftime("%H:%M" if local.date() == timezone.localtime(now).date() else "%Y-%m-%d %H:%M")


def _already_sent_text(survey: Any, now: dt.datetime) -> str:
    """Why no second survey goes out: when this contact's was asked (with its date unless today), and, while its SMS
    waits (quiet hours, the daily limit), when it goes out."""
    delivery = window_survey_delivery(survey, now=now)
    if delivery.state == "undelivered":
        return str(_("Already asked for this contact at %(time)s, but its SMS has not reached the customer: the SMS "
                     "gateway failed (see the outbox).") % {"time": _local_when(survey.sent_at, now)})
    if delivery.state == "postponed" and delivery.send_at is not None:
        return str(_("Already asked for this contact at %(time)s; its SMS is still waiting and goes out at "
                     "%(send_at)s (quiet hours or daily limit): the customer is asked only once.") % {
            "time": _local_when(survey.sent_at, now), "send_at": _local_when(delivery.send_at, now)})
    return str(_("Already sent for this contact at %(time)s: the customer is asked only once.") % {
        "time": _local_when(survey.sent_at, now)})


def _delivery_text(survey: Any, now: dt.datetime) -> tuple[str, str]:
    delivery = window_survey_delivery(survey, now=now)
    if delivery.state == "queued":
        return "success", str(_("Satisfaction SMS queued: it goes out now."))
    if delivery.state == "postponed" and delivery.send_at is not None:
        return "success", str(_("Satisfaction SMS queued: it goes out at %(time)s (quiet hours or daily limit).") % {
            "time": timezone.localtime(delivery.send_at).strftime("%m-%d %H:%M")})
    if delivery.state == "opted_out":
        return "error", str(_("Not sent: this customer has opted out of service SMS."))
    if delivery.state == "switched_off":
        return "error", str(_("Not sent: the supervisors have switched the window-survey SMS off."))
    return "error", str(_("Not sent: this number has reached its daily SMS limit for the coming days."))
