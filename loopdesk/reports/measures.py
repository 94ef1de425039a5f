"""KPI measures read from the rollups, scoped to what the user may see, and the tickets behind every number.

- `totals(user, period, filters, group_by)` sums the rollup counters per group;
- `derive(totals)` turns counters into the measures (domain.md §4, §7): timeliness = timely / dispatched
  where timely = dispatched − overtime − problem, handling-time mean / median / p90, first-contact
  resolution, repeat, return and callback rates, satisfaction;
- `report(...)` adds month-on-month and year-on-year change;
- `drilldown(user, counter, period, filters, group)` is the ticket queryset behind a counter: its count
  equals the number shown (the same conditions, on the same facts).

Region-wide roles (supervisor, auditor, dispatcher, administrator) read the rollups filtered by their
region / province. Everyone else sees figures of exactly the tickets `visible_tickets` gives them,
aggregated from the facts of those tickets (a small set by construction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loopdesk.customers.choices import Brand, Tier, VipLevel
from loopdesk.customers.models import Customer
from loopdesk.org.choices import Role, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.reports import customerbase
from loopdesk.reports.models import (
    BUCKET_EDGES_HOURS,
    BUCKETS,
    DailyRollup,
    DailyTotal,
    HopFact,
    ImportRun,
    MonthlyRollup,
    ReportFact,
)
from loopdesk.reports.rollups import (
    COUNTER_BY_NAME,
    COUNTER_NAMES,
    DAY_FIELDS,
    HOP_DAY_FIELDS,
    family_queryset,
    hop_family_queryset,
)
from loopdesk.tickets.choices import Channel, ContactType
from loopdesk.tickets.models import Category, Ticket
from loopdesk.tickets.policy import company_scope_q, is_admin, visible_tickets

Totals = dict[str, int]

# Dimensions a table can be grouped by: name -> rollup / fact column.
GROUPS = {
    "day": "day", "week": "day", "month": "day", "region": "region", "branch": "branch_id",
    "department": "department_id", "category": "category_id", "category_root": "category_id",
    "category_mid": "category_id",
    "contact_type": "contact_type", "channel": "channel", "tier": "tier", "brand": "brand",
}
GROUP_LABELS = {
    "day": _("Day"), "week": _("Week"), "month": _("Month"), "region": _("Region"), "branch": _("Branch"),
    "department": _("Department"), "category": _("Category"), "category_root": _("Top category"),
    "category_mid": _("Second-level category"),
    "contact_type": _("Contact type"), "channel": _("Channel"), "tier": _("Customer tier"), "brand": _("Brand"),
}
# Filters: name -> (rollup / fact column, how the value is read from a query string).
FILTERS = {
    "province": "province", "region": "region", "branch": "branch_id", "department": "department_id",
    "category": "category_id",
    "contact_type": "contact_type", "channel": "channel", "tier": "tier", "brand": "brand",
}

# The measures, their labels and what drills down from them.
# The first handling-time bucket of 48 h or more (buckets hold hours < their upper edge): a hop there is late.
LATE_HOP_BUCKET = BUCKET_EDGES_HOURS.index(48) + 1

MEASURES: dict[str, tuple[Any, str]] = {  # name -> (label, unit: count | rate | hours | per10k)
    "volume": (_("Work orders"), "count"),
    "per_10k": (_("Complaints per 10,000 customers"), "per10k"),
    "complaints": (_("Complaints"), "count"),
    "appeals": (_("Regulator appeals"), "count"),
    "dispatched": (_("Dispatched work orders"), "count"),
    "timely": (_("Timely"), "count"),
    "untimely": (_("Not timely (overtime or problem)"), "count"),
    "timeliness": (_("Timeliness rate"), "rate"),
    "overtime": (_("Overtime tickets (not yet problem tickets)"), "count"),  # the SLA flags: each policy's limits
    "overtime_rate": (_("Overtime ticket rate"), "rate"),
    "problem": (_("Problem tickets (past their problem limit)"), "count"),
    "problem_rate": (_("Problem ticket rate"), "rate"),
    "replied": (_("Replied work orders"), "count"),
    "reply_mean": (_("Dispatch to reply, mean (h)"), "hours"),
    "reply_median": (_("Dispatch to reply, median (h)"), "hours"),
    "reply_p90": (_("Dispatch to reply, p90 (h)"), "hours"),
    "answered": (_("Answered work orders"), "count"),
    "e2e_mean": (_("Registration to answer, mean (h)"), "hours"),
    "e2e_median": (_("Registration to answer, median (h)"), "hours"),
    "e2e_p90": (_("Registration to answer, p90 (h)"), "hours"),
    "closed": (_("Closed work orders"), "count"),
    "fcr": (_("First-contact resolutions"), "count"),
    "fcr_rate": (_("First-contact resolution rate"), "rate"),
    "repeat": (_("Repeat complaints"), "count"),
    "repeat_rate": (_("Repeat complaint rate"), "rate"),
    "returned": (_("Returned work orders"), "count"),
    # Hops: each period a department holds a work order (dispatch / transfer to it → its reply, transfer on or
    # return), by the department that held it: received and returned on the day received, handling time
    # (elapsed) over the hops it replied, transferred or returned, on the day the hop ended.
    "hops": (_("Hops received"), "count"),
    "hops_returned": (_("Hops returned (退单)"), "count"),
    "return_rate": (_("Return rate (returned hops / hops received)"), "rate"),
    "hops_transferred": (_("Hops transferred on"), "count"),
    "hops_handled": (_("Hops handled"), "count"),
    "hop_mean": (_("Per hop handling, mean (h)"), "hours"),
    "hop_median": (_("Per hop handling, median (h)"), "hours"),
    "hop_p90": (_("Per hop handling, p90 (h)"), "hours"),
    # Each department's own timeliness: its hops handled within 48 h (elapsed), whichever department the work
    # order went to last (the ticket-level overtime and problem counts go to the last department).
    "hops_timely": (_("Hops handled within 48 h"), "count"),
    "hops_late": (_("Hops handled in 48 h or more"), "count"),
    "hop_timeliness": (_("Per hop timeliness (hops handled within 48 h)"), "rate"),
    "callbacks": (_("Callbacks completed"), "count"),
    "callback_rate": (_("Callback completion"), "rate"),
    "satisfied": (_("Satisfied at callback"), "count"),
    "satisfaction": (_("Satisfaction rate"), "rate"),
    # Satisfaction surveys (1–5) of closed work orders, by the ticket's dimensions, on the day sent.
    "surveys": (_("Surveys sent"), "count"),
    "survey_responses": (_("Surveys answered"), "count"),
    "survey_response_rate": (_("Survey response rate"), "rate"),
    "survey_mean": (_("Mean survey score (1–5)"), "score"),
    "survey_satisfied": (_("Satisfied in surveys (4–5)"), "count"),
    "survey_unsatisfied": (_("Not satisfied in surveys (1–3)"), "count"),
    "survey_satisfaction": (_("Survey satisfaction (% satisfied)"), "rate"),
    # Window-service surveys (hall, hotline), by channel and the unit rated.
    "window_surveys": (_("Window surveys sent"), "count"),
    "window_response_rate": (_("Window survey response rate"), "rate"),
    "window_mean": (_("Window service mean score (1–5)"), "score"),
    "window_satisfaction": (_("Window service satisfaction (% satisfied)"), "rate"),
}
# Which way a measure should move: 1 higher is better, -1 lower is better; volumes and activity counts are
# neither (0, absent). The pages colour a change by it (more overtime is bad news, not good).
DIRECTION: dict[str, int] = {
    **dict.fromkeys(("timely", "timeliness", "fcr", "fcr_rate", "callbacks", "callback_rate", "satisfied",
                     "satisfaction", "survey_responses", "survey_response_rate", "survey_mean", "survey_satisfied",
                     "survey_satisfaction", "window_response_rate", "window_mean", "window_satisfaction", "hops_timely",
                     "hop_timeliness"), 1),
    **dict.fromkeys(("per_10k", "complaints", "appeals", "untimely", "overtime", "overtime_rate", "problem",
                     "problem_rate", "reply_mean", "reply_median", "reply_p90", "e2e_mean", "e2e_median", "e2e_p90",
                     "repeat", "repeat_rate", "returned", "hops_returned", "return_rate", "hop_mean", "hop_median",
                     "hop_p90", "survey_unsatisfied", "hops_late"), -1),
}
# Counts a user can click: measure -> (counter, extra condition on the fact).
DRILLABLE: dict[str, tuple[str, Q]] = {
    "volume": ("created", Q()),
    "complaints": ("complaints", Q()),
    "appeals": ("appeals", Q()),
    "dispatched": ("dispatched", Q()),
    "timely": ("dispatched", Q(overtime=False, problem=False)),
    "untimely": ("dispatched", Q(overtime=True) | Q(problem=True)),
    "overtime": ("overtime", Q()),
    "problem": ("problem", Q()),
    "replied": ("replied", Q()),
    "answered": ("answered", Q()),
    "closed": ("closed", Q()),
    "fcr": ("fcr", Q()),
    "repeat": ("repeat", Q()),
    "returned": ("returns", Q()),
    # Hop counts drill down to their hops (one row per hop: a work order returned by two departments is listed
    # twice, once under each), so the list has as many rows as the number.
    "hops": ("hops", Q()),
    "hops_returned": ("hop_returned", Q()),
    "hops_transferred": ("hop_transferred", Q()),
    "hops_handled": ("hop_done", Q()),
    "hops_timely": ("hop_done", Q(hop_bucket__lt=LATE_HOP_BUCKET)),
    "hops_late": ("hop_done", Q(hop_bucket__gte=LATE_HOP_BUCKET)),
    "callbacks": ("cb_done", Q()),
    "satisfied": ("cb_satisfied", Q()),
    "dissatisfied": ("cb_dissatisfied", Q()),
    "unreachable": ("cb_unreachable", Q()),
    "surveys": ("sv_sent", Q()),
    "survey_responses": ("sv_answered", Q()),
    "survey_satisfied": ("sv_satisfied", Q()),
    "survey_unsatisfied": ("sv_answered", Q(survey_score__lt=4)),
}

# A rate opens the list of its numerator (the tickets it counts); a rate not listed has no list.
NUMERATOR: dict[str, str] = {
    "timeliness": "timely", "overtime_rate": "overtime", "problem_rate": "problem", "fcr_rate": "fcr",
    "repeat_rate": "repeat", "return_rate": "hops_returned", "callback_rate": "callbacks", "satisfaction": "satisfied",
    "survey_satisfaction": "survey_satisfied", "survey_response_rate": "survey_responses",
    "hop_timeliness": "hops_timely",
}


# A handling time or a mean score opens what it is measured over: a per-hop time the hops handled, dispatch → reply
# the replied work orders, registration → answer the answered ones, the mean survey score the answered surveys;
# complaints per 10,000 customers open the complaints.
MEASURED_OVER: dict[str, str] = {
    **dict.fromkeys(("hop_mean", "hop_median", "hop_p90"), "hops_handled"),
    **dict.fromkeys(("reply_mean", "reply_median", "reply_p90"), "replied"),
    **dict.fromkeys(("e2e_mean", "e2e_median", "e2e_p90"), "answered"),
    "survey_mean": "survey_responses", "per_10k": "complaints",
}


def drill_measure(measure: str) -> str | None:
    """The drill-down list behind a number: the count itself, a rate's numerator, or the hops a per-hop handling
    time is measured over; None when there is none."""
    if measure in DRILLABLE:
        return measure
    return NUMERATOR.get(measure) or MEASURED_OVER.get(measure)


def is_hop_measure(measure: str) -> bool:
    """True for the counts of hops (their lists are hops, `hop_drilldown`)."""
    return measure in DRILLABLE and COUNTER_BY_NAME[DRILLABLE[measure][0]].day in HOP_DAY_FIELDS


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = dt.date(year, month, 1)
        nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
        return cls(start, nxt - dt.timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def is_whole_months(self) -> bool:
        return self.start.day == 1 and (self.end + dt.timedelta(days=1)).day == 1

    def is_month(self) -> bool:
        return self.start.day == 1 and self.end == Period.month(self.start.year, self.start.month).end

    def previous(self) -> Period:
        """The period before (the previous calendar month for a month): month-on-month."""
        if self.is_month():
            prev = self.start - dt.timedelta(days=1)
            return Period.month(prev.year, prev.month)
        if self.is_whole_months():  # several calendar months: as many months before (Jan–Feb: Nov–Dec)
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
            index = self.start.year * 12 + self.start.month - 1 - months
            before_end = self.start - dt.timedelta(days=1)
            return Period(dt.date(index // 12, index % 12 + 1, 1), before_end)
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))

    def year_before(self) -> Period:
        def back(d: dt.date) -> dt.date:
            try:
                return d.replace(year=d.year - 1)
            except ValueError:  # 29 February
                return d.replace(year=d.year - 1, day=28)

        if self.is_whole_months():  # the same calendar months (January–February 2029: to 29 February 2028)
            return Period(back(self.start), Period.month(self.end.year - 1, self.end.month).end)
        return Period(back(self.start), back(self.end))


# --- scope --------------------------------------------------------------------------------------------


def rollup_scope(user: Any) -> Q | None:
    """The rollup rows a region-wide user may read, or None when the user's scope is narrower than a region."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if is_admin(user):
        return Q()
    if user.role_codes & {Role.SUPERVISOR, Role.AUDITOR, Role.DISPATCHER}:
        return company_scope_q(user.unit)
    return None


