"""Admin of customers and areas. Phone numbers and names are personal data: masked in lists, and shown in
the form only to staff with `tickets.reveal_customer`, every such view written to the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import (
    AuditedAdminMixin,
    CappedCountPaginator,
    RegionListFilter,
    in_users_regions,
    may_reveal_customers,
)
from loopdesk.audit.services import record_audit
from loopdesk.customers.models import Area, Customer

PERSONAL_FIELDS = ("msisdn", "name")


@admin.register(Area)
class AreaAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "branch", "cell_id")
    list_filter = ("branch",)
    search_fields = ("code", "name", "cell_id")
    list_select_related = ("branch",)
    autocomplete_fields = ("branch",)


@admin.register(Customer)
class CustomerAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("phone", "customer_name", "brand", "vip_level", "region", "home_branch", "created_at")
    list_filter = ("brand", "vip_level", RegionListFilter)
    # Exact number only: searching does not reveal anything, and "=" uses the unique index.
    search_fields = ("=msisdn",)
    list_select_related = ("home_branch",)
    raw_id_fields = ("home_branch", "area", "account_manager")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        """The customers of the user's region (a city's auditor: that city's; a province's: the province's)."""
        return in_users_regions(request, super().get_queryset(request), keep_unplaced=True)

    @admin.display(description=_("mobile number"))
    def phone(self, obj: Customer) -> str:
        return obj.masked_msisdn

    @admin.display(description=_("name"))
    def customer_name(self, obj: Customer) -> str:
        return obj.masked_name

    def get_fields(self, request: HttpRequest, obj: Customer | None = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if obj is not None and not may_reveal_customers(request):
            fields = [name for name in fields if name not in PERSONAL_FIELDS]
            fields[:0] = ["phone", "customer_name"]
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Customer | None = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not may_reveal_customers(request):
            readonly += ["phone", "customer_name"]
        return readonly

    def get_exclude(self, request: HttpRequest, obj: Customer | None = None) -> Any:
        if obj is not None and not may_reveal_customers(request):
            return PERSONAL_FIELDS
        return super().get_exclude(request, obj)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200 and may_reveal_customers(request):
            customer = self.get_object(request, object_id)
            if customer is not None:
                record_audit(request.user, "customer.reveal", customer, data={"via": "admin"})
        return response
