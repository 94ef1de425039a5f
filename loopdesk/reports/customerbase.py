"""The customer base over time: what "complaints per 10,000 customers" of a period divides by.

A customer record says where the customer is now, not where they were (and `created_at` is when the record was
made, e.g. by an import, not when the customer joined), so the base of a past period cannot be recounted later.
It is kept instead: once a day, shortly after midnight (Asia/Shanghai), `take_due` counts the customers per home
region, home branch, brand and tier as the base as of the end of the day before (`CustomerBase`, a few thousand
`CustomerBaseCount` rows a day: one grouped count of the customers, in the background).

`customers_at_ends(...)` and `customers_by(...)` read the base as of a period's end day:
- a period that ends today or later (the current one): today's customers;
- an earlier one: the base kept for its end day, or the latest kept before it (a day the upkeep missed);
- no base kept on or before that day (before the platform kept them, and not back-filled): today's customers.
Conditions and groupings are those of `measures._customer_conditions` (columns of the customer).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Subquery, Sum
from django.utils import timezone

from loopdesk.customers.choices import Tier, VipLevel
from loopdesk.customers.models import Customer
from loopdesk.reports.models import CustomerBase, CustomerBaseCount
from loopdesk.sla.calendars import SHANGHAI

# Customer column -> base count column.
COLUMNS = {"province": "province", "region": "region", "brand": "brand", "home_branch_id": "branch_id",
           "vip_level": "tier"}


def today() -> dt.date:
    return timezone.now().astimezone(SHANGHAI).date()


# --- taking the base ----------------------------------------------------------------------------------


Counts = dict[tuple[str, str, int, str, str], int]


def count_today() -> Counts:
    """Today's customers per (province, region, home branch or 0, brand, tier): one grouped count."""
    rows = (Customer.objects.order_by().values_list("province", "region", "home_branch_id", "brand", "vip_level")
            .annotate(n=Count("pk")))
    counts: Counts = {}
    for province, region, branch, brand, vip_level, n in rows.iterator():
        key = (province, region, branch or 0, brand or "", Tier.REGULAR if vip_level == VipLevel.NONE else Tier.VIP)
        counts[key] = counts.get(key, 0) + n
    return counts


class KeptMeanwhile(Exception):
    """Another writer (the hourly job, another `snapshot_customers`) kept the base of the same day while this one
    counted it: its base stays (the same day, counted moments apart), this one is not written."""

    def __init__(self, day: dt.date) -> None:
        super().__init__(day)
        self.day = day


def take(day: dt.date, *, backfilled: bool = False, counts: Counts | None = None) -> CustomerBase:
    """Keep today's customers (or `counts` of them) as the base as of the end of `day`, replacing one kept for it.
    Marked `backfilled` when asked, or when counted later than the day after `day` (`snapshot_customers --day` of an
    earlier day): today's customers then stand in for that day's. `KeptMeanwhile` when another writer kept the day's
    base between the delete and the insert (the unique day: its transaction committed first)."""
    counts = count_today() if counts is None else counts
    backfilled = backfilled or today() > day + dt.timedelta(days=1)
    try:
        with transaction.atomic():
            CustomerBase.objects.filter(day=day).delete()
            base = CustomerBase.objects.create(day=day, taken_at=timezone.now(), backfilled=backfilled)
            CustomerBaseCount.objects.bulk_create(
                [CustomerBaseCount(base=base, province=p, region=r, branch_id=b, brand=brand, tier=t, customers=n)
                 for (p, r, b, brand, t), n in counts.items()], batch_size=2000)
    except IntegrityError:
        if CustomerBase.objects.filter(day=day).exists():
            raise KeptMeanwhile(day) from None
        raise
    return base


def take_due() -> CustomerBase | None:
    """The base as of the end of yesterday, unless it is kept already (idempotent: the periodic job runs hourly,
    so a midnight missed while the worker was down is made up within the hour, counting the customers then)."""
    yesterday = today() - dt.timedelta(days=1)
    if CustomerBase.objects.filter(day=yesterday).exists():
        return None
    try:
        return take(yesterday)
    except KeptMeanwhile:  # another worker kept it meanwhile (the unique day): the same counts, nothing lost
        return None


def backfill(since: dt.date) -> list[CustomerBase]:
    """Keep today's customers as the base of every month end from `since`'s month up to the first base kept (or
    yesterday), where none is kept: the months reported before the platform kept the base then keep the figure they
    have today instead of following the customer base ever after. Marked `backfilled`."""
    first = CustomerBase.objects.order_by("day").values_list("day", flat=True).first()
    stop = min(first, today()) if first else today()
    made: list[CustomerBase] = []
    counts: Counts | None = None  # counted once for every month end
    month = since.replace(day=1)
    while True:
        nxt = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        end = nxt - dt.timedelta(days=1)
        if end >= stop:
            break
        if not CustomerBase.objects.filter(day=end).exists():
            counts = count_today() if counts is None else counts
            with contextlib.suppress(KeptMeanwhile):  # another run back-filled it meanwhile: its base stays
                made.append(take(end, backfilled=True, counts=counts))
        month = nxt
    return made