def _category_ids(category_id: int) -> list[int]:
    category = Category.objects.filter(pk=category_id).only("path").first()
    if category is None:
        return []
    return list(Category.objects.filter(path__startswith=category.path).values_list("pk", flat=True))


def filter_q(filters: dict[str, Any] | None, prefix: str = "") -> Q:
    """A Q on rollup rows or facts (or tickets, with prefix "report_fact__") for the chosen filters."""
    q = Q()
    for name, value in (filters or {}).items():
        if value in (None, ""):
            continue
        column = FILTERS[name]
        if name == "category":
            q &= Q(**{f"{prefix}category_id__in": _category_ids(int(value))})
        elif isinstance(value, list | tuple | set | frozenset):
            q &= Q(**{f"{prefix}{column}__in": list(value)})
        else:
            q &= Q(**{f"{prefix}{column}": value})
    return q


# --- totals -------------------------------------------------------------------------------------------


def _empty() -> Totals:
    return dict.fromkeys(COUNTER_NAMES, 0)


def _add(into: Totals, row: dict[str, Any], names: Iterable[str] = COUNTER_NAMES) -> None:
    for name in names:
        into[name] += row.get(name) or 0


def _group_value(group_by: str | None, raw: Any, categories: dict[int, list[int]] | None) -> Any:
    if group_by in ("day", "week", "month"):
        day = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw))
        if group_by == "week":
            return day - dt.timedelta(days=day.weekday())
        if group_by == "month":
            return day.replace(day=1)
        return day
    if group_by == "category_root" and categories is not None:
        ancestors = categories.get(raw)
        return ancestors[0] if ancestors else raw
    if group_by == "category_mid" and categories is not None:
        # The second level of the tree (基础通信 > 信号覆盖 > 室内无信号: 信号覆盖); a top category itself for a
        # work order filed directly under it.
        ancestors = categories.get(raw)
        return ancestors[:2][-1] if ancestors else raw
    return raw


