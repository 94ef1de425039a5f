"""Supervisors edit the follow-up policy and see escalations, callbacks and alerts (read only here: the workbench's
pages resolve, record and mark them through the services, with the timeline and the audit)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import AuditedAdminMixin, EveryRegionPolicyMixin, ReadOnlyAdminMixin, users_regions_q
from loopdesk.followup.models import CallbackTask, Escalation, FollowupPolicy, StaffAlert
from loopdesk.tickets.admin import VisibleTicketsMixin
from loopdesk.tickets.choices import ContactType
from loopdesk.tickets.policy import visible_tickets


def ticket_or_region_scoped(request: HttpRequest, qs: QuerySet[Any], *, region_prefix: str) -> QuerySet[Any]:
    """Rows of a work order the user may see (`policy.visible_tickets`), and rows of no work order in the user's
    regions (`region_prefix` names the row's region/province columns, as `audit.admin.in_users_regions`): a city's
    auditor read every region's alerts and surveys."""
    visible = visible_tickets(request.user)
    of_ticket = Q(ticket__isnull=False) if not visible.query.where else Q(ticket__in=visible.values("pk"))
    ticketless = Q(ticket__isnull=True) & users_regions_q(request, prefix=region_prefix, keep_unplaced=False)
    return qs.filter(of_ticket | ticketless)


class FollowupPolicyForm(forms.ModelForm):
    """The contact types that get progress updates ticked by their names in the user's language: the field asked a
    Chinese supervisor to type English codes ("complaint,appeal,fault"). Stored as before, comma separated."""

    progress_contact_types = forms.MultipleChoiceField(
        label=_("contact types with progress updates"), choices=ContactType.choices, required=False,
        widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = FollowupPolicy
        fields = ("progress_every_hours", "progress_contact_types", "quiet_start", "quiet_end", "daily_cap",
                  "survey_valid_hours", "callback_due_hours", "dissatisfied_action", "appeal_escalate_when_overtime")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.initial.get("progress_contact_types"), str):
            self.initial["progress_contact_types"] = sorted(self.instance.progress_types())

    def clean_progress_contact_types(self) -> str:
        chosen = set(self.cleaned_data.get("progress_contact_types") or ())
        return ",".join(value for value in ContactType.values if value in chosen)


@admin.register(FollowupPolicy)
class FollowupPolicyAdmin(EveryRegionPolicyMixin, AuditedAdminMixin, admin.ModelAdmin):
    """One policy for every region (quiet hours, the daily SMS cap, what a dissatisfied callback does): kept by those
    whose scope covers every region, whatever model permissions a city's staff were given."""

    form = FollowupPolicyForm
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
    list_display = ("user", "ticket", "kind", "shown", "created_at", "read_at")
    # The alert's page shows the message in the reader's language too, not the stored one (the addressee's).
    fields = ("user", "ticket", "kind", "occasion", "shown", "created_at", "read_at")
    readonly_fields = ("shown",)
    list_filter = ("kind",)
    raw_id_fields = ("user", "ticket")

    @admin.display(description=_("message"))
    def shown(self, obj: StaffAlert) -> str:
        """In the reader's language (`StaffAlert.texts`), else as stored."""
        return obj.shown_message()

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffAlert]:
        """The alerts of work orders the user may see; those of none: the addressee's unit in the user's regions."""
        return ticket_or_region_scoped(request, super().get_queryset(request), region_prefix="user__unit__")
