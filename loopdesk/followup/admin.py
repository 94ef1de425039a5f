"""Supervisors edit the follow-up policy and see escalations, callbacks and alerts (read only here: the workbench's
pages resolve, record and mark them through the services, with the timeline and the audit)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from loopdesk.audit.admin import AuditedAdminMixin, ReadOnlyAdminMixin
from loopdesk.followup.models import CallbackTask, Escalation, FollowupPolicy, StaffAlert
from loopdesk.tickets.admin import VisibleTicketsMixin


@admin.register(FollowupPolicy)
class FollowupPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "progress_every_hours", "quiet_start", "quiet_end", "daily_cap", "dissatisfied_action",
                    "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not FollowupPolicy.objects.exists() and super().has_add_permission(request)


@admin.register(Escalation)
class EscalationAdmin(VisibleTicketsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ticket", "reason", "created_at", "resolved_at", "resolved_by")
    list_filter = ("reason",)
    raw_id_fields = ("ticket", "resolved_by")


@admin.register(CallbackTask)
class CallbackTaskAdmin(VisibleTicketsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ticket", "assignee", "due_at", "status", "verdict")
    list_filter = ("status",)
    raw_id_fields = ("ticket", "assignee")


@admin.register(StaffAlert)
class StaffAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "ticket", "kind", "message", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("user", "ticket")