def _ancestor_ids() -> dict[int, list[int]]:
    """Every category's ancestors from the root down, itself included (read from the paths, no model instances)."""
    return {pk: [int(part) for part in path.strip("/").split("/") if part]
            for pk, path in Category.objects.values_list("pk", "path")}


def _source(period: Period, names: tuple[str, ...], filters: dict[str, Any] | None) -> str:
    """The smallest rollup table that answers: daily totals, the monthly cube, or the full daily cube."""
    active = {k for k, v in (filters or {}).items() if v not in (None, "")}
    if active <= {"province", "region"} and set(names) <= {"day", "week", "month", "region"}:
        return "totals"
    root_filter = "category" not in active or Category.objects.filter(
        pk=int(filters["category"]), depth=0).exists()  # type: ignore[index]
    if period.is_whole_months() and not set(names) & {"day", "week", "category", "category_mid"} and root_filter:
        return "monthly"
    return "daily"


def _rollup_rows(scope: Q, period: Period, names: tuple[str, ...], filters: dict[str, Any] | None,
                 sums: dict[str, Any]) -> tuple[Iterable[dict[str, Any]], dict[str, str]]:
    """Aggregated rollup rows and the column each grouping is read from."""
    source = _source(period, names, filters)
    columns = {name: GROUPS[name] for name in names}
    qs: QuerySet[Any]
    if source == "totals":
        qs = DailyTotal.objects.filter(scope, filter_q(filters), day__range=(period.start, period.end))
    elif source == "monthly":
        rest = {k: v for k, v in (filters or {}).items() if k != "category"}
        qs = MonthlyRollup.objects.filter(scope, filter_q(rest), month__range=(period.start, period.end))
        if filters and filters.get("category"):
            qs = qs.filter(category_root_id=int(filters["category"]))
        columns = {name: {"month": "month", "category_root": "category_root_id"}.get(name, GROUPS[name])
                   for name in names}
    else:
        qs = DailyRollup.objects.filter(scope, filter_q(filters), day__range=(period.start, period.end))
    selected = list(dict.fromkeys(columns.values()))
    raw = qs.values(*selected).annotate(**sums).order_by() if selected else [qs.aggregate(**sums)]
    return ({k[2:] if k.startswith("s_") else k: v for k, v in row.items()} for row in raw), columns