# --- reading it ---------------------------------------------------------------------------------------


def _base_for(end: dt.date, bases: list[tuple[dt.date, int, dt.datetime]]) -> tuple[int, dt.datetime] | None:
    """The base (id, taken at) a period ending on `end` divides by, from `bases` (day, id, taken at) by day."""
    if end >= today():
        return None
    found = None
    for day, pk, taken_at in bases:
        if day > end:
            break
        found = (pk, taken_at)
    return found


def _bases_up_to(ends: Iterable[dt.date]) -> list[tuple[dt.date, int, dt.datetime]]:
    """The bases a set of period ends needs: the latest kept on or before the earliest end, and all after it up to
    the latest end (one row a day: a few hundred at most for a year of daily groups)."""
    ends = sorted(set(ends))
    if not ends:
        return []
    # One query (the dashboard looks bases up a dozen times): the latest on or before the earliest end as a subquery.
    latest = CustomerBase.objects.filter(day__lte=ends[0]).order_by("-day").values("day")[:1]
    return list(CustomerBase.objects.filter(Q(day__range=(ends[0], ends[-1])) | Q(day=Subquery(latest)))
                .order_by("day").values_list("day", "pk", "taken_at"))


def _count_q(conditions: dict[str, Any], excluded: dict[str, Any]) -> Q:
    q = Q()
    for column, value in conditions.items():
        if column == "vip_level":
            value = Tier.REGULAR if value == VipLevel.NONE else "-"  # "-": a tier no customer has
        q &= Q(**{COLUMNS[column]: value})
    if excluded:  # only ever vip_level = none: the VIPs
        q &= Q(tier=Tier.VIP)
    return q


def _cache_key(bases: str, conditions: dict[str, Any], excluded: dict[str, Any], by: str = "") -> str:
    """The cache key of counts of kept bases (id and time taken: a base counted again is another key), hashed: a
    year of daily bases would make a key longer than cache backends take (250 characters for memcached)."""
    text = bases + ":" + ",".join(f"{k}={v}" for k, v in sorted(conditions.items())) + (
        ";vip" if excluded else "") + (f";by={by}" if by else "")
    return "reports:customer-base:" + hashlib.sha256(text.encode()).hexdigest()


def customers_at_ends(conditions: dict[str, Any], excluded: dict[str, Any], ends: Iterable[dt.date],
                      live: Any) -> dict[dt.date, int]:
    """The customers under `conditions` for each period end of `ends`, in one query for the kept bases."""
    ends = list(ends)
    bases = _bases_up_to([end for end in ends if end < today()])  # none for the current period
    chosen = {end: _base_for(end, bases) for end in ends}
    ids = {found for found in chosen.values() if found is not None}
    counts: dict[int, int] = {}
    if ids:
        key = _cache_key(",".join(f"{pk}@{at.timestamp()}" for pk, at in sorted(ids)), conditions, excluded)
        counts = cache.get(key)
        if counts is None:
            rows = (CustomerBaseCount.objects.filter(_count_q(conditions, excluded), base_id__in=[pk for pk, _ in ids])
                    .order_by().values_list("base_id").annotate(n=Sum("customers")))
            counts = {pk: 0 for pk, _at in ids} | dict(rows)
            cache.set(key, counts, 3600)
    out = {}
    for end, found in chosen.items():
        out[end] = int(live()) if found is None else int(counts.get(found[0], 0))
    return out


def customers_by(conditions: dict[str, Any], excluded: dict[str, Any], end: dt.date, group_column: str,
                 ) -> dict[Any, int] | None:
    """The customers per value of a customer column (`CUSTOMER_GROUPS`) in the base kept for a past period ending on
    `end`; None when the period is the current one or no base is kept on or before its end (count today's)."""
    found = _base_for(end, _bases_up_to([end]))
    if found is None:
        return None
    pk, taken_at = found
    column = COLUMNS[group_column]
    key = _cache_key(f"{pk}@{taken_at.timestamp()}", conditions, excluded, column)
    counts = cache.get(key)
    if counts is None:
        rows = (CustomerBaseCount.objects.filter(_count_q(conditions, excluded), base_id=pk).order_by()
                .values_list(column).annotate(n=Sum("customers")))
        counts = {value: int(n) for value, n in rows}
        cache.set(key, counts, 3600)
    return dict(counts)
