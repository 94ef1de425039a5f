"""Supervisors edit the SMS templates (unknown variables are refused) and see what was sent to whom."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import AuditedAdminMixin
from loopdesk.notify.models import TEMPLATE_VARIABLES, CustomerMessage, MessageTemplate, SmsOptOut


@admin.register(MessageTemplate)
class MessageTemplateAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("kind", "text", "is_active", "updated_at", "updated_by")
    readonly_fields = ("variables", "updated_at", "updated_by")
    fields = ("kind", "text", "variables", "is_active", "updated_at", "updated_by")

    @admin.display(description=_("variables"))
    def variables(self, obj: MessageTemplate) -> str:
        names = sorted(TEMPLATE_VARIABLES.get(obj.kind, ())) if obj.kind else []
        return format_html_join(", ", "<code>{{{}}}</code>", ((n,) for n in names)) or "—"

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form: Any, change: bool) -> None:
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(SmsOptOut)
class SmsOptOutAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("msisdn", "source", "created_at")
    search_fields = ("msisdn",)


@admin.register(CustomerMessage)
class CustomerMessageAdmin(admin.ModelAdmin):
    list_display = ("kind", "ticket_id", "scheduled_for", "sender")
    list_filter = ("kind",)
    readonly_fields = [f.name for f in CustomerMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