def totals(
    user: Any, period: Period, filters: dict[str, Any] | None = None, group_by: str | tuple[str, ...] | None = None,
    counters: Iterable[str] | None = None,
) -> dict[Any, Totals]:
    """Summed counters per group value (a tuple for several groupings; None without grouping), in the user's scope.

    `counters` (default: all) sums only those; the others are left at 0, so only the measures derived from
    them (`MEASURE_COUNTERS`) are right: the scorecard sums the few its items need."""
    scope = rollup_scope(user)
    names = (group_by,) if isinstance(group_by, str) else tuple(group_by or ())
    categories = _ancestor_ids() if {"category_root", "category_mid"} & set(names) else None
    out: dict[Any, Totals] = {}
    summed = COUNTER_NAMES if counters is None else tuple(dict.fromkeys(counters))
    # Aliased ("s_created") so an aggregate never shadows the column another one sums.
    sums = {f"s_{name}": Sum(name) for name in summed}
    rows: Iterable[dict[str, Any]]
    if scope is None:
        rows, columns = _narrow_rows(user, period, filters), {name: GROUPS[name] for name in names}
    else:
        rows, columns = _rollup_rows(scope, period, names, filters, sums)
    for row in rows:
        parts = tuple(_group_value(name, row.get(columns[name]), categories) for name in names)
        key = None if not names else parts[0] if isinstance(group_by, str) else parts
        _add(out.setdefault(key, _empty()), row, summed)
    if not out and not names:
        out[None] = _empty()
    return out


def _narrow_rows(user: Any, period: Period, filters: dict[str, Any] | None) -> list[dict]:
    """Rollup-like rows computed from the facts of the tickets the user may see."""
    visible = visible_tickets(user).values("pk")
    facts = ReportFact.objects.filter(ticket__in=visible).filter(filter_q(filters))
    rows: list[dict[str, Any]] = []
    for day_field in DAY_FIELDS:
        family = facts.filter(**{f"{day_field}__range": (period.start, period.end)})
        rows.extend(family_queryset(day_field, family))
    hops = HopFact.objects.filter(ticket__in=visible).filter(filter_q(filters))
    for day_field in HOP_DAY_FIELDS:
        rows.extend(hop_family_queryset(day_field, hops.filter(**{f"{day_field}__range": (period.start, period.end)})))
    return rows


# --- measures ------------------------------------------------------------------------------------------


