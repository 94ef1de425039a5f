"""Admin of routing rules: where tickets go when the dispatcher does not choose. Edited by supervisors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import AuditedAdminMixin
from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.org.scope import may_keep_region, scope_regions
from loopdesk.routing.models import RoutingRule

CITY_LEVELS = frozenset({UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM})
ROUTABLE_FUNCTIONS = frozenset({UnitFunction.SPECIALIST, UnitFunction.SECOND_LINE, UnitFunction.MANAGEMENT})


class RoutingRuleForm(forms.ModelForm):
    editor: Any = None  # who saves (set by the admin): their scope decides the regions they may keep rules of

    class Meta:
        model = RoutingRule
        fields = (
            "name",
            "name_en",
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

    def clean_region(self) -> str:
        """A region code in any case and spacing ('jm' is JM: rules compare the ticket's code exactly, so a
        lower-case code never matched); a code no city carries is refused (such a rule would never match)."""
        region = (self.cleaned_data.get("region") or "").strip().upper()
        if region and not OrgUnit.objects.filter(region=region).exists():
            raise forms.ValidationError(_("No unit has region code %(region)s.") % {"region": region})
        if region and not OrgUnit.objects.filter(region=region, level__in=CITY_LEVELS).exists():
            # The group's (HQ) or a province's own code (GD): work orders carry their city's code, never these.
            raise forms.ValidationError(
                _("%(region)s is the code of the group or of a province, not of a city: work orders carry their "
                  "city's region code, so this rule would match none. Enter a city's region code, or leave it empty "
                  "for every region.") % {"region": region})
        if self.editor is not None and not may_keep_region(self.editor, region):
            regions = scope_regions(self.editor) or ()
            raise forms.ValidationError(
                _("You keep the routing rules of %(regions)s only: enter that region code. A rule of another region, "
                  "or of every region (empty), is kept by the province's or the group's supervisors.")
                % {"regions": ", ".join(sorted(r for r in regions if r)) or "—"})
        return region

    def clean_target_unit(self) -> Any:
        unit = self.cleaned_data.get("target_unit")
        if unit is not None and unit.function not in ROUTABLE_FUNCTIONS:
            raise forms.ValidationError(
                _("Tickets are routed to specialist departments or second-line support, not to the front line.")
            )
        if unit is not None and unit.is_city_management:
            raise forms.ValidationError(
                _("“%(unit)s” is a management unit: work orders go to specialist departments or second-line support.")
                % {"unit": unit.display_name(get_language())})
        if unit is not None and not unit.is_active:
            raise forms.ValidationError(_("This unit is inactive."))
        return unit

    def clean(self) -> dict[str, Any]:
        """A unit of a city takes that city's tickets only: the rule names the city's region (an empty region
        would send every other city's matching tickets to it); a branch condition is a branch of that region."""
        data = super().clean()
        unit, region, branch = data.get("target_unit"), (data.get("region") or "").strip(), data.get("branch")
        if unit is not None and unit.level in CITY_LEVELS and region != unit.region and "region" not in self.errors:
            self.add_error("region", _("“%(unit)s” is a unit of region %(region)s: enter %(region)s here, so that "
                                       "other regions' tickets do not go to it.")
                           % {"unit": unit.display_name(get_language()), "region": unit.region})
        if (unit is not None and unit.level == UnitLevel.PROVINCE and region and "region" not in self.errors
                and OrgUnit.objects.filter(region=region, level__in=CITY_LEVELS).exclude(province=unit.province)
                .exists()):  # routing passes over it for another province's tickets: the rule would never apply
            self.add_error("target_unit", _("“%(unit)s” is a unit of another province: it does not take the tickets "
                                            "of region %(region)s.")
                           % {"unit": unit.display_name(get_language()), "region": region})
        if branch is not None and region and branch.region != region:
            self.add_error("branch", _("This branch is in region %(branch)s, not %(region)s.") % {
                "branch": branch.region, "region": region})
        return data


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
        (None, {"fields": ("name", "name_en", "position", "is_active")}),
        (
            _("Applies to (empty conditions match everything)"),
            {"fields": ("region", "category", "contact_type", "tier", "channel", "branch")},
        ),
        (_("Goes to"), {"fields": ("target_unit",)}),
    )

    # A city's supervisors keep their city's rules: they list them and the rules of every region (read-only, they
    # route their tickets too), never another city's; a rule of every region or of another region is changed and
    # deleted only by those whose scope holds it (`org.scope.may_keep_region`), and a rule they add or change names
    # a region of theirs (the form's region check).
    def get_queryset(self, request: HttpRequest) -> QuerySet[RoutingRule]:
        qs = super().get_queryset(request)
        regions = scope_regions(request.user)
        return qs if regions is None else qs.filter(Q(region="") | Q(region__in=regions))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or may_keep_region(request.user,
                                                                                               obj.region))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or may_keep_region(request.user,
                                                                                               obj.region))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"editor": request.user})

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        regions = scope_regions(request.user)
        if regions is not None and len(regions) == 1 and "region" not in initial:
            initial["region"] = next(iter(regions))  # a city's new rule is its own
        return initial
