"""Supervisor pages of customer messaging: the SMS templates (edit with a live preview) and the spam-report intake.

Templates: a stored MessageTemplate replaces the built-in text of its kind (loopdesk/notify/defaults.py);
saving checks the text with `loopdesk.notify.models.check_template` (every `{variable}` must be one the message
offers), refuses to overwrite a change someone else saved meanwhile, and is audited (`notify.template_update`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.services import record_audit
from loopdesk.core.text import mask_msisdn, one_char_line_breaks
from loopdesk.followup.models import FollowupPolicy
from loopdesk.notify.defaults import DEFAULT_TEXTS
from loopdesk.notify.models import MAX_SMS_TEXT, TEMPLATE_VARIABLES, MessageKind, MessageTemplate, check_template
from loopdesk.notify.services import fill, local_date_text, may_edit_templates
from loopdesk.surveys.models import SpamNumber
from loopdesk.surveys.selectors import SPAM_PAGE_SIZE, spam_page
from loopdesk.surveys.services import survey_link
from loopdesk.tickets import policy
from loopdesk.workbench.common import RoleFlags, staff_required
from loopdesk.workbench.forms import TextField

# What each variable means, shown next to the editor (the names themselves are fixed by the notify app).
VARIABLE_HELP: dict[str, Any] = {
    "number": _("work order number"),
    "committed_date": _("date committed to the customer"),
    "handler_unit": _("handling unit"),
    "hotline": _("service hotline"),
    "survey_instructions": _("how to answer the survey"),
    "survey_link": _("one-time survey link"),
    "valid_hours": _("hours the survey stays valid"),
    "unit": _("hall or team that served the customer"),
    "score_label": _("the rating the customer gave"),
    "reported_number": _("the number reported as spam"),
}
SMS_SEGMENT = 70  # characters of one Chinese (UCS-2) SMS; longer texts go as 67-character parts
SMS_PART = 67


def _require_supervisor(user: Any) -> None:
    if not RoleFlags(user).supervisor:
        raise PermissionDenied(_("SMS templates are kept by service supervisors."))


def _require_template_editor(user: Any) -> None:
    """The templates serve every region: a city's supervisor reads and previews them, never changes them."""
    if not may_edit_templates(user):
        raise PermissionDenied(_("The SMS templates are sent in every city: only the province's or the group's "
                                 "supervisors and the administrators may change or switch them off. You may read "
                                 "and preview them."))


def sample_context(now: dt.datetime) -> dict[str, Any]:
    """Sample values for the preview (the real ones come from the work order or survey when a message is sent)."""
    return {
        "number": "JM-20261102-000123",
        "committed_date": local_date_text(now + dt.timedelta(hours=48)),
        "handler_unit": "网络维护中心",
        "survey_link": survey_link("Xy3kP9"),
        "valid_hours": FollowupPolicy.current().survey_valid_hours,
        "unit": "新会渠道室",
        "score_label": "很满意",
        "reported_number": "10659000000",
    }


