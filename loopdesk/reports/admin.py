"""Admin: the assessment scheme (items and weights are business policy, edited by supervisors), reports, imports."""

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from loopdesk.audit.admin import AuditedAdminMixin, users_regions_q
from loopdesk.audit.services import record_audit
from loopdesk.org.choices import UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.reports.models import (
    PROVINCE_SCOPE,
    AssessmentItem,
    AssessmentScheme,
    ImportJob,
    ImportRun,
    StoredReport,
)


def _own_region(request: HttpRequest) -> str:
    """A city-level user's region (their schemes are that region's); "" for a province, the group or an admin."""
    from loopdesk.reports.scorecards import may_edit_scheme

    unit = getattr(request.user, "unit", None)
    if unit is None or may_edit_scheme(request.user, None):
        return ""
    return str(unit.region)


class AssessmentItemInline(admin.TabularInline):
    model = AssessmentItem
    extra = 1
    fields = ("position", "name", "name_en", "measure", "method", "target", "weight", "channels")

    def _may(self, request: HttpRequest, obj: AssessmentScheme | None) -> bool:
        from loopdesk.reports.scorecards import may_edit_scheme

        return obj is None or may_edit_scheme(request.user, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and self._may(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._may(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may(request, obj)


@admin.register(AssessmentScheme)
class AssessmentSchemeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """A city company's supervisors edit their region's scheme and read the company's (which scores every region
    without its own); the action copies the company's scheme for their region to adapt. Province and group
    level users and administrators edit every scheme."""

    list_display = ("name", "region", "is_active", "updated_at")
    list_filter = ("region", "is_active")
    inlines = [AssessmentItemInline]
    actions = ["copy_for_my_region"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AssessmentScheme]:
        region = _own_region(request)
        qs = super().get_queryset(request)
        return qs.filter(region__in=("", region)) if region else qs

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("region",) if _own_region(request) else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        from loopdesk.reports.scorecards import may_edit_scheme

        return super().has_change_permission(request, obj) and (obj is None or may_edit_scheme(request.user, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj) and super().has_delete_permission(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        region = _own_region(request)
        if obj is not None or not region:
            return form

        class OwnRegionForm(form):  # type: ignore[misc, valid-type]
            """A city company's new scheme is its region's already when it is checked (one active per region)."""

            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, **kw)
                self.instance.region = region

        return OwnRegionForm

    def save_model(self, request: HttpRequest, obj: AssessmentScheme, form: Any, change: bool) -> None:
        region = _own_region(request)
        if not change and region:
            obj.region = region  # a city company's new scheme is its own
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Copy for my region (to adapt its items and weights)"),
                  permissions=["add"])
    def copy_for_my_region(self, request: HttpRequest, queryset: QuerySet[AssessmentScheme]) -> None:
        region = _own_region(request)
        if not region:
            self.message_user(request, _("Province and group level users edit the schemes themselves."),
                              messages.WARNING)
            return
        own = AssessmentScheme.objects.filter(region=region, is_active=True).first()
        if own is not None:
            # A second copy would be a second active scheme of the region, the newest edited of which scores it:
            # an edit to the older one would silently switch the region's scorecards to it.
            self.message_user(request, _("%(region)s already has its own scheme, “%(name)s”: edit that one.")
                              % {"region": region, "name": own.name}, messages.WARNING)
            return
        if queryset.count() > 1:
            self.message_user(request, _("Choose one scheme to copy."), messages.WARNING)
            return
        with transaction.atomic():
            for scheme in queryset:
                items = list(scheme.items.all())
                copy = AssessmentScheme.objects.create(
                    name=scheme.name, name_en=scheme.name_en, description=scheme.description, region=region,
                    is_active=scheme.is_active)
                AssessmentItem.objects.bulk_create([
                    AssessmentItem(scheme=copy, position=i.position, name=i.name, name_en=i.name_en, measure=i.measure,
                                   method=i.method, target=i.target, weight=i.weight, channels=i.channels)
                    for i in items])
                record_audit(request.user, "admin.add", copy, data={"copied_from": scheme.pk})
        self.message_user(request, _("Copied for %(region)s: its scorecards now use the copy.") % {"region": region},
                          messages.SUCCESS)


@admin.register(StoredReport)
class StoredReportAdmin(admin.ModelAdmin):
    """Kept reports, read only: the monthly job (or `manage.py produce_monthly_reports`) writes them. The add page
    offered an empty, all read-only form whose save kept a report without a month or a file; the kind and scope
    showed as stored ("monthly", "province:GD") on the English and Chinese pages."""

    list_display = ("kind_label", "period", "scope_label", "size", "created_at")
    fields = readonly_fields = ("kind_label", "period", "scope_label", "download", "size", "created_at",
                                "created_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoredReport]:
        """The reports of the user's regions, as `audit.admin.in_users_regions` scopes other rows: a city's staff
        their region's, a province's the province-wide one and its regions', HQ and administrators all (a city's
        auditor listed every region's and the whole company's)."""
        qs = super().get_queryset(request)
        if not users_regions_q(request, keep_unplaced=False):  # everything (HQ, administrators)
            return qs
        unit = getattr(request.user, "unit", None)
        if unit is None:
            return qs.none()
        if unit.level == UnitLevel.PROVINCE:
            regions = set(OrgUnit.objects.filter(province=unit.province).values_list("region", flat=True))
            return qs.filter(scope__in={f"{PROVINCE_SCOPE}{unit.province}", *regions})
        return qs.filter(scope=unit.region)

    @admin.display(description=_("file"))
    def download(self, obj: StoredReport) -> str:
        """The report page's download (the stored file's own URL is not served: its link was a 404)."""
        url = reverse("reports:file", args=[obj.pk])
        return format_html('<a href="{}?language=zh-hans" lang="zh-hans">中文</a> · <a href="{}?language=en" '
                           'lang="en">English</a>', url, url)

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj: StoredReport) -> str:
        return str(REPORT_KINDS.get(obj.kind, obj.kind))

    @admin.display(description=_("scope"), ordering="scope")
    def scope_label(self, obj: StoredReport) -> str:
        return obj.scope_label()


REPORT_KINDS = {"monthly": _("Monthly report")}
IMPORT_KINDS = {"tickets": pgettext_lazy("import kind", "Work orders"),
                "customers": pgettext_lazy("import kind", "Customers")}


def _import_kind(obj: ImportRun | ImportJob) -> str:
    return str(IMPORT_KINDS.get(obj.kind, obj.kind))


class ImportKindFilter(admin.SimpleListFilter):
    """The kind of an import by its name ("tickets" / "customers" were listed as stored)."""

    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, str(label)) for code, label in IMPORT_KINDS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Imports done, read only (the import page records them; the add page made an empty record)."""

    list_display = ("kind_label", "filename", "created_by", "created_at", "rows", "created", "skipped", "errors")
    fields = readonly_fields = list_display
    list_filter = (ImportKindFilter,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportRun]:
        # The imports of the user's regions (by the importing user's unit); a city's auditor listed every region's.
        return super().get_queryset(request).filter(
            users_regions_q(request, prefix="created_by__unit__", keep_unplaced=False))

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj: ImportRun) -> str:
        return _import_kind(obj)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Background dry runs and imports: read only (the import page starts them; a failed one shows why)."""

    list_display = ("filename", "kind_label", "dry_run", "state", "created_by", "created_at", "finished_at")
    list_filter = ("state", ImportKindFilter, "dry_run")
    readonly_fields = ("filename", "kind_label", "dry_run", "partial", "system", "columns", "language", "created_by",
                       "created_at", "state", "started_at", "finished_at", "result", "failure")
    exclude = ("token", "file_key", "kind")  # shown by its name (kind_label)

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportJob]:
        # As ImportRunAdmin: the jobs (file names, problems) of the user's regions' users only.
        return super().get_queryset(request).filter(
            users_regions_q(request, prefix="created_by__unit__", keep_unplaced=False))

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj: ImportJob) -> str:
        return _import_kind(obj)
