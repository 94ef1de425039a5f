"""Report pages: dashboard (ECharts), KPI tables, drill-down lists, scorecards, stored reports, imports; exports.

Every figure is scoped by `measures.rollup_scope` / `visible_tickets`; every count links to the list of
tickets behind it (`drilldown`), and every table and list can be taken away as CSV or XLSX.
"""

from __future__ import annotations

import datetime as dt
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from loopdesk.core.errors import DomainError
from loopdesk.core.text import ascii_digits, is_db_id
from loopdesk.customers.choices import Brand, Tier
from loopdesk.org.choices import UnitFunction
from loopdesk.org.models import OrgUnit
from loopdesk.reports import exports, importjobs, imports, monthly, scorecards, stash
from loopdesk.reports import measures as m
from loopdesk.reports.models import PROVINCE_SCOPE, ImportJob, ImportRun, ReportFact, RollupPending, StoredReport
from loopdesk.tickets import policy
from loopdesk.tickets.choices import Channel, ContactType
from loopdesk.tickets.models import Category, Ticket
from loopdesk.workbench.common import may_read_reports, staff_required

PAGE = 50
FILES_PAGE = 120
KPI_CARDS = ("volume", "timeliness", "overtime", "problem", "reply_median", "hop_median", "e2e_p90", "fcr_rate",
             "repeat_rate",
             "return_rate", "callback_rate", "satisfaction", "appeals", "per_10k", "surveys", "survey_mean",
             "survey_satisfaction", "survey_response_rate", "window_mean", "window_satisfaction")
MAX_UPLOAD = 200 * 1024 * 1024


def reports_required(view: Any) -> Any:
    """Signed in (`staff_required`) and one of the users who read the KPI pages (`may_read_reports`): agents and
    specialist handlers opened the dashboard, tables, drill-down lists, scorecards and monthly reports by typing the
    address, though no menu offered them (403 now)."""

    @staff_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_read_reports(request.user):
            raise PermissionDenied(_("You may not read the reports."))
        return view(request, *args, **kwargs)

    return wrapper


# --- request parameters ---------------------------------------------------------------------------------


def _period(request: HttpRequest) -> m.Period:
    """?month=2026-11 (default: this month), or ?start=2026-11-01&end=2026-11-15 (the filter bar's From / To)."""
    return _read_period(request)[0]


MAX_RANGE_DAYS = 366  # a From / To range: at most a year (leap day included); whole years by month


def _read_period(request: HttpRequest) -> tuple[m.Period, bool]:
    """The period and whether it is the one asked for: False when a month or dates were given but could not be
    read (2026-13, 2026-11-31, a start after its end, a start without an end), and this month is shown instead."""
    period, errors = _period_and_errors(request)
    return period, not errors


def _period_and_errors(request: HttpRequest) -> tuple[m.Period, dict[str, str]]:
    """The period and the problems of the fields that gave it (`start`, `end`, `month`), in the user's language.

    From / To (`start`, `end`) win over the month when either is given: both are needed, each a date (YYYY-MM-DD)
    of 1900–2999, the start not after the end, at most `MAX_RANGE_DAYS` days. With a problem this month is shown
    (and the problems next to their fields)."""
    errors: dict[str, str] = {}
    start_text, end_text = (request.GET.get(name, "").strip() for name in ("start", "end"))
    month_text = request.GET.get("month", "").strip()
    if start_text or end_text:
        dates: dict[str, dt.date] = {}
        for name, text, missing in (("start", start_text, _("Enter the start date too, or leave both empty.")),
                                    ("end", end_text, _("Enter the end date too, or leave both empty."))):
            if not text:
                errors[name] = str(missing)
                continue
            try:
                day = dt.date.fromisoformat(text) if len(text) == 10 and text.isascii() else None
            except ValueError:
                day = None
            if day is None:
                errors[name] = str(_("Enter a date that exists, as YYYY-MM-DD."))
            elif not _plausible(day.year):
                errors[name] = str(_("Enter a date between 1900 and 2999."))
            else:
                dates[name] = day
        if not errors:
            start, end = dates["start"], dates["end"]
            if start > end:
                errors["end"] = str(_("The end date is before the start date."))
            elif (end - start).days + 1 > MAX_RANGE_DAYS:
                errors["end"] = str(_("A period is at most %(days)d days: choose a later start or an earlier end.")
                                    % {"days": MAX_RANGE_DAYS})
            else:
                return m.Period(start, end), {}
    elif month_text:
        try:
            year, month = (int(p) for p in month_text.split("-"))
            if _plausible(year):
                return m.Period.month(year, month), {}
        except ValueError:
            pass
        errors["month"] = str(_("Enter a month that exists, as YYYY-MM."))
    today = timezone.localdate()
    return m.Period.month(today.year, today.month), errors


def _plausible(year: int) -> bool:
    """A year whose period, previous period and year before are dates (year 1 or 9999 made every page a 500)."""
    return 1900 <= year <= 2999


def _unread_export(request: HttpRequest) -> HttpResponse | None:
    """An export (CSV / XLSX) of a period that could not be read is refused with its problems (400), not a file
    of this month's figures named as if it were the period asked for."""
    if request.GET.get("format") not in ("csv", "xlsx"):
        return None
    errors = {**_period_and_errors(request)[1], **_filters_and_errors(request)[1]}
    if not errors:
        return None
    return HttpResponse("\n".join(errors.values()), status=400, content_type="text/plain; charset=utf-8")


