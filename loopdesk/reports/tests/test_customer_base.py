"""Complaints per 10,000 customers of a past period divide by the customer base kept for its last day, so a month
reported keeps its figure when customers are added or move region later."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command

from loopdesk.conftest import T0, World
from loopdesk.customers.choices import VipLevel
from loopdesk.customers.models import Customer
from loopdesk.reports import customerbase
from loopdesk.reports import measures as m
from loopdesk.reports.models import CustomerBase
from loopdesk.reports.tests.conftest import make_history
from loopdesk.tickets.models import Ticket

NOV = m.Period.month(2026, 11)
OCT = m.Period.month(2026, 10)


def _new_customers(world: World, n: int, **kwargs: object) -> None:
    for _i in range(n):
        world.customer(**kwargs)


def test_a_past_month_keeps_its_complaints_per_10k_when_customers_are_added_later(
        world: World, history: list[Ticket]) -> None:
    supervisor = world.user("supervisor")
    customerbase.take(NOV.end)
    at_month_end = Customer.objects.filter(region="JM").count()
    reported = m.report(supervisor, NOV).values
    assert reported["per_10k"] == pytest.approx(reported["complaints"] * 10000 / at_month_end)

    _new_customers(world, 11)  # joined in December, or imported since
    Customer.objects.filter(pk__in=Customer.objects.filter(region="JM").values("pk")[:2]).update(
        region="ZH", home_branch=None)  # moved away
    cache.clear()
    assert m.report(supervisor, NOV).values["per_10k"] == pytest.approx(reported["per_10k"])
    # The same figure in the table by region and in the monthly trend.
    (row,) = m.table(supervisor, NOV, "region")
    assert row.values["per_10k"] == pytest.approx(reported["per_10k"])
    (month,) = m.table(supervisor, NOV, "month")
    assert month.values["per_10k"] == pytest.approx(reported["per_10k"])


def test_the_current_period_divides_by_todays_customers(world: World, history: list[Ticket]) -> None:
    today = customerbase.today()
    customerbase.take(today - dt.timedelta(days=1))
    _new_customers(world, 5)
    current = m.Period(today.replace(day=1), today)
    assert m.customers_in_scope(world.user("supervisor"), {}, current.end) == Customer.objects.filter(
        region="JM").count()


def test_without_a_base_kept_on_or_before_its_end_a_period_divides_by_todays_customers(
        world: World, history: list[Ticket]) -> None:
    customerbase.take(NOV.end)
    _new_customers(world, 3)
    supervisor = world.user("supervisor")
    assert m.customers_in_scope(supervisor, {}, OCT.end) == Customer.objects.filter(region="JM").count()
    # A day the upkeep missed: the latest base kept before it.
    kept = customerbase.take(dt.date(2026, 11, 20))
    assert m.customers_in_scope(supervisor, {}, dt.date(2026, 11, 25)) == sum(
        kept.counts.filter(region="JM").values_list("customers", flat=True))


def test_month_on_month_divides_each_month_by_its_own_base(world: World) -> None:
    supervisor = world.user("supervisor")
    make_history(world, T0 - dt.timedelta(days=31))  # October
    customerbase.take(OCT.end)
    in_october = Customer.objects.filter(region="JM").count()
    make_history(world)  # November brings its customers
    customerbase.take(NOV.end)
    in_november = Customer.objects.filter(region="JM").count()
    assert in_november > in_october
    r = m.report(supervisor, NOV)
    before = m.report(supervisor, OCT).values
    assert before["per_10k"] == pytest.approx(before["complaints"] * 10000 / in_october)
    assert r.mom["per_10k"] == pytest.approx((r.values["per_10k"] - before["per_10k"]) / before["per_10k"])
    by_month = {row.key: row.values["per_10k"] for row in m.table(supervisor, m.Period(OCT.start, NOV.end), "month")}
    assert by_month == {OCT.start: pytest.approx(before["per_10k"]), NOV.start: pytest.approx(r.values["per_10k"])}


def test_a_past_month_by_branch_and_tier_divides_by_the_groups_of_its_base(
        world: World, history: list[Ticket]) -> None:
    supervisor = world.user("supervisor")
    branch = world.units["branch_xh"]
    world.customer(home_branch=None, vip_level=VipLevel.GOLD)
    customerbase.take(NOV.end)
    homed = Customer.objects.filter(home_branch=branch).count()
    regular = Customer.objects.filter(region="JM", vip_level=VipLevel.NONE).count()
    _new_customers(world, 6)  # later, all homed at the branch, regular
    cache.clear()
    rows = {row.key: row.values for row in m.table(supervisor, NOV, "branch")}
    assert rows[branch.pk]["per_10k"] == pytest.approx(rows[branch.pk]["complaints"] * 10000 / homed)
    by_tier = m.report(supervisor, NOV, {"tier": "regular"}).values
    assert by_tier["per_10k"] == pytest.approx(by_tier["complaints"] * 10000 / regular)
    tiers = {row.key: row.values for row in m.table(supervisor, NOV, "tier")}
    assert tiers["regular"]["per_10k"] == pytest.approx(by_tier["per_10k"])


def test_the_base_is_kept_once_a_day_and_the_command_back_fills_month_ends(world: World) -> None:
    world.customer()
    yesterday = customerbase.today() - dt.timedelta(days=1)
    assert customerbase.take_due() is not None
    assert customerbase.take_due() is None  # idempotent
    assert list(CustomerBase.objects.values_list("day", flat=True)) == [yesterday]
    out = StringIO()
    call_command("snapshot_customers", "--since", "2026-09-15", stdout=out)
    kept = set(CustomerBase.objects.filter(backfilled=True).values_list("day", flat=True))
    assert {dt.date(2026, 9, 30), dt.date(2026, 10, 31)} <= kept
    assert all(day < yesterday for day in kept)
    assert "2026-09-30" in out.getvalue()


def test_a_table_by_day_divides_each_day_by_its_own_base(world: World, history: list[Ticket]) -> None:
    """A month by day reads 30 kept bases at once: each day by its own, under a cache key the backends take (a key
    naming every base was longer than memcached's 250 characters: Django's CacheKeyWarning)."""
    import warnings

    from django.core.cache import CacheKeyWarning

    supervisor = world.user("supervisor")
    expected = {}
    for day in range(1, 31):
        world.customer()  # one more each day
        customerbase.take(dt.date(2026, 11, day))
        expected[dt.date(2026, 11, day)] = Customer.objects.filter(region="JM").count()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        rows = m.table(supervisor, NOV, "day")
        every_day = m.customers_by_group(supervisor, {}, "day", NOV, keys=list(expected))
    assert every_day == expected  # a day with work orders or not (a quiet day in the KPI table's export)
    assert rows and all(row.values["complaints"] == 0 or row.values["per_10k"] == pytest.approx(
        row.values["complaints"] * 10000 / expected[row.key]) for row in rows)
    assert len({expected[row.key] for row in rows if row.values["complaints"]}) > 1


def test_a_base_counted_again_for_an_earlier_day_is_marked_back_filled(world: World) -> None:
    world.customer()
    today = customerbase.today()
    call_command("snapshot_customers", stdout=StringIO())  # the job's: yesterday's, on time
    call_command("snapshot_customers", "--day", (today - dt.timedelta(days=5)).isoformat(), stdout=StringIO())
    marked = dict(CustomerBase.objects.values_list("day", "backfilled"))
    # Today's customers stand in for those of five days ago: not the base as it was that day.
    assert marked == {today - dt.timedelta(days=1): False, today - dt.timedelta(days=5): True}
    call_command("snapshot_customers", "--day", (today - dt.timedelta(days=1)).isoformat(), stdout=StringIO())
    assert CustomerBase.objects.get(day=today - dt.timedelta(days=1)).backfilled is False


def test_the_monthly_workbook_divides_by_the_base_the_dashboard_shows_the_month_with(
        world: World, history: list[Ticket], settings, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openpyxl import load_workbook

    from loopdesk.reports.monthly import produce_monthly_report

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(customerbase, "today", lambda: dt.date(2026, 12, 1))  # 02:30 on the 1st
    stored = produce_monthly_report(2026, 11, "JM")  # before the hourly job kept November's last day
    _new_customers(world, 7)  # joined on December 1st, before the job ran
    customerbase.take_due()  # the hourly job, later that night
    cache.clear()
    with stored.file_en.open("rb") as handle:
        overview = load_workbook(handle, read_only=True).worksheets[0]
        cells = {row[0]: row[1] for row in overview.iter_rows(values_only=True)}
    dashboard = m.report(world.user("supervisor"), NOV).values["per_10k"]
    assert dashboard is not None
    assert cells["Complaints per 10,000 customers"] == pytest.approx(dashboard, abs=0.01)


def test_the_bases_a_figure_needs_are_looked_up_in_one_query(world: World, history: list[Ticket]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    kept = [customerbase.take(day) for day in (dt.date(2026, 10, 31), dt.date(2026, 11, 20), NOV.end)]
    supervisor = world.user("supervisor")
    with CaptureQueriesContext(connection) as captured:
        at = m.customers_in_scope(supervisor, {}, dt.date(2026, 11, 25))  # a day missed: the latest kept before it
    assert at == sum(kept[1].counts.filter(region="JM").values_list("customers", flat=True))
    lookups = [q["sql"] for q in captured.captured_queries if 'FROM "reports_customerbase"' in q["sql"]]
    assert len(lookups) == 1, lookups  # the dashboard looks the bases up a dozen times
