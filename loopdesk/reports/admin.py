"""Admin: the assessment scheme (items and weights are business policy, edited by supervisors), reports, imports."""

from django.contrib import admin

from loopdesk.reports.models import AssessmentItem, AssessmentScheme, ImportRun, StoredReport


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