def _filters(request: HttpRequest) -> dict[str, Any]:
    """The filters of the request that the filter bar can show (`_filters_and_errors`): one it could not show was
    dropped, with its problem next to its field."""
    return _filters_and_errors(request)[0]


def _read_filters(request: HttpRequest) -> tuple[dict[str, Any], set[str]]:
    """The filters as given, and the names of those given but unreadable (a unit id that is no number)."""
    filters: dict[str, Any] = {}
    unreadable: set[str] = set()
    for name in m.FILTERS:
        # A NUL character (a scanner, a broken link) made PostgreSQL refuse the query (a 500): such a value can match
        # nothing, and still matches nothing with it replaced.
        value = request.GET.get(name, "").strip().replace("\x00", "\ufffd")
        if not value:
            continue
        if name in ("branch", "department", "category"):
            if not is_db_id(value):
                unreadable.add(name)
                continue
            filters[name] = int(value)
        elif name in ("province", "region"):
            filters[name] = value[:16].upper()  # codes as the units carry them (?region=jm was no work order)
        else:
            filters[name] = value[:16]
    return filters, unreadable


# Filter -> its choices in `_filter_options` (province and region are codes the pages carry, not choices).
FILTER_CHOICES = {"branch": "branches", "department": "departments", "category": "categories",
                  "contact_type": "contact_types", "channel": "channels", "tier": "tiers", "brand": "brands"}


def _filters_and_errors(request: HttpRequest) -> tuple[dict[str, Any], dict[str, str]]:
    """The filters, and the problems of those dropped because the filter bar has no such choice (a unit outside the
    user's scope or that does not exist, a tier or channel no work order has, a unit id that is no number), in the
    user's language: the figures were those of the filter (none) while its field said "All". Each dropped filter
    counts as not given, as its field shows it."""
    cached = getattr(request, "_report_filters", None)
    if cached is not None:
        return cached
    filters, unreadable = _read_filters(request)
    options = _filter_options(request.user, translation.get_language() or "zh-hans", filters)
    errors: dict[str, str] = {}
    for name, choices in FILTER_CHOICES.items():
        if name not in filters and name not in unreadable:
            continue
        if name in filters and filters[name] in {value for value, _label in options[choices]}:
            continue
        errors[name] = str(_("“%(value)s” is not one of the choices: choose from the list.") % {
            "value": request.GET.get(name, "").strip()[:16]})
        filters.pop(name, None)
    result = (filters, errors)
    request._report_filters = result  # type: ignore[attr-defined]
    return result


def _query(period: m.Period, filters: dict[str, Any], **extra: Any) -> str:
    params: dict[str, Any] = {}
    if period.is_month():
        params["month"] = period.start.strftime("%Y-%m")
    else:
        params.update(start=period.start.isoformat(), end=period.end.isoformat())
    params.update(filters)
    params.update({k: v for k, v in extra.items() if v not in (None, "")})
    return urlencode(params)


def _drill_url(period: m.Period, filters: dict[str, Any], measure: str, group_by: str | None = None,
               group: Any = None) -> str:
    if isinstance(group, dt.date):
        group = group.isoformat()
    return reverse("reports:tickets") + "?" + _query(period, filters, measure=measure, group_by=group_by, group=group)


def _filter_options(user: Any, language: str, filters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The filter bar's choices. Branches and departments: the units of what the user may see (their region, their
    province, or all), within the page's province / region filter; inactive ones too, marked, as they have
    figures for the periods they were active (a unit of another region only listed names the user cannot see)."""
    units = OrgUnit.objects.filter(unit_scope(user)).only("pk", "name", "name_en", "function", "level",
                                                          "is_active")
    for name in ("province", "region"):
        if (filters or {}).get(name):
            units = units.filter(**{name: filters[name]})  # type: ignore[index]

    def named(u: OrgUnit) -> str:
        return u.display_name(language) if u.is_active else str(_("%(unit)s (inactive)") % {
            "unit": u.display_name(language)})

    return {
        "branches": [(u.pk, named(u)) for u in units if u.function == UnitFunction.FRONT_LINE
                     and u.level == "centre"],
        # The units work orders are dispatched to (`workbench.units.target_units`): the specialist departments and
        # the second-line support room (综援室: 其它 → 综援室), which has its row in the department tables.
        "departments": [(u.pk, named(u)) for u in units
                        if u.function in (UnitFunction.SPECIALIST, UnitFunction.SECOND_LINE)],
        # Every level, in tree order (a category filter covers its subtree); an inactive one only when chosen (a
        # scorecard's short board on a category retired since), marked.
        "categories": [(c.pk, ("· " * c.depth) + (c.display_name(language) if c.is_active else str(
                            _("%(unit)s (inactive)") % {"unit": c.display_name(language)})))
                       for c in Category.objects.filter(Q(is_active=True) | Q(pk=(filters or {}).get("category")))
                       .only("pk", "name", "name_en", "depth", "path", "is_active")],
        "contact_types": ContactType.choices, "channels": Channel.choices, "tiers": Tier.choices,
        "brands": Brand.choices,
    }


def unit_scope(user: Any) -> Q:
    """The units whose figures the user may see: everything for administrators and HQ, a province's units for its
    staff, else the units of the user's region (a user seeing only some work orders sees them within it)."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if policy.is_admin(user):
        return Q()
    return policy.company_scope_q(user.unit)


