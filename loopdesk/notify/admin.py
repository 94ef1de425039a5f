"""Supervisors edit the SMS templates (unknown variables are refused) and see what was sent to whom."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import AuditedAdminMixin, may_reveal_customers
from loopdesk.core.text import hide_survey_tokens, mask_msisdn
from loopdesk.notify.models import TEMPLATE_VARIABLES, CustomerMessage, MessageTemplate, SmsOptOut
from loopdesk.notify.services import may_edit_templates
from loopdesk.outbox.admin import users_rows_q
from loopdesk.outbox.models import OutboxMessage
from loopdesk.tickets.policy import visible_tickets


@admin.register(MessageTemplate)
class MessageTemplateAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("kind", "text", "is_active", "updated_at", "updated_by")
    readonly_fields = ("variables", "updated_at", "updated_by")
    fields = ("kind", "text", "variables", "is_active", "updated_at", "updated_by")

    @admin.display(description=_("variables"))
    def variables(self, obj: MessageTemplate) -> str:
        names = sorted(TEMPLATE_VARIABLES.get(obj.kind, ())) if obj.kind else []
        return format_html_join(", ", "<code>{{{}}}</code>", ((n,) for n in names)) or "—"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A saved template is the text of its kind: changing the kind moved the text to another message and sent the
        # old one back to the built-in text, unseen. Add a template for another kind instead.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return ("kind", *readonly) if obj is not None else readonly

    # One set of templates serves every region: only users whose scope covers them all (`may_edit_templates`) add,
    # change or delete one, whatever model permissions a city's staff were given; they still view them (Django's view
    # permission: view or change).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and may_edit_templates(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and may_edit_templates(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and may_edit_templates(request.user)

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form: Any, change: bool) -> None:
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


class MaskedNumberMixin:
    """A customer's number (`msisdn`) in full only for staff who may reveal it (`tickets.reveal_customer`, as the
    customer admin); others (an auditor) see 138****5678 in the list and the form, and find a row by the exact
    number. A new row (an opt-out entered by hand) is typed in full."""

    @admin.display(description=_("mobile number"))
    def masked_number(self, obj: Any) -> str:
        return mask_msisdn(obj.msisdn)

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = list(super().get_list_display(request))  # type: ignore[misc]
        return shown if may_reveal_customers(request) else ["masked_number" if n == "msisdn" else n for n in shown]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))  # type: ignore[misc]
        if obj is None or may_reveal_customers(request):
            return fields
        return ["masked_number" if name == "msisdn" else name for name in fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if obj is None or may_reveal_customers(request):
            return readonly
        return [n for n in readonly if n != "msisdn"] + ["masked_number"]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not may_reveal_customers(request):
            return ("msisdn",)
        return super().get_exclude(request, obj)  # type: ignore[misc]


@admin.register(SmsOptOut)
class SmsOptOutAdmin(MaskedNumberMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("msisdn", "source", "created_at")
    search_fields = ("=msisdn",)  # the exact number: searching reveals nothing


@admin.register(CustomerMessage)
class CustomerMessageAdmin(MaskedNumberMixin, admin.ModelAdmin):
    list_display = ("msisdn", "kind", "ticket_id", "scheduled_for", "sender")
    list_filter = ("kind",)
    search_fields = ("=msisdn",)
    readonly_fields = [f.name for f in CustomerMessage._meta.fields if f.name != "text"] + ["shown_text"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The text as sent, except a survey link's token (the customer's credential to rate): never shown whole.
        return ["shown_text" if name == "text" else name for name in super().get_fields(request, obj)
                if name != "shown_text"]

    @admin.display(description=_("text"))
    def shown_text(self, obj: CustomerMessage) -> str:
        return hide_survey_tokens(obj.text)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerMessage]:
        """The messages of the work orders the user may see (texts name the work order and its unit), and those of
        no work order (window surveys, thanks for a rating, answers to the customer's SMS) by their outbox row's
        region, as the outbox admin (`users_rows_q`: the user's regions, or none); a city's auditor read every
        region's."""
        qs = super().get_queryset(request)
        rows_q = users_rows_q(request)
        if not rows_q:  # HQ and administrators
            return qs
        visible = visible_tickets(request.user)
        ticketless = OutboxMessage.objects.filter(rows_q, ticket_id__isnull=True).values("pk")
        # A message of no outbox row (none is queued so) has no region: as an outbox row of none.
        regional = Q(outbox_id__isnull=True) | Q(outbox_id__in=ticketless)
        return qs.filter(Q(ticket_id__isnull=True) & regional | Q(ticket_id__in=visible.values("pk")))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
