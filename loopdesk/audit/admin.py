"""Admin of the audit log (read-only), and the admin helpers every LoopDesk app shares: read-only and
audited model admins, the region filter, tree indentation. (They live here because the audit app has no
admin dependencies of its own, so every other app's admin can import them without a cycle.)"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.models import AuditLog
from loopdesk.audit.services import record_audit
from loopdesk.core.adminedit import STATE_FIELD, ConcurrentEditMixin
from loopdesk.core.tree import TreeNode
from loopdesk.org.choices import Role, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.org.scope import covers_every_region


def indented_name(node: TreeNode, name: str) -> SafeString:
    """The node's name indented by its depth, so a list ordered by path reads as a tree."""
    return format_html('<span style="padding-left:{}em">{}</span>', node.depth * 1.5, name)


class RegionListFilter(admin.SimpleListFilter):
    """Regions taken from the (small) unit table, not from a DISTINCT over a table of millions of rows."""

    title = _("region")
    parameter_name = "region"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        regions = OrgUnit.objects.order_by("region").values_list("region", flat=True).distinct()
        return [(region, region) for region in regions if region]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        if self.value():
            return queryset.filter(region=self.value())
        return queryset


class CappedCountPaginator(Paginator):
    """For tables of millions of rows: counts at most `CAP` rows (a LIMITed subquery), so a changelist
    never runs an unbounded COUNT(*). Pages past the cap are not offered; search by number instead."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, models.QuerySet):
            return queryset.values("pk")[: self.CAP].count()
        return len(queryset)


def users_regions_q(request: HttpRequest, *, prefix: str = "", keep_unplaced: bool) -> models.Q:
    """The condition of `in_users_regions` on the `region` and `province` columns at `prefix` (e.g. `"unit__"` for
    a row's unit): empty (everything) for HQ and administrators."""
    user = request.user
    unit = getattr(user, "unit", None)
    if user.is_superuser or user.has_role(Role.ADMINISTRATOR) or (unit is not None and unit.level == UnitLevel.HQ):
        return models.Q()
    unplaced = models.Q(**{f"{prefix}region": "", f"{prefix}province": ""}) if keep_unplaced else models.Q(pk__in=[])
    if unit is None:
        return unplaced
    if unit.level == UnitLevel.PROVINCE:
        return models.Q(**{f"{prefix}province": unit.province}) | unplaced
    return models.Q(**{f"{prefix}region": unit.region}) | unplaced


def in_users_regions(request: HttpRequest, qs: models.QuerySet[Any], *, keep_unplaced: bool) -> models.QuerySet[Any]:
    """The rows (with `region` and `province` columns) of the user's scope, as `policy.visible_tickets` scopes the
    wide roles: a city's staff their region's, a province's the province's, HQ and administrators all.
    `keep_unplaced`: rows of no region and province are everyone's."""
    return qs.filter(users_regions_q(request, keep_unplaced=keep_unplaced))


def may_reveal_customers(request: HttpRequest) -> bool:
    """Whether the admin shows customers' numbers and names in full to this user (`tickets.reveal_customer`);
    everyone else sees them masked (138****5678) wherever an admin lists them."""
    return request.user.has_perm("tickets.reveal_customer")


class ReadOnlyAdminMixin:
    """Rows written only by services: the admin may look, never add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EveryRegionPolicyMixin:
    """Business policy of no region (SLA policies, calendars and their overrides, the category tree): it applies to
    every region's work orders, so only users whose scope covers every region (`org.scope.covers_every_region`:
    administrators, HQ, the province) add, change or delete it, whatever model permissions a city's supervisors
    hold; they read it (Django's view permission: view or change). Put it before `admin.ModelAdmin`."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return super().has_add_permission(request, *args) and covers_every_region(request.user)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and covers_every_region(  # type: ignore[misc]
            request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and covers_every_region(  # type: ignore[misc]
            request.user)


class AuditedAdminMixin(ConcurrentEditMixin):
    """Whatever staff edit in the admin (org, users and roles, routing, SLA, categories, policies, templates,
    integrations) is recorded in the audit log, and a save over someone else's meanwhile is refused
    (`ConcurrentEditMixin`)."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        record_audit(
            request.user,
            "admin.change" if change else "admin.add",
            obj,
            data={"fields": sorted(name for name in form.changed_data if name != STATE_FIELD)} if change else {},
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        inlines = sorted({formset.model._meta.label_lower for formset in formsets if formset.has_changed()})
        if inlines:  # rows of an inline (a calendar's days, a scheme's items) added, changed or deleted
            record_audit(request.user, "admin.change", form.instance, data={"inlines": inlines})

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        record_audit(request.user, "admin.delete", obj)
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        for obj in queryset:
            record_audit(request.user, "admin.delete", obj)
        super().delete_queryset(request, queryset)  # type: ignore[misc]


class ObjectTypeListFilter(admin.SimpleListFilter):
    """Object types from the model registry, not from a DISTINCT over millions of audit rows."""

    title = _("object type")
    parameter_name = "object_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return sorted(
            (model._meta.label_lower, model._meta.verbose_name)
            for model in apps.get_models()
            if model.__module__.startswith("loopdesk.")
        )

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        if self.value():
            return queryset.filter(object_type=self.value())
        return queryset


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # The action and the object type by their names in the reader's language (the stored codes stay searchable).
    list_display = ("created_at", "actor", "action_shown", "object_type_shown", "object_id", "object_repr", "region")
    fields = ("created_at", "actor", "action_shown", "object_type_shown", "object_id", "object_repr", "province",
              "region", "details_shown")
    readonly_fields = ("action_shown", "object_type_shown", "details_shown")
    list_filter = (ObjectTypeListFilter, RegionListFilter)
    # Exact matches only: with the object type filter, "=object_id" uses the (object_type, object_id) index.
    search_fields = ("=object_id", "=action", "=actor__username")
    list_select_related = ("actor",)
    raw_id_fields = ("actor",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-id",)
    list_per_page = 50

    @admin.display(description=_("action"), ordering="action")
    def action_shown(self, obj: AuditLog) -> str:
        return obj.action_name()

    @admin.display(description=_("object type"), ordering="object_type")
    def object_type_shown(self, obj: AuditLog) -> str:
        return obj.object_type_name()

    @admin.display(description=_("details"))
    def details_shown(self, obj: AuditLog) -> SafeString:
        """One line a detail: statuses by name, times in Asia/Shanghai (the stored JSON had codes and UTC)."""
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in obj.details_lines()))

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[AuditLog]:
        """A city's staff (its auditors) read that city's records, a province's the province's, HQ and
        administrators all; records of no region (policies, calendars, settings) are everyone's. As the work orders
        they may see (docs/access.md): a city's auditor read every region's records here."""
        return in_users_regions(request, super().get_queryset(request), keep_unplaced=True)