def _context(request: HttpRequest, period: m.Period, filters: dict[str, Any], keep: tuple = (),
             **extra: Any) -> dict[str, Any]:
    """`keep`: the page's own (name, value) parameters (the scorecard's unit kind, the table's grouping), which
    the filter bar submits again with the filters it has no field for (province, region), so that "Show" changes
    the month or a filter and nothing else."""
    language = translation.get_language() or "zh-hans"
    hidden = [(name, filters[name]) for name in ("province", "region") if name in filters]
    hidden += [(name, value) for name, value in keep if value not in (None, "")]
    errors = _period_and_errors(request)[1]
    ranged = bool(request.GET.get("start", "").strip() or request.GET.get("end", "").strip())
    filter_errors = _filters_and_errors(request)[1]
    return {
        "nav": "reports", "period": period, "filters": filters,
        "options": _filter_options(request.user, language, filters),
        # The month field is empty while From / To give the period (they win when filled), and the fields asked
        # for are shown as they were typed when they could not be read, next to their problems.
        "month_value": "" if ranged else period.start.strftime("%Y-%m"),
        "start_value": request.GET.get("start", "").strip()[:10] if ranged else "",
        "end_value": request.GET.get("end", "").strip()[:10] if ranged else "",
        "period_errors": errors, "max_range_days": MAX_RANGE_DAYS,
        "query": _query(period, filters),
        "previous_query": _query(period.previous(), filters), "keep": hidden,
        # What month-on-month and year-on-year compare with: for a From / To range the days just before it (as many),
        # not a month, so the pages name both periods.
        "previous_period": period.previous(), "year_period": period.year_before(),
        "period_unread": bool(errors), "filter_errors": filter_errors, **extra,
    }


