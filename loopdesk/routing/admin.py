"""Admin of routing rules: where tickets go when the dispatcher does not choose. Edited by supervisors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import AuditedAdminMixin
from loopdesk.org.choices import UnitFunction
from loopdesk.routing.models import RoutingRule

ROUTABLE_FUNCTIONS = frozenset({UnitFunction.SPECIALIST, UnitFunction.SECOND_LINE, UnitFunction.MANAGEMENT})


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = (
            "name",
            "position",
            "is_active",
            "region",
            "category",
            "contact_type",
            "tier",
            "channel",
            "branch",
            "target_unit",
        )

    def clean_target_unit(self) -> Any:
        unit = self.cleaned_data.get("target_unit")
        if unit is not None and unit.function not in ROUTABLE_FUNCTIONS:
            raise forms.ValidationError(
                _("Tickets are routed to specialist departments or second-line support, not to the front line.")
            )
        if unit is not None and not unit.is_active:
            raise forms.ValidationError(_("This unit is inactive."))
        return unit


@admin.register(RoutingRule)
class RoutingRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = (
        "position",
        "name",
        "is_active",
        "region",
        "category",
        "contact_type",
        "tier",
        "channel",
        "branch",
        "target_unit",
    )
    list_display_links = ("name",)
    list_filter = ("is_active", "region", "contact_type", "tier", "target_unit")
    search_fields = ("name", "category__name", "target_unit__name")
    list_select_related = ("category", "branch", "target_unit")
    autocomplete_fields = ("category", "branch", "target_unit")
    ordering = ("position", "id")
    fieldsets = (
        (None, {"fields": ("name", "position", "is_active")}),
        (
            _("Applies to (empty conditions match everything)"),
            {"fields": ("region", "category", "contact_type", "tier", "channel", "branch")},
        ),
        (_("Goes to"), {"fields": ("target_unit",)}),
    )