# The counters each rate of `derive` is computed from (a scorecard item sums only these).
MEASURE_COUNTERS: dict[str, tuple[str, ...]] = {
    "timeliness": ("dispatched", "overtime", "problem"),
    "overtime_rate": ("overtime", "dispatched"),
    "problem_rate": ("problem", "dispatched"),
    "fcr_rate": ("fcr", "closed"),
    "repeat_rate": ("repeat", "complaints", "appeals"),
    "return_rate": ("hop_returned", "hops"),
    "hop_timeliness": ("hop_done", *(f"hh{i}" for i in range(LATE_HOP_BUCKET, BUCKETS))),
    "callback_rate": ("cb_done", "cb_due"),
    "satisfaction": ("cb_satisfied", "cb_dissatisfied"),
    "survey_response_rate": ("sv_answered", "sv_sent"),
    "survey_satisfaction": ("sv_satisfied", "sv_answered"),
    "window_response_rate": ("ws_answered", "ws_sent"),
    "window_satisfaction": ("ws_satisfied", "ws_answered"),
}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile_hours(buckets: list[int], fraction: float) -> float | None:
    """The `fraction` quantile of a handling-time histogram, interpolated within its bucket (hours)."""
    total = sum(buckets)
    if not total:
        return None
    target = fraction * total
    seen = 0
    edges = (0, *BUCKET_EDGES_HOURS)
    for i, count in enumerate(buckets):
        if count and seen + count >= target:
            low = edges[i]
            if i >= len(BUCKET_EDGES_HOURS):
                return float(low)  # the open-ended last bucket: "at least"
            high = BUCKET_EDGES_HOURS[i]
            return low + (high - low) * (target - seen) / count
        seen += count
    return float(edges[-1])


