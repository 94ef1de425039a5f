"""Admin of SLA policies and business calendars: business policy that supervisors edit.

The SLA engine caches a calendar's working time by (id, version), so every save of a calendar or of one
of its overrides bumps `BusinessCalendar.version` (with an F expression: two supervisors saving at once
still give two bumps). Saving a policy bumps `SlaPolicy.version` the same way. Either save also schedules,
after it commits, the recomputation of the due times of the open tickets on that calendar or policy on the
background worker (`loopdesk.sla.recompute`), and says how many tickets that concerns.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import AuditedAdminMixin, EveryRegionPolicyMixin
from loopdesk.sla.calendars import uncovered_years
from loopdesk.sla.models import BusinessCalendar, CalendarDay, CalendarKind, SlaPolicy
from loopdesk.sla.recompute import schedule_recompute


def bump_calendar_versions(calendar_ids: Iterable[int], request: HttpRequest | None = None) -> None:
    """Invalidate the cached working time of these calendars and, after the edit commits, recompute the due
    times of the open tickets on them in the background (the user is told how many)."""
    ids = sorted(set(calendar_ids))
    if ids:
        BusinessCalendar.objects.filter(pk__in=ids).update(version=F("version") + 1)
        announce_recompute(request, schedule_recompute(calendar_ids=ids))


def announce_recompute(request: HttpRequest | None, count: int) -> None:
    if request is not None and count:
        messages.info(
            request,
            _("The due times of %(count)d open work orders are being recomputed in the background.")
            % {"count": count},
        )


def warn_uncovered_years(request: HttpRequest) -> None:
    """A warning on the calendar pages for each working-day calendar whose current or next year is unknown."""
    for calendar, year in uncovered_years():
        messages.warning(
            request,
            _(
                "Calendar %(calendar)s: chinesecalendar has no data for %(year)s and no make-up working day "
                "(调休) of %(year)s is entered as an override, so make-up workdays would count as days off. "
                "Enter the State Council's %(year)s holidays and make-up working days as overrides (docs/sla.md)."
            )
            % {"calendar": calendar.code, "year": year},
        )


class CalendarWarningMixin:
    """Warns about uncovered years on the list and edit pages of calendars and their overrides."""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "GET":
            warn_uncovered_years(request)
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "GET":
            warn_uncovered_years(request)
        return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]


class CalendarDayFormSet(BaseInlineFormSet):
    """The calendar page's override rows: none on a 24×7 calendar (docs/sla.md), judged by the kind the form is
    saving, not the stored one, so that turning a calendar with overrides into 24×7, or adding a 24×7 calendar
    with override rows, is refused as the override page refuses one (rows marked for deletion do not count)."""

    def clean(self) -> None:
        super().clean()
        if self.instance.kind != CalendarKind.ALWAYS:
            return
        kept = [form for form in self.forms
                if form.has_changed() or form.instance.pk is not None
                if not (self.can_delete and self._should_delete_form(form))]
        if kept:
            raise ValidationError(_("A 24×7 calendar counts every minute: date overrides have no effect on it. "
                                    "Delete them, or keep it a working-day calendar."))


class CalendarDayInline(EveryRegionPolicyMixin, admin.TabularInline):
    model = CalendarDay
    formset = CalendarDayFormSet
    fields = ("date", "is_workday", "note")
    ordering = ("-date",)
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(CalendarWarningMixin, EveryRegionPolicyMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "kind", "starts", "ends", "override_count", "version")
    list_filter = ("kind",)
    search_fields = ("code", "name", "name_en")
    readonly_fields = ("version",)
    inlines = (CalendarDayInline,)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        # The model's help said an empty end counts "the whole working day" while the error said "until
        # midnight": it counts from the start time to 24:00 (the model's text needs a migration to change).
        kwargs["help_texts"] = {
            "work_start": _("Each working day's clock starts at this time (00:00: at the start of the day)."),
            "work_end": _("Empty: until midnight (24:00) at the end of the day, from the start time above."),
            **kwargs.get("help_texts", {}),
        }
        return super().get_form(request, obj, change, **kwargs)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[BusinessCalendar]:
        return super().get_queryset(request).annotate(_override_count=models.Count("days"))

    # The list showed English times as Django words them: "midnight", "8:30 a.m.", and "-" for a day that counts
    # until its end; as the clock counts them now (24-hour, an empty end 24:00), as the Chinese list had them.
    @admin.display(description=_("working day starts"), ordering="work_start")
    def starts(self, obj: BusinessCalendar) -> str:
        return f"{obj.work_start:%H:%M}"

    @admin.display(description=_("working day ends"), ordering="work_end")
    def ends(self, obj: BusinessCalendar) -> str:
        return "24:00" if obj.work_end is None else f"{obj.work_end:%H:%M}"

    @admin.display(description=_("overrides"), ordering="_override_count")
    def override_count(self, obj: BusinessCalendar) -> int:
        return getattr(obj, "_override_count", 0)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Runs after save_model and after the inline overrides are saved or deleted: one bump per save.
        super().save_related(request, form, formsets, change)
        if change:
            bump_calendar_versions([form.instance.pk], request)
            form.instance.refresh_from_db(fields=["version"])


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarWarningMixin, EveryRegionPolicyMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("date", "calendar", "is_workday", "note")
    list_filter = ("calendar", "is_workday")
    search_fields = ("note",)
    date_hierarchy = "date"
    list_select_related = ("calendar",)
    ordering = ("-date",)

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        previous_calendar_id = CalendarDay.objects.filter(pk=obj.pk).values_list("calendar_id", flat=True).first()
        super().save_model(request, obj, form, change)
        bump_calendar_versions([obj.calendar_id, *([previous_calendar_id] if previous_calendar_id else [])], request)

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        calendar_id = obj.calendar_id
        super().delete_model(request, obj)
        bump_calendar_versions([calendar_id], request)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[CalendarDay]) -> None:
        calendar_ids = list(queryset.values_list("calendar_id", flat=True))
        super().delete_queryset(request, queryset)
        bump_calendar_versions(calendar_ids, request)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(EveryRegionPolicyMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = (
        "position",
        "name",
        "is_active",
        "contact_type",
        "category",
        "tier",
        "priority",
        "channel",
        "calendar",
        "first_response_minutes",
        "hop_reply_minutes",
        "resolution_minutes",
        "overtime_minutes",
        "problem_minutes",
        "version",
    )
    list_display_links = ("name",)
    list_filter = ("is_active", "contact_type", "tier", "calendar")
    search_fields = ("name",)
    list_select_related = ("category", "calendar")
    autocomplete_fields = ("category",)
    ordering = ("position", "id")
    readonly_fields = ("version",)
    fieldsets = (
        (None, {"fields": ("name", "name_en", "position", "is_active", "version")}),
        (
            _("Applies to (empty conditions match everything)"),
            {"fields": ("contact_type", "category", "tier", "priority", "channel")},
        ),
        (
            _("Time limits (minutes on the calendar)"),
            {
                "fields": (
                    "calendar",
                    "first_response_minutes",
                    "hop_reply_minutes",
                    "resolution_minutes",
                    "overtime_minutes",
                    "problem_minutes",
                    "callback_minutes",
                    "warn_before_minutes",
                )
            },
        ),
    )

    def save_model(self, request: HttpRequest, obj: SlaPolicy, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            SlaPolicy.objects.filter(pk=obj.pk).update(version=F("version") + 1)
            obj.refresh_from_db(fields=["version"])
            announce_recompute(request, schedule_recompute(policy_ids=[obj.pk]))
