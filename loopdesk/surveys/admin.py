"""Surveys, inbound SMS and the spam platform's worklist in the admin (read-only records)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import may_reveal_customers, users_regions_q
from loopdesk.core.text import mask_msisdn
from loopdesk.customers.models import Customer
from loopdesk.followup.admin import ticket_or_region_scoped
from loopdesk.surveys.models import InboundSms, SpamNumber, SpamReport, Survey
from loopdesk.surveys.selectors import sms_delivery_label, with_sms_delivery


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MaskedCustomerNumberAdmin(ReadOnlyAdmin):
    """The customer's number (`number_field`) in full only for staff who may reveal it (`tickets.reveal_customer`, as
    the customer and SMS admins); others (an auditor) see 138****5678 in the form."""

    number_field = "msisdn"

    @admin.display(description=_("mobile number"))
    def masked_number(self, obj: Any) -> str:
        return mask_msisdn(getattr(obj, self.number_field) or "")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = [n for n in super().get_readonly_fields(request, obj) if n != self.number_field]
        return readonly if may_reveal_customers(request) else [*readonly, "masked_number"]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or ())
        return exclude if may_reveal_customers(request) else [*exclude, self.number_field]


@admin.register(Survey)
class SurveyAdmin(MaskedCustomerNumberAdmin):
    list_display = ("kind", "ticket", "unit", "status", "score", "sent_at", "sms_delivery", "answered_via_label")
    list_filter = ("kind", "status", "score")
    list_select_related = ("ticket", "unit")  # the page in one query, whatever its length
    # `sms_at` is when the SMS was to go out (after quiet hours or the daily limit), not that it did: the form shows
    # what the outbox says instead (`sms_delivery`).
    exclude = ("token_hash", "answered_via", "sms_at")
    readonly_fields = ("sms_delivery", "answered_via_label")

    @admin.display(description=_("survey SMS"))
    def sms_delivery(self, obj: Survey) -> str:
        """Delivered (when), waiting (until when), failed or given up, as the outbox says."""
        return sms_delivery_label(obj)

    @admin.display(description=_("answered via"), ordering="answered_via")
    def answered_via_label(self, obj: Survey) -> str:
        """How the customer answered, in the user's language (the stored code read "sms" / "web")."""
        labels = {"sms": _("SMS"), "web": _("one-time survey link")}
        return str(labels.get(obj.answered_via, obj.answered_via))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Survey]:
        """The surveys of work orders the user may see; window surveys (no work order): the rated unit's region."""
        return with_sms_delivery(
            ticket_or_region_scoped(request, super().get_queryset(request), region_prefix="unit__"))


@admin.register(InboundSms)
class InboundSmsAdmin(MaskedCustomerNumberAdmin):
    number_field = "sender"
    list_display = ("gateway_id", "recipient", "outcome", "received_at")
    list_filter = ("outcome",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundSms]:
        """An SMS answering a survey: as the survey (`SurveyAdmin`); any other (opt-out, spam report, help): the
        sender's customer region (a customer of no region: everyone's, as in the customers admin; a number of no
        customer: HQ and administrators only). A city's auditor read every region's replies."""
        qs = super().get_queryset(request)
        regions = users_regions_q(request, keep_unplaced=True)
        if not regions:  # HQ and administrators: all
            return qs
        surveys = ticket_or_region_scoped(request, Survey.objects.all(), region_prefix="unit__")
        customers = Customer.objects.filter(regions, msisdn=OuterRef("sender"))
        return qs.filter(Q(survey__in=surveys.values("pk")) | Q(Q(survey__isnull=True), Exists(customers)))


@admin.register(SpamNumber)
class SpamNumberAdmin(ReadOnlyAdmin):
    list_display = ("number", "report_count", "reporter_count", "first_reported_at", "last_reported_at")
    search_fields = ("number",)
    ordering = ("-report_count",)


@admin.register(SpamReport)
class SpamReportAdmin(MaskedCustomerNumberAdmin):
    number_field = "reporter"  # the customer who forwarded the spam
    list_display = ("spam_number", "created_at")
    raw_id_fields = ("spam_number", "inbound")
