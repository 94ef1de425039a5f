"""Admin of the category tree (editable by supervisors) and of work orders (read-only: every change of a
ticket goes through `loopdesk.tickets.services`, which writes the timeline and the audit log)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import (
    AuditedAdminMixin,
    CappedCountPaginator,
    EveryRegionPolicyMixin,
    ReadOnlyAdminMixin,
    RegionListFilter,
    indented_name,
    may_reveal_customers,
)
from loopdesk.core.text import mask_msisdns_in_text
from loopdesk.org.scope import scope_regions
from loopdesk.tickets.models import (
    Attachment,
    Category,
    ExternalRef,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketSequence,
    TicketUnitAccess,
)
from loopdesk.tickets.policy import visible_tickets

TICKET_FKS = (
    "category",
    "customer",
    "branch",
    "first_responder",
    "first_responder_unit",
    "handler_unit",
    "handler_user",
    "dispatcher_unit",
    "sla_policy",
    "parent",
    "duplicate_of",
)


class VisibleTicketsMixin:
    """Only the work orders the user may see (`policy.visible_tickets`, as every list of the site): a city's auditor,
    whose role has the admin's view permissions, read every region's work orders here. `ticket_field` names the
    row's work order ("" for the work order itself)."""

    ticket_field = "ticket"

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        qs = super().get_queryset(request)  # type: ignore[misc]
        if not self.ticket_field:
            return visible_tickets(request.user, qs)
        if visible_tickets(request.user).query.where:  # narrowed: the rows of visible work orders only
            return qs.filter(**{f"{self.ticket_field}__in": visible_tickets(request.user).values("pk")})
        return qs


@admin.register(Category)
class CategoryAdmin(EveryRegionPolicyMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("tree_name", "code", "name_en", "position", "keywords", "is_active")
    list_filter = ("is_active", "depth")
    search_fields = ("code", "name", "name_en", "keywords")
    autocomplete_fields = ("parent",)
    ordering = ("path",)
    list_per_page = 200
    fields = ("code", "name", "name_en", "parent", "position", "keywords", "is_active", "path")
    readonly_fields = ("path",)

    @admin.display(description=_("name"), ordering="path")
    def tree_name(self, obj: Category) -> SafeString:
        return indented_name(obj, obj.name)


class MaskedFreeTextMixin:
    """The free-text fields (`masked_text`) with any mobile number in them masked (138****5678) for a reader without
    the reveal permission (an auditor: `may_reveal_customers`), as the customer's own number is: the text stays,
    each field shown by a `<field>_masked` display method in its place."""

    masked_text: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*super().get_readonly_fields(request, obj), *(f"{name}_masked" for name in self.masked_text))  # type: ignore[misc]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        masked = {f"{name}_masked" for name in self.masked_text}
        fields = [name for name in super().get_fields(request, obj) if name not in masked]  # type: ignore[misc]
        if may_reveal_customers(request):
            return fields
        return [f"{name}_masked" if name in self.masked_text else name for name in fields]


def _masked_text(model: type[models.Model], field: str) -> Any:
    """A display method showing `field` as `mask_msisdns_in_text` leaves it, under the field's own label."""

    @admin.display(description=model._meta.get_field(field).verbose_name)
    def shown(self: Any, obj: Any) -> str:
        return mask_msisdns_in_text(getattr(obj, field))

    return shown