def _fmt(value: float | int | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit in ("hours", "per10k"):
        return f"{value:.1f}"
    if unit == "score":
        return f"{value:.2f}"
    return f"{value:,}"


def _change(value: float | None, unit: str, measure: str = "") -> dict[str, Any] | None:
    """A change for display: its text, and whether it is an improvement (`better`) or not (`worse`), which
    depends on the measure: more overtime or a longer handling time is worse, a higher satisfaction better, more
    work orders neither."""
    if value is None:
        return None
    text = f"{value * 100:+.1f}" + (str(_("pt")) if unit == "rate" else "%")
    direction = m.DIRECTION.get(measure, 0)
    return {"text": text, "up": value > 0, "down": value < 0,
            "better": value * direction > 0, "worse": value * direction < 0}


# --- dashboard ------------------------------------------------------------------------------------------


@reports_required
def dashboard(request: HttpRequest) -> HttpResponse:
    period, filters = _period(request), _filters(request)
    user = request.user
    report = m.report(user, period, filters)
    cards = []
    for name in KPI_CARDS:
        label, unit = m.MEASURES[name]
        cards.append({
            "name": name, "label": label, "value": _fmt(report.values[name], unit),
            "mom": _change(report.mom[name], unit, name), "yoy": _change(report.yoy[name], unit, name),
            "url": _drill_url(period, filters, m.drill_measure(name)) if m.drill_measure(name) else None,
        })
    trend = m.every_day(m.table(user, period, "day", filters), period,
                        customers=m.customers_in_scope(user, filters, period.end))
    categories = m.table(user, period, "category_root", filters, with_previous=True)
    departments = m.table(user, period, "department", filters, with_previous=True)
    branches = m.table(user, period, "branch", filters)
    charts = {
        "trend": {
            "days": [r.label for r in trend], "volume": [r.values["volume"] for r in trend],
            "timeliness": [_pct(r.values["timeliness"]) for r in trend],
            # One list of links per series: a bar opens its work orders, a timeliness point the timely ones.
            "urls": {"volume": [_drill_url(period, filters, "volume", "day", r.key) if r.values["volume"] else None
                                for r in trend],
                     "timeliness": [_drill_url(period, filters, "timely", "day", r.key)
                                    if r.values["dispatched"] else None for r in trend]},
            "labels": {"volume": str(_("Work orders")), "timeliness": str(_("Timeliness rate"))},
        },
        "categories": [{"name": r.label, "value": r.values["volume"],
                        "url": _drill_url(period, filters, "volume", "category_root", r.key)}
                       for r in categories if r.values["volume"]],
        "departments": {
            "names": [r.label for r in departments if r.key],
            "timeliness": [_pct(r.values["timeliness"]) for r in departments if r.key],
            "satisfaction": [_pct(r.values["survey_satisfaction"]) for r in departments if r.key],
            "urls": {"timeliness": [_drill_url(period, filters, "timely", "department", r.key)
                                    for r in departments if r.key],
                     "satisfaction": [_drill_url(period, filters, "survey_satisfied", "department", r.key)
                                      for r in departments if r.key]},
            "labels": {"timeliness": str(_("Timeliness rate")),
                       "satisfaction": str(m.MEASURES["survey_satisfaction"][0])},
        },
        "branches": _ranking(branches, period, filters),
        "empty": str(_("No data for this period.")),
    }
    department_hops = _department_hops([r for r in departments if r.key], period, filters)
    short_boards = {
        "categories": _short_board(categories, "survey_satisfaction", period, filters, "category_root"),
        "departments": _short_board([r for r in departments if r.key], "timeliness", period, filters, "department"),
    }
    return render(request, "reports/dashboard.html", _context(
        request, period, filters, cards=cards, charts=charts, short_boards=short_boards, report=report,
        department_hops=department_hops, stale=rollups_stale(),
    ))


def rollups_stale() -> bool:
    """True when the newest ticket has no KPI fact and is not waiting for the fold either: data was loaded in
    bulk and `rebuild_rollups` not run. (A ticket created a second ago is noted, and folded within seconds.)"""
    newest = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (newest is not None and not ReportFact.objects.filter(pk=newest).exists()
            and not RollupPending.objects.filter(ticket_id=newest).exists())


DEPARTMENT_HOP_MEASURES = ("hops", "hops_returned", "return_rate", "hops_transferred", "hops_handled", "hop_mean",
                           "hop_median", "hop_p90")


def _department_hops(rows: list[m.TableRow], period: m.Period, filters: dict[str, Any]) -> dict[str, Any]:
    """Departments by their hops: received, returned (退单) and the return rate, transferred on, handled and the
    per-hop handling time; every number opens its hops (a rate its returned hops, a time the hops handled)."""
    body = []
    for r in rows:
        if not (r.values["hops"] or r.values["hops_handled"]):
            continue
        cells = []
        for name in DEPARTMENT_HOP_MEASURES:
            drill = m.drill_measure(name)
            url = _drill_url(period, filters, drill, "department", r.key) if drill and r.values[drill] else None
            cells.append({"text": _fmt(r.values[name], m.MEASURES[name][1]), "url": url})
        body.append({"label": r.label, "cells": cells})
    return {"columns": [m.MEASURES[name][0] for name in DEPARTMENT_HOP_MEASURES], "rows": body}


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _ranking(rows: list[m.TableRow], period: m.Period, filters: dict[str, Any]) -> dict[str, Any]:
    ranked = sorted((r for r in rows if r.key and r.values["dispatched"]),
                    key=lambda r: (r.values["timeliness"] or 0, r.values["volume"]))
    return {
        "names": [r.label for r in ranked], "timeliness": [_pct(r.values["timeliness"]) for r in ranked],
        "volume": [r.values["volume"] for r in ranked],
        "urls": {"timeliness": [_drill_url(period, filters, "timely", "branch", r.key) for r in ranked]},
        "labels": {"timeliness": str(_("Timeliness rate")), "volume": str(_("Work orders"))},
    }


def _short_board(rows: list[m.TableRow], measure: str, period: m.Period, filters: dict[str, Any],
                 group_by: str, limit: int = 5) -> dict[str, Any]:
    """The weakest rows on `measure`, with the change since the last period (短板)."""
    label, unit = m.MEASURES[measure]
    scored = [r for r in rows if r.values[measure] is not None]
    scored.sort(key=lambda r: r.values[measure])
    items = []
    for r in scored[:limit]:
        before = r.previous.get(measure)
        items.append({
            "label": r.label, "value": _fmt(r.values[measure], unit), "previous": _fmt(before, unit),
            "change": _change(m.change(r.values[measure], before, unit), unit, measure),
            "url": _drill_url(period, filters, SHORT_BOARD_DRILL.get(measure, "overtime"), group_by, r.key),
        })
    return {"measure": label, "items": items}


# --- tables ---------------------------------------------------------------------------------------------

TABLE_COUNTS = ("volume", "dispatched", "overtime", "problem", "replied", "closed", "fcr", "repeat", "returned",
                "satisfied", "surveys", "survey_responses", "survey_satisfied")
# A short board opens the tickets that make it short: the unsatisfied ones, or those over time (overtime or
# problem: not timely).
SHORT_BOARD_DRILL = {"satisfaction": "dissatisfied", "survey_satisfaction": "survey_unsatisfied",
                     "timeliness": "untimely"}


@reports_required
def table_view(request: HttpRequest) -> HttpResponse:
    if (refused := _unread_export(request)) is not None:
        return refused
    period, filters = _period(request), _filters(request)
    group_by = request.GET.get("group_by", "department")
    if group_by not in m.GROUPS:
        group_by = "department"
    # Per-group month-on-month and year-on-year changes (not for days / weeks / months: their groups are dates).
    comparable = group_by not in ("day", "week", "month")
    compare = comparable and request.GET.get("compare") == "1"
    rows = m.table(request.user, period, group_by, filters, with_previous=compare, with_year=compare)
    if group_by == "day":  # every day, a quiet one at 0, as the dashboard's trend and the monthly workbook have them
        rows = m.every_day(rows, period, customers=m.customers_in_scope(request.user, filters, period.end))
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        header = exports.measure_header(group_by, compare=compare)
        data = exports.measure_rows(rows, compare=compare, dates=group_by if fmt == "xlsx" else None)
        return _download(fmt, f"kpi-{group_by}-{period.start:%Y%m%d}-{period.end:%Y%m%d}", header, data,
                         str(m.GROUP_LABELS[group_by]))
    columns = [(name, m.MEASURES[name][0]) for name in exports.TABLE_MEASURES]
    body = []
    for r in rows:
        cells = []
        for name in exports.TABLE_MEASURES:
            unit = m.MEASURES[name][1]
            url = None
            drill = m.drill_measure(name)  # a count, or a rate's numerator
            if drill and r.values[drill]:
                url = _drill_url(period, filters, drill, group_by, r.key)
            cell = {"text": _fmt(r.values[name], unit), "url": url}
            if compare:
                cell.update(mom=_change(r.mom(name), unit, name), yoy=_change(r.yoy(name), unit, name))
            cells.append(cell)
        body.append({"label": r.label, "cells": cells})
    return render(request, "reports/table.html", _context(
        request, period, filters, keep=(("group_by", group_by), ("compare", "1" if compare else "")),
        group_by=group_by, groups=m.GROUP_LABELS.items(), columns=columns, rows=body,
        compare=compare, comparable=comparable,
    ))


# --- drill-down -----------------------------------------------------------------------------------------


@reports_required
def tickets_view(request: HttpRequest) -> HttpResponse:
    if (refused := _unread_export(request)) is not None:
        return refused
    period, filters = _period(request), _filters(request)
    measure = request.GET.get("measure", "volume")
    group_by = request.GET.get("group_by") or None
    group = request.GET.get("group") or None
    if measure not in m.DRILLABLE or (group_by is not None and group_by not in m.GROUPS):
        raise Http404(_("Unknown measure."))
    if group is not None and "\x00" in group:
        raise Http404(_("Unknown group."))  # no group holds a NUL character (PostgreSQL refused the query: a 500)
    if group_by is not None and group is not None and m.GROUPS[group_by].endswith("_id") and not is_db_id(group):
        raise Http404(_("Unknown group."))  # a unit or category id past the database's integers was a 500
    try:
        qs = m.drilldown(request.user, measure, period, filters, group_by, group)
    except (TypeError, ValueError):
        raise Http404(_("Unknown group.")) from None
    fmt = request.GET.get("format")
    if m.is_hop_measure(measure):
        return _hops_view(request, period, filters, measure, group_by, group, fmt)
    if fmt == "csv":
        response = StreamingHttpResponse(exports.ticket_csv(qs, translation.get_language(), counted_verdict=True),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="tickets-{measure}-{_span(period)}.csv"'
        return response
    if fmt == "xlsx":
        language = translation.get_language()
        return _download(fmt, f"tickets-{measure}-{_span(period)}", exports.ticket_header(),
                         exports.ticket_rows(qs, language, typed=True, counted_verdict=True), str(_("Work orders")))
    page, next_url = _newest_first_page(request, qs.select_related("category", "handler_unit", "customer"))
    return render(request, "reports/tickets.html", _context(
        request, period, filters, tickets=page, total=qs.count(), measure=measure,
        next_url=next_url, export_query=request.GET.urlencode(), **_list_labels(measure, group_by, group, period),
    ))


def _newest_first_page(request: HttpRequest, qs: QuerySet[Any]) -> tuple[list[Any], str | None]:
    """One page of a drill-down list, newest first, keyset by id (`?after=<last id shown>`), and the next
    page's URL (None on the last page)."""
    after = request.GET.get("after", "")
    page_qs = qs.order_by("-id")
    if is_db_id(after):
        page_qs = page_qs.filter(id__lt=int(after))
    page = list(page_qs[: PAGE + 1])
    if len(page) <= PAGE:
        return page, None
    page = page[:PAGE]
    next_query = request.GET.copy()
    next_query["after"] = str(page[-1].pk)
    return page, "?" + next_query.urlencode()


# Drill-down lists of counts that have no column of their own (no entry in `m.MEASURES`).
LIST_LABELS = {"dissatisfied": _("Not satisfied at callback"), "unreachable": _("Unreachable at callback")}


def _list_labels(measure: str, group_by: str | None, group: str | None, period: m.Period) -> dict[str, Any]:
    label = m.MEASURES[measure][0] if measure in m.MEASURES else LIST_LABELS.get(measure, measure)
    group_label = ""
    if group_by and group:
        try:
            key = dt.date.fromisoformat(group) if group_by in ("day", "week", "month") else (
                int(group) if m.GROUPS[group_by].endswith("_id") else group)
        except ValueError:
            key = group
        group_label = m.group_labels(group_by, [key], translation.get_language(), period).get(key, group)
    return {"measure_label": label, "group_by_label": m.GROUP_LABELS.get(group_by or "", ""),
            "group_label": group_label}


def _hops_view(request: HttpRequest, period: m.Period, filters: dict[str, Any], measure: str, group_by: str | None,
               group: str | None, fmt: str | None) -> HttpResponse:
    """The list behind a hop count: one row per hop (a work order with two such hops is listed twice), so that
    the list has as many rows as the number; exported as hops too."""
    hops = m.hop_drilldown(request.user, measure, period, filters, group_by, group)
    language = translation.get_language()
    if fmt in ("csv", "xlsx"):
        return _download(fmt, f"hops-{measure}-{_span(period)}", exports.hop_header(),
                         exports.hop_rows(hops, language, typed=fmt == "xlsx"), str(_("Hops")))
    page, next_url = _newest_first_page(request, hops.select_related("ticket", "ticket__customer"))
    units = m.group_labels("department", {h.department_id for h in page}, language)
    categories = m.group_labels("category", {h.category_id for h in page}, language)
    rows = [{"hop": h, "ticket": h.ticket, "department": units.get(h.department_id, ""),
             "category": categories.get(h.category_id, ""),
             "hours": None if h.hop_minutes is None else f"{h.hop_minutes / 60:.1f}"} for h in page]
    return render(request, "reports/hops.html", _context(
        request, period, filters, hops=rows, total=hops.count(), measure=measure,
        next_url=next_url, export_query=request.GET.urlencode(), **_list_labels(measure, group_by, group, period),
    ))


# --- scorecards -----------------------------------------------------------------------------------------


@reports_required
def scorecard_view(request: HttpRequest) -> HttpResponse:
    if (refused := _unread_export(request)) is not None:
        return refused
    period, filters = _period(request), _filters(request)
    unit_kind = request.GET.get("unit_kind", "branch")
    if unit_kind not in scorecards.UNIT_KINDS:
        unit_kind = "branch"
    scheme = scorecards.scheme_for(request.user, filters)
    card = scorecards.score(request.user, scheme, period, unit_kind, filters) if scheme else None
    fmt = request.GET.get("format")
    if card is not None and fmt in ("csv", "xlsx"):
        return _download(fmt, f"scorecard-{unit_kind}-{_span(period)}", scorecards.header(card),
                         scorecards.rows(card), str(scorecards.UNIT_KINDS[unit_kind]))
    if card is not None:
        _scorecard_links(card, filters)
    return render(request, "reports/scorecard.html", _context(
        request, period, filters, keep=(("unit_kind", unit_kind),), card=card, scheme=scheme, unit_kind=unit_kind,
        may_edit_scheme=scheme is not None and scorecards.may_edit_scheme(request.user, scheme),
        scheme_region=scorecards.scheme_region(request.user, filters),
        unit_kinds=scorecards.UNIT_KINDS.items(),
    ))


def _scorecard_links(card: scorecards.Scorecard, filters: dict[str, Any]) -> None:
    """Each scored cell links to its item's numerator list (timeliness: the timely work orders) for the unit,
    on the item's channel and, for a short board, the category it was measured on. Not drillable: window
    surveys (no work orders), items limited to several channels (one channel filter in a URL)."""
    within = _category_within(filters.get("category"))
    # A short board names the category it was measured on (the unit's weakest of last period): without it the
    # page showed a percentage of an unnamed category.
    names = m.group_labels("category_root", {c.category for u in card.units for c in u.items
                                             if c.category is not None}, translation.get_language())
    for unit in card.units:
        for item, cell in zip(card.items, unit.items, strict=True):
            if cell.category is not None:
                cell.category_label = str(names.get(cell.category, ""))
            drill = m.drill_measure(item.measure)
            channels = scorecards.item_channels(item)
            if drill is None or cell.value is None or len(channels) > 1:
                continue
            narrowed = dict(filters)
            if channels:
                narrowed["channel"] = channels[0]
            # A short board's top category, within the page's category filter: the narrower of the two (the filter
            # when it lies inside that top category), so that the list is the one the cell was measured on.
            if cell.category is not None and not within(cell.category):
                narrowed["category"] = cell.category
            cell.url = _drill_url(card.period, narrowed, drill, card.unit_kind, unit.unit_id)


def _category_within(category_id: int | None) -> Any:
    """A test: is the filter's category `category_id` inside (or) the category given to the test?"""
    category = Category.objects.filter(pk=category_id).only("path").first() if category_id else None
    if category is None:
        return lambda other: False
    ancestors = set(category.ancestor_ids())

    def within(other: int) -> bool:
        return other in ancestors or other == category.pk

    return within


# --- stored reports -------------------------------------------------------------------------------------


def _report_scopes(user: Any) -> set[str] | None:
    """The scopes of stored reports the user may download (None: all)."""
    scope = m.rollup_scope(user)
    if scope is None:
        return set()
    if not scope.children:
        return None
    name, value = scope.children[0]  # type: ignore[misc]
    if name == "province":
        # Reports are kept per region, per province and for "all" (every province): a province's users get the
        # province's report and its regions'.
        return {f"{PROVINCE_SCOPE}{value}", *OrgUnit.objects.filter(province=value).values_list("region", flat=True)}
    if name == "region":
        return {value}
    return set()  # no unit: nothing


@reports_required
def files_view(request: HttpRequest) -> HttpResponse:
    scopes = _report_scopes(request.user)
    reports = StoredReport.objects.all()
    if scopes is not None:
        reports = reports.filter(scope__in=scopes)
    # Pages of 120 (the newest month first): a province keeps 20-odd reports a month, the whole company hundreds;
    # a plain first 120 hid the older months and, at the company's size, most regions of the latest one.
    page = Paginator(reports, FILES_PAGE).get_page(request.GET.get("page"))
    # A department head reads the figures of their work orders only, not a region's workbook: the list said "No
    # reports yet." to them as if none had been produced.
    return render(request, "reports/files.html", {"nav": "reports", "reports": page.object_list, "page": page,
                                                  "none_for_user": scopes == set()})


@reports_required
def file_download(request: HttpRequest, pk: int) -> FileResponse:
    stored = get_object_or_404(StoredReport, pk=pk)
    scopes = _report_scopes(request.user)
    if scopes is not None and stored.scope not in scopes:
        raise Http404
    # The user's language, or ?language=zh-hans|en (the list offers both): the workbook and its name in it.
    language = request.GET.get("language", "")
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = translation.get_language() or settings.LANGUAGE_CODE
    handle = monthly.language_file(stored, language)
    with translation.override(language):
        filename = stored_report_filename(stored, handle.name)
    return FileResponse(handle.open("rb"), as_attachment=True, filename=filename)


def stored_report_filename(stored: StoredReport, name: str | None = None) -> str:
    """What a kept report downloads as: the report, its scope and its month ("月报 JM 2026-11.xlsx"), whatever name
    the storage gave the file (it appends random characters when a name is taken)."""
    scope = stored.scope_label()
    name = name or stored.file.name
    extension = name.rsplit(".", 1)[-1] if "." in name else "xlsx"
    label = str(_("Monthly report"))  # outside the f-string, where xgettext finds it
    return f"{label} {scope} {stored.period:%Y-%m}.{extension}"


# --- imports --------------------------------------------------------------------------------------------


def _import_fields(kind: str) -> imports.Fields:
    return imports.TICKET_FIELDS if kind == "tickets" else imports.CUSTOMER_FIELDS


def _posted_mapping(request: HttpRequest, fields: imports.Fields) -> tuple[imports.Mapping, dict[str, str]]:
    """The mapping form's choices (`map-<field>`: a column position, "" for none) and the problems of the post
    itself: a field sent twice, a value that is not a column position."""
    mapping: imports.Mapping = {}
    problems: dict[str, str] = {}
    for name in fields:
        values = request.POST.getlist(f"map-{name}")
        if len(values) > 1:
            problems[name] = str(_("This field is mapped twice: choose one column."))
            continue
        value = values[0].strip() if values else ""
        if not value:
            mapping[name] = None
        elif ascii_digits(value) and len(value) < 6:
            mapping[name] = int(value)
        else:
            mapping[name] = value  # not a position: check_mapping says the file has no such column
    return mapping, problems


@staff_required
def import_view(request: HttpRequest) -> HttpResponse:
    """upload → the file is kept on the server and its header and first rows read → the mapping form (one select
    per field, pre-filled by the usual headers) → dry run with the row-level report → import. Only the last
    step writes to the database."""
    user = request.user
    may_tickets = policy.can_create(user)
    may_customers = policy.is_admin(user) or user.has_role("supervisor")
    if not (may_tickets or may_customers):
        raise PermissionDenied(_("You may not import data."))
    context: dict[str, Any] = {"nav": "reports", "may_tickets": may_tickets, "may_customers": may_customers,
                               "fields": imports.TICKET_FIELDS, "customer_fields": imports.CUSTOMER_FIELDS,
                               "runs": ImportRun.objects.filter(created_by=user)[:20], "form": request.POST,
                               "jobs": ImportJob.objects.filter(created_by=user)[:10]}
    if request.method != "POST":
        return render(request, "reports/import.html", context)
    step = request.POST.get("step", "upload")
    if step == "upload":
        return _import_upload(request, context, may_tickets, may_customers)
    stashed = stash.find(request.POST.get("token", ""), user_id=user.pk)
    if stashed is None:
        context["errors"] = {"file": str(_("The uploaded file is no longer kept on the server: upload it again."))}
        return render(request, "reports/import.html", context, status=422)
    if step == "cancel":
        stash.drop(stashed)
        return render(request, "reports/import.html", context)
    if (stashed.kind == "tickets" and not may_tickets) or (stashed.kind == "customers" and not may_customers):
        raise PermissionDenied(_("You may not import data."))
    fields = _import_fields(stashed.kind)
    try:
        preview = imports.preview(stashed.path, fields, stashed.name)
    except imports.UnreadableFile as exc:  # read at the upload already: only if the file changed on the server
        context["errors"] = {"file": str(exc.message)}
        return render(request, "reports/import.html", context, status=422)
    mapping, problems = _posted_mapping(request, fields)
    columns, more = imports.check_mapping(preview.header, fields, mapping)
    problems = {**more, **problems}
    partial = bool(request.POST.get("partial"))
    _mapping_context(context, stashed, preview, fields, columns, mapping, problems, partial)
    if problems:
        return render(request, "reports/import.html", context, status=422)
    checked = _checked_digest(stashed, columns, partial)
    if step == "import" and request.POST.get("checked") != checked:
        step = "check"  # the mapping changed since the dry run: check it again first
        context["rechecked"] = True
    if importjobs.in_background(stashed):  # a large file: the worker runs it, the job's page shows it
        job = importjobs.start(user, stashed, columns, dry_run=step != "import", partial=partial)
        return redirect("reports:import_job", job.pk)
    result = _run_import(user, stashed, columns, dry_run=step != "import", partial=partial)
    context.update(result=result, kind=stashed.kind)
    if result.errors:  # the problems as a file to correct the upload in Excel, as for a background job
        context["problems_job"] = importjobs.record_finished(user, stashed, columns, result, partial=partial)
    if result.applied:
        stash.drop(stashed)
        context["mapping"] = None  # done: the page offers a new upload
    elif result.dry_run and result.valid and (partial or not result.error_count):
        context["checked"] = checked  # the import button
    return render(request, "reports/import.html", context, status=200 if not result.error_count else 422)


def _import_upload(request: HttpRequest, context: dict[str, Any], may_tickets: bool,
                   may_customers: bool) -> HttpResponse:
    upload = request.FILES.get("file")
    kind = request.POST.get("kind", "tickets")
    errors: dict[str, str] = {}
    if upload is None:
        errors["file"] = str(_("Choose a CSV or XLSX file."))
    elif upload.size and upload.size > MAX_UPLOAD:
        errors["file"] = str(_("The file is larger than %(limit)d MB.") % {"limit": MAX_UPLOAD // 1024 // 1024})
    if kind not in ("tickets", "customers"):
        errors["kind"] = str(_("Choose what to import."))
    elif (kind == "tickets" and not may_tickets) or (kind == "customers" and not may_customers):
        raise PermissionDenied(_("You may not import data."))
    if errors:
        context["errors"] = errors
        return render(request, "reports/import.html", context, status=422)
    assert upload is not None
    system = (request.POST.get("system", "").replace("\x00", "") or "legacy").strip()[:32] or "legacy"
    stashed = stash.keep(upload, user_id=request.user.pk, kind=kind, system=system)
    fields = _import_fields(kind)
    try:
        preview = imports.preview(stashed.path, fields, stashed.name)
    except imports.UnreadableFile as exc:  # reported on its line, as the import would
        stash.drop(stashed)
        result = imports.ImportResult()
        result.add_error(exc.line, "", exc.message)
        context.update(result=result, kind=kind)
        return render(request, "reports/import.html", context, status=422)
    mapping: imports.Mapping = {name: preview.guess.get(name) for name in fields}
    _mapping_context(context, stashed, preview, fields, preview.guess, mapping, {}, False)
    return render(request, "reports/import.html", context)


def _mapping_context(context: dict[str, Any], stashed: stash.Stashed, preview: imports.Preview,
                     fields: imports.Fields, columns: dict[str, int], mapping: imports.Mapping,
                     problems: dict[str, str], partial: bool) -> None:
    """The mapping form: the file's columns (header and first values), one row per field with its chosen column."""
    options = []
    for i in range(len(preview.header)):
        sample = next((row[i] for row in preview.rows if i < len(row) and row[i]), "")
        options.append({"value": str(i), "name": imports.column_name(preview.header, i), "sample": sample[:30]})
    rows = []
    for name, (label, required, synonyms) in fields.items():
        chosen = columns.get(name)
        if chosen is None and isinstance(mapping.get(name), int):
            chosen = mapping[name]  # refused (e.g. also chosen elsewhere): shown as chosen, with the problem
        rows.append({"name": name, "label": label, "required": required,
                     "chosen": "" if chosen is None else str(chosen), "error": problems.get(name, ""),
                     "usual": " / ".join(synonyms)})
    context.update(mapping={"token": stashed.token, "kind": stashed.kind, "name": stashed.name,
                            "system": stashed.system, "encoding": preview.encoding, "header": preview.header,
                            "rows": preview.rows, "columns": options, "fields": rows, "partial": partial,
                            # No line looked at named the usual columns, and a required field has none: say which
                            # lines were searched and which one is shown as the header.
                            "header_note": "" if getattr(preview.header, "recognised", True) or all(
                                name in columns for name, spec in fields.items() if spec[1])
                            else imports.header_not_found(preview.header, fields),
                            "unknown": {k: v for k, v in problems.items() if k not in fields}})


STALE_JOB = dt.timedelta(minutes=10)  # a running job that has reported nothing for this long has probably stopped


@staff_required
def import_job_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A background dry run or import (`importjobs`): how far it got while it runs (the page reloads itself), then
    its report; after a dry run that passed, the Import button (the same form as the import page's, for the same
    file and columns). Only for the user who started it."""
    job = get_object_or_404(ImportJob, pk=pk, created_by=request.user)
    progress = importjobs.read_progress(job)
    context: dict[str, Any] = {"nav": "reports", "job": job, "progress": progress, "result": job.result}
    running = job.state in (ImportJob.State.QUEUED, ImportJob.State.RUNNING)
    if running:
        last = dt.datetime.fromtimestamp(progress["at"], dt.UTC) if progress else (job.started_at or job.created_at)
        context["stale"] = timezone.now() - last > STALE_JOB
        context["refresh"] = not context["stale"]
    stashed = stash.find(job.token, user_id=request.user.pk)
    result = job.result or {}
    again = context.get("stale") or job.state == ImportJob.State.FAILED
    passed = (job.state == ImportJob.State.DONE and job.dry_run and result.get("valid")
              and (job.partial or not result.get("error_count")))
    if stashed is not None and (again or passed):
        # The next step's form: the import after a dry run that passed; the same step again after a failure.
        context["next"] = {"token": stashed.token, "partial": job.partial, "columns": sorted(job.columns.items()),
                           "step": "import" if (passed or not job.dry_run) else "check",
                           "checked": _checked_digest(stashed, job.columns, job.partial)}
    status = 422 if job.state == ImportJob.State.DONE and result.get("error_count") else 200
    return render(request, "reports/import_job.html", context, status=status)


@staff_required
def import_job_problems(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """A finished job's problems (line, column, problem; the first 1,000 the report keeps) as XLSX or CSV, for
    correcting the file in Excel. Only for the user who started the job."""
    job = get_object_or_404(ImportJob, pk=pk, created_by=request.user)
    if fmt not in ("csv", "xlsx") or not job.result:
        raise Http404
    header = [str(_("Line")), str(_("Column")), str(_("Problem"))]
    rows = [[e["row"], capfirst(e["column"]), e["message"]] for e in job.result.get("errors", [])]
    stem = f"import-{job.pk}-problems"
    return _download(fmt, stem, header, rows, str(_("Problems")))


def _checked_digest(stashed: stash.Stashed, columns: dict[str, int], partial: bool) -> str:
    """What a dry run checked (file, mapping, mode), signed: the import button carries it."""
    return signing.Signer(salt="loopdesk.reports.import-checked").sign(
        f"{stashed.path.name}:{sorted(columns.items())}:{int(partial)}").rsplit(":", 1)[1]


def _run_import(user: Any, stashed: stash.Stashed, columns: dict[str, int], *, dry_run: bool,
                partial: bool) -> imports.ImportResult:
    try:  # exactly the checked columns
        return importjobs.import_file(user, stashed.kind, stashed.path, name=stashed.name, system=stashed.system,
                                      columns=columns, dry_run=dry_run, partial=partial)
    except DomainError as exc:
        raise PermissionDenied(str(exc.message)) from exc


# --- downloads ------------------------------------------------------------------------------------------


def _span(period: m.Period) -> str:
    """A period in an export's file name: a month as 202611; any other period by its days, as the KPI table's
    export (a range of days was named for its first month as if it were the whole month, or a drill-down list for
    its first day)."""
    return f"{period.start:%Y%m}" if period.is_month() else f"{period.start:%Y%m%d}-{period.end:%Y%m%d}"


def _download(fmt: str, stem: str, header: list[str], rows: Any, sheet: str) -> HttpResponse:
    if fmt == "csv":
        response = StreamingHttpResponse(exports.csv_stream(header, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
        return response
    handle = exports.xlsx_file([(sheet, header, rows)])
    return FileResponse(handle, as_attachment=True, filename=f"{stem}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
