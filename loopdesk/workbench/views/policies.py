"""Policy pages for supervisors: routing rules and SLA policies, with a live "where would it go" preview."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loopdesk.customers.choices import Tier
from loopdesk.org.choices import UnitLevel
from loopdesk.routing.models import RoutingRule
from loopdesk.sla.models import SlaPolicy
from loopdesk.tickets.choices import ContactType
from loopdesk.workbench.common import RoleFlags, staff_required
from loopdesk.workbench.forms import PolicyPreviewForm
from loopdesk.workbench.preview import preview, unit_parent_name


def _require_reader(request: HttpRequest) -> None:
    """Supervisors keep the policies; auditors read them (the page changes nothing: edits are in the admin)."""
    if not RoleFlags(request.user).oversees:
        raise PermissionDenied(_("Policies are kept by service supervisors."))


def home_region(user: Any) -> str:
    """The user's own city (region code) when they work in a city company or below; "" above (province, HQ)."""
    unit = user.unit
    if unit is None or unit.level not in (UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM):
        return ""
    return str(unit.region)


@staff_required
def policies(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    rules = list(RoutingRule.objects.select_related("category", "target_unit", "branch").order_by("position", "id"))
    slas = list(SlaPolicy.objects.select_related("category", "calendar").order_by("position", "id"))
    return render(request, "workbench/policies.html", {
        "nav": "policies", "rules": rules, "slas": slas,
        "form": PolicyPreviewForm(home_region=home_region(request.user)),
    })


@staff_required
def policy_preview(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    form = PolicyPreviewForm(request.GET, home_region=home_region(request.user))
    result = None
    branch = None
    labels: dict[str, str] = {}
    if form.is_valid():
        data = form.cleaned_data
        branch, region = data["branch_unit"], data["region"]
        result = preview(region=region, category=data["category"], contact_type=data["contact_type"],
                         tier=data["tier"], channel=data["channel"], priority=data["priority"],
                         branch_id=branch.pk if branch else None)
        labels = {"contact_type": str(ContactType(data["contact_type"]).label).lower(),
                  "tier": str(Tier(data["tier"]).label)}
    language = get_language()
    return render(request, "workbench/partials/policy_preview.html", {
        "form": form, "result": result, "branch": branch, "labels": labels,
        "parent": unit_parent_name(result.route.unit if result and result.route else None, language),
    }, status=200 if result or not form.is_bound else 422)