class TicketEventInline(MaskedFreeTextMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = TicketEvent
    fields = ("seq", "kind", "created_at", "actor", "actor_unit", "from_status", "to_status", "to_unit", "note")
    readonly_fields = fields
    ordering = ("seq",)
    extra = 0
    can_delete = False
    show_change_link = True
    masked_text = ("note",)
    note_masked = _masked_text(TicketEvent, "note")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[TicketEvent]:
        return super().get_queryset(request).select_related("actor", "actor_unit", "to_unit")


@admin.register(Ticket)
class TicketAdmin(VisibleTicketsMixin, MaskedFreeTextMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    ticket_field = ""
    masked_text = ("title", "description", "resolution", "answer")
    title_masked = _masked_text(Ticket, "title")
    description_masked = _masked_text(Ticket, "description")
    resolution_masked = _masked_text(Ticket, "resolution")
    answer_masked = _masked_text(Ticket, "answer")
    list_display = (
        "number",
        "status",
        "contact_type",
        "category",
        "tier",
        "handler_unit",
        "region",
        "due_at",
        "is_overtime",
        "is_problem",
        "created_at",
    )
    # Choice and boolean filters need no query; the region filter reads the unit table.
    list_filter = (
        "status",
        "contact_type",
        "channel",
        "tier",
        "is_open",
        "is_overtime",
        "is_problem",
        RegionListFilter,
    )
    search_fields = ("=number",)
    list_select_related = ("category", "handler_unit")
    raw_id_fields = TICKET_FKS
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-id",)
    list_per_page = 50
    inlines = (TicketEventInline,)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Ticket]:
        return super().get_queryset(request).select_related("category", "handler_unit")


@admin.register(TicketEvent)
class TicketEventAdmin(VisibleTicketsMixin, MaskedFreeTextMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    masked_text = ("note",)
    note_masked = _masked_text(TicketEvent, "note")
    list_display = ("ticket", "seq", "kind", "actor", "from_status", "to_status", "to_unit", "created_at")
    list_filter = ("kind",)
    search_fields = ("=ticket__number",)
    list_select_related = ("ticket", "actor", "to_unit")
    raw_id_fields = ("ticket", "actor", "actor_unit", "from_unit", "to_unit", "to_user")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-id",)
    list_per_page = 50


@admin.register(TicketUnitAccess)
class TicketUnitAccessAdmin(VisibleTicketsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ticket", "unit")
    search_fields = ("=ticket__number",)
    list_select_related = ("ticket", "unit")
    raw_id_fields = ("ticket", "unit")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-id",)


@admin.register(TicketLink)
class TicketLinkAdmin(VisibleTicketsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    ticket_field = "from_ticket"
    list_display = ("from_ticket", "kind", "to_ticket", "created_by", "created_at")
    list_filter = ("kind",)
    search_fields = ("=from_ticket__number", "=to_ticket__number")
    list_select_related = ("from_ticket", "to_ticket", "created_by")
    raw_id_fields = ("from_ticket", "to_ticket", "created_by")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-id",)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        """Links between two work orders the user may see: one to a work order outside their scope (another region)
        named it, as the ticket page does not (docs/access.md)."""
        qs = super().get_queryset(request)
        if visible_tickets(request.user).query.where:
            return qs.filter(to_ticket__in=visible_tickets(request.user).values("pk"))
        return qs


@admin.register(ExternalRef)
class ExternalRefAdmin(VisibleTicketsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ticket", "system", "external_id")
    search_fields = ("=external_id", "=ticket__number")
    list_select_related = ("ticket",)
    raw_id_fields = ("ticket",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-id",)


@admin.register(Attachment)
class AttachmentAdmin(VisibleTicketsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ticket", "filename", "content_type", "size", "visibility", "uploaded_by", "created_at")
    list_filter = ("visibility",)
    search_fields = ("=ticket__number",)
    list_select_related = ("ticket", "uploaded_by")
    raw_id_fields = ("ticket", "uploaded_by")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-id",)


@admin.register(TicketSequence)
class TicketSequenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("region", "day", "last_value")
    list_filter = (RegionListFilter,)
    ordering = ("-day", "region")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[TicketSequence]:
        """The sequences of the user's regions: the last number of a day is that region's number of work orders that
        day, which a city's auditor read for every region."""
        regions = scope_regions(request.user)
        qs = super().get_queryset(request)
        return qs if regions is None else qs.filter(region__in=regions)