def _customer_conditions(user: Any, filters: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The conditions (and exclusions) on customers for the user's scope and the filters that describe customers
    (region, branch: the customers' home branch, tier, brand); None when a filter lies outside the scope."""
    unit = user.unit
    conditions: dict[str, Any] = {}
    if not is_admin(user) and unit is None:
        return None  # no unit, no scope: no figures (rollup_scope), and no customers either
    if not is_admin(user) and unit is not None and unit.level != UnitLevel.HQ:
        conditions = {"province": unit.province} if unit.level == UnitLevel.PROVINCE else {"region": unit.region}
    for name, column in (("province", "province"), ("region", "region"), ("brand", "brand"),
                         ("branch", "home_branch_id")):
        if filters and filters.get(name):
            if column in conditions and conditions[column] != filters[name]:
                return None  # a region outside the user's scope: none of its customers (the figure shows "—")
            conditions[column] = filters[name]
    excluded: dict[str, Any] = {}
    tier = (filters or {}).get("tier")
    if tier == Tier.VIP:
        excluded["vip_level"] = VipLevel.NONE
    elif tier:  # regular, or a tier no customer has
        conditions["vip_level"] = VipLevel.NONE if tier == Tier.REGULAR else "-"
    return conditions, excluded


def _customers_cache_key(conditions: dict[str, Any], excluded: dict[str, Any], group_by: str = "") -> str:
    # Every import (customers, or work orders that bring new customers) leaves an ImportRun: the newest one's id in
    # the key makes every process count again after an import (the default cache is per process).
    last_import = ImportRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return (f"reports:customers:{last_import}:" + ",".join(f"{k}={v}" for k, v in sorted(conditions.items()))
            + (";not-none" if excluded else "") + (f";by={group_by}" if group_by else ""))


def customers_in_scope(user: Any, filters: dict[str, Any] | None, end: dt.date | None = None) -> int:
    """How many customers the user's scope and the filters that describe customers cover (region, branch: the
    customers' home branch, tier, brand): the complaints counted under a filter are divided by the customers under
    the same filter, not by every customer of the scope. `end`: the last day of the period divided, whose customer
    base is the one kept for that day (`customerbase`); today's customers (cached for an hour) for the current
    period, without `end`, or when no base was kept on or before it."""
    found = _customer_conditions(user, filters)
    if found is None:
        return 0
    conditions, excluded = found
    if end is None:
        return _live_customers(conditions, excluded)
    return customerbase.customers_at_ends(
        conditions, excluded, [end], lambda: _live_customers(conditions, excluded))[end]


def _live_customers(conditions: dict[str, Any], excluded: dict[str, Any]) -> int:
    key = _customers_cache_key(conditions, excluded)
    count = cache.get(key)
    if count is None:
        count = Customer.objects.filter(**conditions).exclude(**excluded).count()
        cache.set(key, count, 3600)
    return int(count)


# Groupings that describe customers: the customers of each group are counted (per 10,000 customers of a branch are
# its home customers), by this column of the customer.
CUSTOMER_GROUPS = {"region": "region", "branch": "home_branch_id", "brand": "brand", "tier": "vip_level"}


def customers_by_group(user: Any, filters: dict[str, Any] | None, group_by: str, period: Period | None = None,
                       keys: Iterable[Any] = ()) -> dict[Any, int] | int:
    """The customers behind "per 10,000 customers" of each group of a table for `period` (its customer base: that of
    its last day, `customers_in_scope`): per group for the groupings that describe customers (`CUSTOMER_GROUPS`: one
    grouped count, cached for an hour), per day, week or month of `keys` the base of its own last day, else the same
    number for every group (complaints of a category per 10,000 customers of the scope)."""
    end = period.end if period is not None else None
    column = CUSTOMER_GROUPS.get(group_by)
    if column is None:
        if period is None or group_by not in ("day", "week", "month"):
            return customers_in_scope(user, filters, end)
        found = _customer_conditions(user, filters)
        keys = [k for k in keys if k is not None]
        if found is None:
            return dict.fromkeys(keys, 0)
        conditions, excluded = found
        ends = {key: _sub_period(period, group_by, key).end for key in keys}
        live = _once(lambda: _live_customers(conditions, excluded))
        by_end = customerbase.customers_at_ends(conditions, excluded, set(ends.values()), live)
        return {key: by_end[day] for key, day in ends.items()}
    found = _customer_conditions(user, filters)
    if found is None:
        return {}
    conditions, excluded = found
    if end is not None:
        kept = customerbase.customers_by(conditions, excluded, end, column)
        if kept is not None:
            return kept  # tier and branch already as the facts name them (vip / regular, 0 for none)
    key = _customers_cache_key(conditions, excluded, group_by)
    counts = cache.get(key)
    if counts is None:
        counts = {}
        rows = (Customer.objects.filter(**conditions).exclude(**excluded).order_by().values_list(column)
                .annotate(n=Count("pk")))
        for value, n in rows:
            if group_by == "tier":
                value = Tier.REGULAR if value == VipLevel.NONE else Tier.VIP
            elif group_by == "branch":
                value = value or 0  # no home branch: the "(none)" branch of the facts
            counts[value] = counts.get(value, 0) + n
        cache.set(key, counts, 3600)
    return dict(counts)


def _once(count: Any) -> Any:
    """`count` called at most once (today's customers, needed for any number of period ends)."""
    memo: list[int] = []

    def call() -> int:
        if not memo:
            memo.append(count())
        return memo[0]
    return call


def derive(t: Totals, customers: int | None = None) -> dict[str, float | int | None]:
    """The measures from summed counters."""
    reply = [t[f"rh{i}"] for i in range(BUCKETS)]
    per_hop = [t[f"hh{i}"] for i in range(BUCKETS)]
    e2e = [t[f"eh{i}"] for i in range(BUCKETS)]
    late_hops = sum(per_hop[LATE_HOP_BUCKET:])
    timely = t["dispatched"] - t["overtime"] - t["problem"]
    verdicts = t["cb_satisfied"] + t["cb_dissatisfied"]
    values: dict[str, float | int | None] = {
        "volume": t["created"],
        "per_10k": t["complaints"] * 10000 / customers if customers else None,
        "complaints": t["complaints"],
        "appeals": t["appeals"],
        "dispatched": t["dispatched"],
        "timely": timely,
        "untimely": t["overtime"] + t["problem"],
        "timeliness": _rate(timely, t["dispatched"]),
        "overtime": t["overtime"],
        "overtime_rate": _rate(t["overtime"], t["dispatched"]),
        "problem": t["problem"],
        "problem_rate": _rate(t["problem"], t["dispatched"]),
        "replied": t["replied"],
        "reply_mean": t["reply_minutes"] / 60 / t["replied"] if t["replied"] else None,
        "reply_median": percentile_hours(reply, 0.5),
        "reply_p90": percentile_hours(reply, 0.9),
        "answered": t["answered"],
        "e2e_mean": t["e2e_minutes"] / 60 / t["answered"] if t["answered"] else None,
        "e2e_median": percentile_hours(e2e, 0.5),
        "e2e_p90": percentile_hours(e2e, 0.9),
        "closed": t["closed"],
        "fcr": t["fcr"],
        "fcr_rate": _rate(t["fcr"], t["closed"]),
        "repeat": t["repeat"],
        "repeat_rate": _rate(t["repeat"], t["complaints"] + t["appeals"]),
        "returned": t["returns"],
        "hops": t["hops"],
        "hops_returned": t["hop_returned"],
        "return_rate": _rate(t["hop_returned"], t["hops"]),
        "hops_transferred": t["hop_transferred"],
        "hops_handled": t["hop_done"],
        "hop_mean": t["hop_minutes"] / 60 / t["hop_done"] if t["hop_done"] else None,
        "hop_median": percentile_hours(per_hop, 0.5),
        "hop_p90": percentile_hours(per_hop, 0.9),
        "hops_timely": t["hop_done"] - late_hops,
        "hops_late": late_hops,
        "hop_timeliness": _rate(t["hop_done"] - late_hops, t["hop_done"]),
        "callbacks": t["cb_done"],
        "callback_rate": _rate(t["cb_done"], t["cb_due"]),
        "satisfied": t["cb_satisfied"],
        "satisfaction": _rate(t["cb_satisfied"], verdicts),
        "surveys": t["sv_sent"],
        "survey_responses": t["sv_answered"],
        "survey_response_rate": _rate(t["sv_answered"], t["sv_sent"]),
        "survey_mean": t["sv_score"] / t["sv_answered"] if t["sv_answered"] else None,
        "survey_satisfied": t["sv_satisfied"],
        "survey_unsatisfied": t["sv_answered"] - t["sv_satisfied"],
        "survey_satisfaction": _rate(t["sv_satisfied"], t["sv_answered"]),
        "window_surveys": t["ws_sent"],
        "window_response_rate": _rate(t["ws_answered"], t["ws_sent"]),
        "window_mean": t["ws_score"] / t["ws_answered"] if t["ws_answered"] else None,
        "window_satisfaction": _rate(t["ws_satisfied"], t["ws_answered"]),
    }
    return values


def change(now: float | int | None, before: float | int | None, unit: str) -> float | None:
    """Change against an earlier period: points for rates, relative change for counts and hours."""
    if now is None or before is None:
        return None
    if unit == "rate":
        return float(now) - float(before)
    return (float(now) - float(before)) / float(before) if before else None


@dataclass
class Report:
    period: Period
    values: dict[str, float | int | None]
    mom: dict[str, float | None] = field(default_factory=dict)
    yoy: dict[str, float | None] = field(default_factory=dict)
    totals: Totals = field(default_factory=dict)


def report(user: Any, period: Period, filters: dict[str, Any] | None = None) -> Report:
    """The headline measures of a period with month-on-month and year-on-year change."""
    # Each period divided by its own customer base (that of its last day): a month reported keeps its figure.
    previous, year_before = period.previous(), period.year_before()
    now = totals(user, period, filters)[None]
    before = totals(user, previous, filters)[None]
    year = totals(user, year_before, filters)[None]
    values = derive(now, customers_in_scope(user, filters, period.end))
    prev_values = derive(before, customers_in_scope(user, filters, previous.end))
    year_values = derive(year, customers_in_scope(user, filters, year_before.end))
    units = {name: unit for name, (_label, unit) in MEASURES.items()}
    return Report(
        period=period, values=values, totals=now,
        mom={k: change(values[k], prev_values[k], units[k]) for k in values},
        yoy={k: change(values[k], year_values[k], units[k]) for k in values},
    )


@dataclass
class TableRow:
    key: Any
    label: str
    values: dict[str, float | int | None]
    previous: dict[str, float | int | None]
    year: dict[str, float | int | None] = field(default_factory=dict)  # the same group a year before

    def mom(self, name: str) -> float | None:
        return change(self.values[name], self.previous.get(name), MEASURES[name][1])

    def yoy(self, name: str) -> float | None:
        return change(self.values[name], self.year.get(name), MEASURES[name][1])


def table(user: Any, period: Period, group_by: str, filters: dict[str, Any] | None = None,
          with_previous: bool = False, with_year: bool = False) -> list[TableRow]:
    """One row per group value with every measure, and the same group's measures in the previous period (short
    boards, month-on-month) and a year before (year-on-year) when asked."""
    current = totals(user, period, filters, group_by)
    previous = totals(user, period.previous(), filters, group_by) if with_previous else {}
    year = totals(user, period.year_before(), filters, group_by) if with_year else {}
    labels = group_labels(group_by, set(current) | set(previous), period=period)
    # Each period divided by its own customer base (`customers_by_group`); a day, week or month by its own.
    customers = customers_by_group(user, filters, group_by, period, current)
    previous_customers = customers_by_group(user, filters, group_by, period.previous()) if with_previous else {}
    year_customers = customers_by_group(user, filters, group_by, period.year_before()) if with_year else {}

    def of(customers: dict[Any, int] | int, key: Any) -> int | None:
        return customers.get(key) if isinstance(customers, dict) else customers

    rows = [
        TableRow(key, labels.get(key, str(key) if key is not None else str(_("(none)"))),
                 derive(values, of(customers, key)),
                 derive(previous.get(key) or _empty(), of(previous_customers, key)),
                 derive(year.get(key) or _empty(), of(year_customers, key)) if with_year else {})
        for key, values in current.items()
    ]
    rows.sort(key=lambda r: (str(r.key) if group_by in ("day", "week", "month") else r.label))
    return rows


def every_day(rows: list[TableRow], period: Period, limit: int = 366, *, customers: int | None = None,
              ) -> list[TableRow]:
    """The rows of a table by day with the days without any figure put in (0 work orders, no rate), so that a trend
    runs day by day instead of joining the days around a quiet one (the dashboard's chart, the monthly workbook's
    daily sheet). `customers`: those of the table's scope and filters (`customers_in_scope`), as its rows were
    divided by: a quiet day has 0.0 complaints per 10,000 of them (no figure only without customers). Periods longer
    than `limit` days as they are."""
    if period.days > limit:
        return rows
    by_day = {r.key: r for r in rows}
    empty = derive(_empty(), customers)
    days = (period.start + dt.timedelta(days=i) for i in range(period.days))
    return [by_day.get(day) or TableRow(day, day.isoformat(), empty, {}) for day in days]


def group_labels(group_by: str, keys: Iterable[Any], language: str | None = None,
                 period: Period | None = None) -> dict[Any, str]:
    """The names of group values: units and categories in `language` (default: the active one, as the labels of
    the measures are), choices by their labels, dates as ISO dates; a week (keyed by its Monday) as its ISO week
    and the days of it within `period` ("2026-W44 (2026-11-01 – 2026-11-01)" when November starts on its Sunday),
    a month the period covers only in part with those days too."""
    language = language or get_language()
    keys = [k for k in keys if k is not None]
    if group_by in ("branch", "department"):
        # A unit deactivated since keeps its figures of the periods it worked in: listed, marked as inactive now.
        units = OrgUnit.objects.in_bulk([k for k in keys if k])
        labels = {k: units[k].display_name(language) if units[k].is_active else str(
            _("%(unit)s (inactive)") % {"unit": units[k].display_name(language)}) for k in keys if k in units}
        labels[0] = str(_("(none)") if group_by == "branch" else _("(front line)"))
        return labels
    if group_by in ("category", "category_root", "category_mid"):
        categories = Category.objects.in_bulk(keys)
        labels = {k: categories[k].display_name(language) for k in keys if k in categories}
        labels[0] = str(_("(none)"))  # window-service surveys rate a contact, not a work order of a category
        return labels
    choices = {"contact_type": ContactType, "channel": Channel, "tier": Tier, "brand": Brand}.get(group_by)
    if choices is not None:
        # "" (window-service surveys have no contact type, tier or brand; a customer without a brand): named, not
        # an empty cell.
        return {k: str(choices(k).label) if k in choices.values else str(k) if k else str(_("(none)"))
                for k in keys}
    if group_by == "month":
        return {k: date_group_label("month", k, period) for k in keys}
    if group_by == "week":
        return {k: date_group_label("week", k, period) for k in keys}
    if group_by == "day":
        return {k: k.isoformat() for k in keys}
    return {k: str(k) if k not in ("", None) else str(_("(none)")) for k in keys}


def date_group_label(group_by: str, key: dt.date, period: Period | None = None) -> str:
    """A week's or a month's name, true to the days it covers: the ISO week with its days ("2026-W45 (2026-11-02 –
    2026-11-08)"), a month as 2026-11; the days cut to `period` when it covers the week or month only in part (a
    week starting before the period's first day was named by a Monday outside the period)."""
    covered = _sub_period(period or Period(dt.date.min, dt.date.max), group_by, key)
    if group_by == "month":
        whole = Period.month(key.year, key.month)
        if covered == whole:
            return key.strftime("%Y-%m")
        return f"{key:%Y-%m} ({covered.start.isoformat()} – {covered.end.isoformat()})"
    year, week, _weekday = key.isocalendar()
    return f"{year}-W{week:02d} ({covered.start.isoformat()} – {covered.end.isoformat()})"


# --- drill-down ----------------------------------------------------------------------------------------


def drilldown(
    user: Any, measure: str, period: Period, filters: dict[str, Any] | None = None,
    group_by: str | None = None, group: Any = None,
) -> QuerySet[Ticket]:
    """The tickets behind a number: `measure` (a key of DRILLABLE) in `period`, filters, and one group value."""
    q = _drill_q(measure, period, filters, group_by, group)
    # visible_tickets scopes region-wide roles by the ticket's region, as rollup_scope does the rollups. For a hop
    # count the conditions are on the ticket's hops, in one filter: one row per matching hop.
    prefix = "hop_facts__" if is_hop_measure(measure) else "report_fact__"
    return visible_tickets(user).filter(_prefixed(q, prefix))


def hop_drilldown(
    user: Any, measure: str, period: Period, filters: dict[str, Any] | None = None,
    group_by: str | None = None, group: Any = None,
) -> QuerySet[HopFact]:
    """The hops behind a hop count (`is_hop_measure`): as many as the number, and as `drilldown` has rows."""
    if not is_hop_measure(measure):
        raise KeyError(measure)
    q = _drill_q(measure, period, filters, group_by, group)
    return HopFact.objects.filter(q, ticket__in=visible_tickets(user).values("pk"))


def _drill_q(measure: str, period: Period, filters: dict[str, Any] | None, group_by: str | None,
             group: Any) -> Q:
    """The conditions of a drill-down on the facts (a ticket's `ReportFact`, or a `HopFact`), unprefixed."""
    if measure not in DRILLABLE:
        raise KeyError(measure)
    counter_name, extra = DRILLABLE[measure]
    counter = COUNTER_BY_NAME[counter_name]
    if group_by in ("day", "week", "month"):
        period = _sub_period(period, group_by, group)
    elif group_by:
        extra = extra & _group_q(group_by, group)
    q = Q(**{f"{counter.day}__range": (period.start, period.end)})
    return q & counter.q & extra & filter_q(filters)


def _sub_period(period: Period, group_by: str, group: Any) -> Period:
    start = group if isinstance(group, dt.date) else dt.date.fromisoformat(str(group))
    if group_by == "day":
        end = start
    elif group_by == "week":
        end = start + dt.timedelta(days=6)
    else:
        end = Period.month(start.year, start.month).end
    return Period(max(start, period.start), min(end, period.end))


def _prefixed(q: Q, prefix: str = "report_fact__") -> Q:
    out = Q()
    out.connector, out.negated = q.connector, q.negated
    for child in q.children:
        if isinstance(child, Q):
            out.children.append(_prefixed(child, prefix))
        else:
            name, value = child  # type: ignore[misc]
            out.children.append((f"{prefix}{name}", value))
    return out


def _group_q(group_by: str, group: Any) -> Q:
    column = GROUPS[group_by]
    if group_by == "category_root":
        return Q(category_id__in=_category_ids(int(group)))
    if group_by == "category_mid":  # a second-level subtree, or only the work orders filed on a top category
        if Category.objects.filter(pk=int(group), depth=0).exists():
            return Q(category_id=int(group))
        return Q(category_id__in=_category_ids(int(group)))
    if column.endswith("_id"):
        group = int(group)
    return Q(**{column: group})

