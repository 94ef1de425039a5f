"""Admin: the assessment scheme (items and weights are business policy, edited by supervisors), reports, imports."""

from django.contrib import admin

from loopdesk.reports.models import AssessmentItem, AssessmentScheme, ImportJob, ImportRun, StoredReport


class AssessmentItemInline(admin.TabularInline):
    model = AssessmentItem
    extra = 1
    fields = ("position", "name", "measure", "method", "target", "weight", "channels")


@admin.register(AssessmentScheme)
class AssessmentSchemeAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "updated_at")
    inlines = [AssessmentItemInline]


@admin.register(StoredReport)
class StoredReportAdmin(admin.ModelAdmin):
    list_display = ("kind", "period", "scope", "size", "created_at")
    readonly_fields = ("kind", "period", "scope", "file", "size", "created_at", "created_by")


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ("kind", "filename", "created_by", "created_at", "rows", "created", "skipped", "errors")
    readonly_fields = list_display


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Background dry runs and imports: read only (the import page starts them; a failed one shows why)."""

    list_display = ("filename", "kind", "dry_run", "state", "created_by", "created_at", "finished_at")
    list_filter = ("state", "kind", "dry_run")
    readonly_fields = ("filename", "kind", "dry_run", "partial", "system", "columns", "language", "created_by",
                       "created_at", "state", "started_at", "finished_at", "result", "failure")
    exclude = ("token", "file_key")

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