def sms_parts(text: str) -> int:
    if len(text) <= SMS_SEGMENT:
        return 1
    return -(-len(text) // SMS_PART)


class TemplateForm(forms.Form):
    text = TextField(label=_("Text"), max_length=MAX_SMS_TEXT, strip=False,
                           widget=forms.Textarea(attrs={"rows": 5}),
                           help_text=_("Write a variable as {name}; a brace itself as {{ or }}."))
    is_active = forms.BooleanField(label=_("Send this message"), required=False)
    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, kind: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.kind = kind

    def clean_text(self) -> str:
        text = self.cleaned_data["text"]
        for message in check_template(self.kind, text).get("text", []):
            raise forms.ValidationError(message)
        return text


def _stamp(template: MessageTemplate | None) -> str:
    return template.updated_at.isoformat() if template is not None else ""


def _rows() -> list[dict[str, Any]]:
    stored = {t.kind: t for t in MessageTemplate.objects.select_related("updated_by")}
    rows = []
    for kind, label in MessageKind.choices:
        template = stored.get(kind)
        rows.append({"kind": kind, "label": label, "template": template,
                     "text": template.text if template else DEFAULT_TEXTS[kind],
                     "active": template.is_active if template else True,
                     "variables": sorted(TEMPLATE_VARIABLES[kind])})
    return rows


@staff_required
def templates(request: HttpRequest) -> HttpResponse:
    _require_supervisor(request.user)
    return render(request, "workbench/followup/templates.html", {
        "nav": "policies", "rows": _rows(), "can_edit": may_edit_templates(request.user)})


def _kind(kind: str) -> str:
    if kind not in MessageKind.values:
        raise Http404(_("No such message."))
    return kind


@staff_required
def edit_template(request: HttpRequest, kind: str) -> HttpResponse:
    _require_supervisor(request.user)
    kind = _kind(kind)
    can_edit = may_edit_templates(request.user)
    template = MessageTemplate.objects.filter(kind=kind).first()
    status = 200
    if request.method == "POST":
        _require_template_editor(request.user)
        form = TemplateForm(request.POST, kind=kind)
        if form.is_valid() and _save(request, form, kind):
            messages.success(request, _("Template “%(kind)s” saved.") % {"kind": MessageKind(kind).label})
            return redirect("workbench:sms_templates")
        template = MessageTemplate.objects.filter(kind=kind).first()
        status = 422
    else:
        form = TemplateForm(kind=kind, initial={
            "text": template.text if template else DEFAULT_TEXTS[kind],
            "is_active": template.is_active if template else True, "seen": _stamp(template)})
        if not can_edit:  # read-only: the text can still be tried in the preview, not saved
            form.fields["is_active"].disabled = True
    text = form.data.get("text") if form.is_bound else form.initial["text"]
    return render(request, "workbench/followup/template_edit.html", {
        "nav": "policies", "kind": kind, "label": MessageKind(kind).label, "form": form, "template": template,
        "default_text": DEFAULT_TEXTS[kind], "variables": _variables(kind),
        "preview": _preview(kind, text or ""), "can_edit": can_edit,
    }, status=status)


def _save(request: Any, form: TemplateForm, kind: str) -> bool:
    """Store the template unless someone saved it after this user opened it; audit what changed."""
    data = form.cleaned_data
    with transaction.atomic():
        current = MessageTemplate.objects.select_for_update().filter(kind=kind).first()
        if _stamp(current) != (data.get("seen") or ""):
            form.add_error(None, _("Someone else saved this template while you were editing it. Their text is in "
                                   "the list of templates; copy your change, reload and apply it again."))
            return False
        before = {"text": current.text, "is_active": current.is_active} if current else None
        if current is None:
            current = MessageTemplate(kind=kind)
        current.text, current.is_active, current.updated_by = data["text"], data["is_active"], request.user
        current.save()
        record_audit(request.user, "notify.template_update", current, data={
            "kind": kind, "before": before, "after": {"text": current.text, "is_active": current.is_active}})
    return True


def _variables(kind: str) -> list[tuple[str, Any]]:
    return [(name, VARIABLE_HELP.get(name, "")) for name in sorted(TEMPLATE_VARIABLES[kind])]


def _preview(kind: str, text: str) -> dict[str, Any]:
    text = one_char_line_breaks(text)  # as the saved text: a line break is one character of the SMS
    errors = check_template(kind, text).get("text", [])
    if errors:
        return {"errors": errors}
    rendered = fill(text, sample_context(timezone.now()))
    return {"text": rendered, "length": len(rendered), "parts": sms_parts(rendered)}


@staff_required
def preview_template(request: HttpRequest, kind: str) -> HttpResponse:
    """htmx: the text as a customer would read it, filled with sample values (or why it cannot be sent)."""
    _require_supervisor(request.user)
    kind = _kind(kind)
    preview = _preview(kind, request.POST.get("text", "") if request.method == "POST" else request.GET.get("text", ""))
    return render(request, "workbench/followup/template_preview.html", {"preview": preview},
                  status=422 if preview.get("errors") else 200)


# --- spam reports (the spam platform's intake) --------------------------------------------------------------


def _require_spam_reader(user: Any) -> RoleFlags:
    flags = RoleFlags(user)
    if not (flags.supervisor or flags.auditor):
        raise PermissionDenied(_("Spam reports are read by service supervisors."))
    return flags


@staff_required
def spam_reports(request: HttpRequest) -> HttpResponse:
    flags = _require_spam_reader(request.user)
    after = request.GET.get("after", "")
    rows, next_cursor = spam_page(after=after, size=SPAM_PAGE_SIZE)
    for row in rows:
        row.masked_reporter = mask_msisdn(row.sample_reporter or "")
    return render(request, "workbench/followup/spam.html", {
        "nav": "spam", "rows": rows, "next_cursor": next_cursor, "first_page": bool(after),
        "can_reveal": flags.can_reveal,
    })


@staff_required
def reveal_reporter(request: HttpRequest, pk: int) -> HttpResponse:
    """The full number of the latest reporter of a spam number: for roles that may reveal, always audited."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    _require_spam_reader(request.user)
    if not policy.can_reveal(request.user):
        raise PermissionDenied(_("You may not see customers' full phone numbers and names."))
    spam = SpamNumber.objects.filter(pk=pk).first()
    if spam is None:
        raise Http404(_("Reported number not found."))
    report = spam.reports.order_by("-created_at", "-id").only("reporter").first()
    reporter = report.reporter if report else ""
    record_audit(request.user, "spam.reveal_reporter", spam, data={"reporter": mask_msisdn(reporter)})
    return HttpResponse(format_html('<span class="revealed">{}</span>', reporter))
