"""The monthly report workbook: produced on schedule (Celery beat or `manage.py monthly_report`), kept for download."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from loopdesk.reports import customerbase, exports
from loopdesk.reports import measures as m
from loopdesk.reports.models import PROVINCE_SCOPE, DailyRollup, StoredReport, scope_filters

SHEETS = (
    ("department", _("By department")),
    ("branch", _("By branch")),
    ("category_root", _("By top category")),
    ("category", _("By category")),
    ("channel", _("By channel")),
    ("contact_type", _("By contact type")),
    ("tier", _("By customer tier")),
    ("brand", _("By brand")),
    ("day", _("Daily trend")),
)


class Everyone:
    """The viewer of a scheduled job: every ticket (a region is chosen with the filters)."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    unit = None
    pk = None
    role_codes: frozenset[str] = frozenset()

    def has_role(self, *roles: str) -> bool:
        return True


def _overview(report: m.Report) -> Iterator[list[Any]]:
    for name, (label, unit) in m.MEASURES.items():
        # A rate's value is a percentage (71.43 for 71.43 %): its name says so, as the KPI sheets' headers do.
        yield [exports.rate_label(label, unit), exports._cell(report.values[name], unit),
               _change(report.mom[name], unit), _change(report.yoy[name], unit)]


def _change(value: float | None, unit: str) -> Any:
    if value is None:
        return ""
    return round(value * 100, 2)


def workbook_sheets(viewer: Any, period: m.Period, filters: dict[str, Any] | None) -> list[tuple[str, list, Any]]:
    report = m.report(viewer, period, filters)
    header = [str(_("Measure")), str(_("Value")), str(_("Change on last month (% / points)")),
              str(_("Change on a year before (% / points)"))]
    sheets: list[tuple[str, list, Any]] = [(str(_("Overview")), header, _overview(report))]
    for group_by, title in SHEETS:
        rows = m.table(viewer, period, group_by, filters)
        if group_by == "day":
            # Every day of the month, a quiet one at 0 (0.0 per 10,000 customers).
            rows = m.every_day(rows, period, customers=m.customers_in_scope(viewer, filters, period.end))
        sheets.append((str(title), exports.measure_header(group_by), exports.measure_rows(rows, dates=group_by)))
    try:
        from loopdesk.reports import scorecards

        scheme = scorecards.scheme_for(viewer, filters)
        if scheme is not None:
            for unit_kind, title in (("branch", _("Scorecard: branches")), ("department", _("Scorecard: departments"))):
                card = scorecards.score(viewer, scheme, period, unit_kind, filters)
                sheets.append((str(title), scorecards.header(card), scorecards.rows(card)))
    except ImportError:  # pragma: no cover - scorecards not installed
        pass
    return sheets


# The languages a monthly workbook is kept in, and the field of each (the site's two: Chinese, the default, and
# English): an English user downloads the English one (`views.file_download`).
LANGUAGE_FILES = (("zh-hans", "file"), ("en", "file_en"))


def _workbook(period: m.Period, scope: str, language: str) -> Any:
    with translation.override(language):
        return exports.xlsx_file(workbook_sheets(Everyone(), period, scope_filters(scope)))


def _file_name(scope: str, period: m.Period, language: str) -> str:
    suffix = "" if language == "zh-hans" else f"-{language}"
    return f"monthly-{scope.replace(':', '-')}-{period.start:%Y-%m}{suffix}.xlsx"


def produce_monthly_report(year: int, month: int, scope: str = "all") -> StoredReport:
    """Write the month's workbook for a region, a province ("province:GD") or "all", in Chinese and in English, and
    keep both; producing it again replaces them."""
    period = m.Period.month(year, month)
    if period.end == customerbase.today() - dt.timedelta(days=1):
        # The month ended yesterday: its customer base (per 10,000 customers) kept first, unless the hourly job kept
        # it already, so the workbook divides by the base the dashboard shows the month with from now on.
        customerbase.take_due()
    # Written one after the other from the rollups (a month reported on the 1st no longer changes but for late
    # callbacks and surveys, so the two hold the same numbers).
    handles = {language: _workbook(period, scope, language) for language, _field in LANGUAGE_FILES}
    old_names: list[str] = []
    with transaction.atomic():
        stored, _created = StoredReport.objects.select_for_update().get_or_create(
            kind="monthly", period=period.start, scope=scope,
            defaults={"created_at": timezone.now(), "file": ""},
        )
        for language, field_name in LANGUAGE_FILES:
            field_file = getattr(stored, field_name)
            old_name = field_file.name if field_file else ""
            name = _file_name(scope, period, language)
            field_file.save(name, File(handles[language], name=name), save=False)
            if old_name and old_name != field_file.name:
                old_names.append(old_name)
        stored.size = stored.file.size
        stored.created_at = timezone.now()
        stored.save()
    for handle in handles.values():
        handle.close()
    for old_name in old_names:
        stored.file.storage.delete(old_name)
    return stored


def language_file(stored: StoredReport, language: str | None) -> Any:
    """The kept workbook in `language` (English or Chinese). A report kept before workbooks were written in English
    has only the Chinese one: the English one is written now, from today's figures, and kept with it."""
    if not (language and language.startswith("en")) or stored.file_en:
        return stored.file_for(language)
    period = m.Period.month(stored.period.year, stored.period.month)
    handle = _workbook(period, stored.scope, "en")
    name = _file_name(stored.scope, period, "en")
    stored.file_en.save(name, File(handle, name=name), save=False)
    handle.close()
    StoredReport.objects.filter(pk=stored.pk).update(file_en=stored.file_en.name)
    return stored.file_en


def previous_month(today: dt.date | None = None) -> tuple[int, int]:
    today = today or timezone.localdate()
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.year, last.month


def produce_all(year: int | None = None, month: int | None = None) -> list[StoredReport]:
    """The month's workbook for the whole company, every province and every region with data (default: last
    month)."""
    if year is None or month is None:
        year, month = previous_month()
    period = m.Period.month(year, month)
    pairs = set(DailyRollup.objects.filter(day__range=(period.start, period.end))
                .values_list("province", "region").distinct())
    provinces = sorted(f"{PROVINCE_SCOPE}{province}" for province in {p for p, _r in pairs})
    regions = sorted({region for _p, region in pairs})
    return [produce_monthly_report(year, month, scope) for scope in ["all", *provinces, *regions]]
