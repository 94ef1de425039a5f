"""Measures from the rollups: the formulas of domain.md §4/§7, scope, comparisons, and drill-down counts."""

from __future__ import annotations

import datetime as dt

import pytest

from loopdesk.conftest import T0, World
from loopdesk.reports import measures as m
from loopdesk.reports import rollups
from loopdesk.reports.tests.conftest import make_history
from loopdesk.tickets.models import Ticket

NOV = m.Period.month(2026, 11)


def test_headline_measures_follow_the_definitions(world: World, history: list[Ticket]) -> None:
    r = m.report(world.user("supervisor"), NOV)
    v = r.values
    assert v["volume"] == 9
    assert (v["dispatched"], v["overtime"], v["problem"], v["timely"]) == (7, 1, 1, 5)
    assert v["timeliness"] == pytest.approx(5 / 7)  # timely / all, timely = all − overtime − problem
    assert v["replied"] == 6
    assert v["fcr"] == 1 and v["closed"] == 5 and v["fcr_rate"] == pytest.approx(1 / 5)
    assert (v["satisfied"], v["callbacks"]) == (3, 4)
    assert v["satisfaction"] == pytest.approx(3 / 4)
    assert v["appeals"] == 1 and v["returned"] == 1
    assert v["reply_mean"] == pytest.approx((5 + 30 + 50 + 80 + 10 + 3) / 6)
    assert 8 <= v["reply_median"] <= 36
    assert v["per_10k"] == pytest.approx(v["complaints"] * 10000 / 9)  # 9 customers in the region, one a ticket


def test_month_on_month_and_year_on_year(world: World) -> None:
    make_history(world, T0 - dt.timedelta(days=31))  # October
    make_history(world)
    r = m.report(world.user("supervisor"), NOV)
    assert r.values["volume"] == 9
    assert r.mom["volume"] == 0.0
    assert r.mom["timeliness"] == pytest.approx(0.0)
    assert r.yoy["volume"] is None  # nothing a year before


def test_supervisor_sees_their_region_and_agents_their_own_tickets(world: World, history: list[Ticket]) -> None:
    from loopdesk.tickets import services as s

    zh = world.user("zh_agent")
    s.do_create_ticket(acting_user=zh, now=T0, **world.ticket_kwargs(customer=world.customer(region="ZH")))
    rollups.fold_pending()  # as the worker does after the commit
    assert m.report(world.user("supervisor"), NOV).values["volume"] == 9
    assert m.report(world.user("admin"), NOV).values["volume"] == 10
    assert m.report(zh, NOV).values["volume"] == 1
    assert m.report(world.user("specialist"), NOV).values["dispatched"] == 5  # the tickets sent to netmaint
    assert m.report(world.user("clerk"), NOV).values["volume"] == 0


def test_every_number_drills_down_to_as_many_tickets(world: World, history: list[Ticket]) -> None:
    for who in ("supervisor", "agent", "it_specialist"):
        user = world.user(who)
        for group_by in (None, "department", "category_root", "category", "channel", "day", "week", "month", "brand",
                         "contact_type", "tier", "branch"):
            rows = m.table(user, NOV, group_by) if group_by else [m.TableRow(None, "", m.report(user, NOV).values, {})]
            checked = 0
            for row in rows:
                for measure in m.DRILLABLE:
                    if measure in ("dissatisfied", "unreachable"):
                        continue
                    tickets = m.drilldown(user, measure, NOV, group_by=group_by, group=row.key)
                    assert tickets.count() == row.values[measure], (who, group_by, measure, row.key)
                    checked += row.values[measure] or 0
            assert checked > 0, (who, group_by)


def test_filters_narrow_figures_and_drilldown_alike(world: World, history: list[Ticket]) -> None:
    user = world.user("supervisor")
    filters = {"category": world.categories["billing"].pk}
    r = m.report(user, NOV, filters)
    assert r.values["volume"] == 1
    assert m.drilldown(user, "volume", NOV, filters).get().category == world.categories["dispute"]
    filters = {"department": world.units["it"].pk}
    assert m.report(user, NOV, filters).values["returned"] == 1
    assert m.drilldown(user, "returned", NOV, filters).count() == 1


def test_percentile_interpolates_within_the_bucket() -> None:
    buckets = [0] * 12
    buckets[4] = 10  # 10 tickets between 12 h and 24 h
    assert m.percentile_hours(buckets, 0.5) == pytest.approx(18)
    assert m.percentile_hours([0] * 12, 0.5) is None


def test_every_rollup_table_gives_the_same_totals(world: World, history: list[Ticket]) -> None:
    user = world.user("supervisor")
    assert m._source(NOV, (), None) == "totals"
    assert m._source(NOV, ("department",), None) == "monthly"
    assert m._source(NOV, ("category",), None) == "daily"
    assert m._source(m.Period(NOV.start, NOV.start), ("department",), None) == "daily"
    whole = m.totals(user, NOV)[None]
    for group_by in ("department", "category", "channel"):
        summed = dict.fromkeys(whole, 0)
        for values in m.totals(user, NOV, group_by=group_by).values():
            for name, amount in values.items():
                summed[name] += amount
        assert summed == whole, group_by
    root = world.categories["billing"].pk
    assert m.totals(user, NOV, {"category": root}, "department") == m.totals(
        user, m.Period(NOV.start, NOV.end - dt.timedelta(days=0)), {"category": world.categories["dispute"].pk},
        "department")


def test_satisfaction_from_survey_scores_and_window_surveys(world: World, history: list[Ticket]) -> None:
    from loopdesk.surveys import services as surveys
    from loopdesk.surveys.models import Survey, SurveyKind, SurveyStatus

    sent = Survey.objects.filter(kind=SurveyKind.TICKET).count()
    assert sent >= 3  # every closed ticket of the history got one
    values = m.report(world.user("supervisor"), NOV).values
    assert (values["surveys"], values["survey_responses"]) == (sent, 2)
    assert values["survey_mean"] == 3.5  # 5 and 2
    assert values["survey_satisfaction"] == 0.5 and values["survey_response_rate"] == 2 / sent
    assert (values["window_surveys"], values["window_mean"], values["window_satisfaction"]) == (1, 4.0, 1.0)
    # Window surveys by channel and by the unit rated; no ticket dimension (category) for them.
    by_channel = m.totals(world.user("supervisor"), NOV, group_by="channel")
    assert by_channel["hotline"]["ws_sent"] == 1 and by_channel.get("hall", {}).get("ws_sent", 0) == 0
    by_department = m.totals(world.user("supervisor"), NOV, group_by="department")
    assert by_department[world.user("agent").unit_id]["ws_satisfied"] == 1  # the call room was rated
    # A survey answered later moves the ticket from unanswered to answered at the next fold (post_save note).
    open_survey = Survey.objects.filter(kind=SurveyKind.TICKET, status=SurveyStatus.OPEN).first()
    surveys.do_rate_survey(survey=open_survey, score=1, via="web", now=open_survey.sent_at)
    assert m.report(world.user("supervisor"), NOV).values["survey_responses"] == 2  # not folded yet
    rollups.fold_pending()
    values = m.report(world.user("supervisor"), NOV).values
    assert (values["survey_responses"], values["survey_unsatisfied"]) == (3, 2)
    assert m.drilldown(world.user("supervisor"), "survey_unsatisfied", NOV).count() == 2
    assert rollups.check().ok
    rollups.rebuild()
    assert m.report(world.user("supervisor"), NOV).values["survey_mean"] == (5 + 2 + 1) / 3
    assert m.report(world.user("supervisor"), NOV).values["window_mean"] == 4.0


def test_complaints_per_10k_customers_count_the_customers_of_the_filtered_unit_and_tier(
        world: World, history: list[Ticket]) -> None:
    from loopdesk.customers.choices import VipLevel
    from loopdesk.customers.models import Customer

    supervisor = world.user("supervisor")
    branch = world.units["branch_xh"]
    for _i in range(7):  # customers of the region homed elsewhere (or nowhere), two of them VIPs
        world.customer(home_branch=None)
    world.customer(home_branch=None, vip_level=VipLevel.GOLD)
    world.customer(home_branch=world.units["hall_xh"], vip_level=VipLevel.GOLD)
    homed = Customer.objects.filter(home_branch=branch).count()
    assert 0 < homed < Customer.objects.filter(region="JM").count()
    by_branch = m.report(supervisor, NOV, {"branch": branch.pk}).values
    assert by_branch["complaints"] and by_branch["per_10k"] == pytest.approx(by_branch["complaints"] * 10000 / homed)
    vips = Customer.objects.filter(region="JM").exclude(vip_level=VipLevel.NONE).count()
    assert vips == 2
    by_tier = m.report(supervisor, NOV, {"tier": "regular"}).values
    regular = Customer.objects.filter(region="JM", vip_level=VipLevel.NONE).count()
    assert by_tier["per_10k"] == pytest.approx(by_tier["complaints"] * 10000 / regular)


def test_complaints_per_10k_of_a_region_outside_the_users_scope_is_no_figure(world: World,
                                                                            history: list[Ticket]) -> None:
    """A Jiangmen supervisor filtering on Zhuhai sees none of its complaints: the rate is "—", not 0 complaints
    divided by Zhuhai's customers."""
    world.customer(region="ZH", province="GD")
    supervisor = world.user("supervisor")
    assert m.customers_in_scope(supervisor, {"region": "ZH"}) == 0
    values = m.report(supervisor, NOV, {"region": "ZH"}).values
    assert values["complaints"] == 0 and values["per_10k"] is None
    assert m.customers_in_scope(supervisor, {"region": "JM"}) == m.customers_in_scope(supervisor, {}) > 0


def test_the_period_before_several_whole_months_is_as_many_months() -> None:
    """January–February compared with November–December (not 59 days from 3 November); a quarter with the one
    before; other ranges with the same number of days before."""
    jan_feb = m.Period(dt.date(2026, 1, 1), dt.date(2026, 2, 28))
    assert jan_feb.previous() == m.Period(dt.date(2025, 11, 1), dt.date(2025, 12, 31))
    q2 = m.Period(dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert q2.previous() == m.Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert m.Period.month(2026, 3).previous() == m.Period.month(2026, 2)
    days = m.Period(dt.date(2026, 11, 5), dt.date(2026, 11, 14))
    assert days.previous() == m.Period(dt.date(2026, 10, 26), dt.date(2026, 11, 4))


def test_the_year_before_several_whole_months_is_the_same_calendar_months() -> None:
    """January–February 2029 is compared with January–February 2028, 29 February included (it ended on the 28th);
    a single day or a range of days a year back as they are."""
    assert m.Period(dt.date(2029, 1, 1), dt.date(2029, 2, 28)).year_before() == m.Period(
        dt.date(2028, 1, 1), dt.date(2028, 2, 29))
    assert m.Period(dt.date(2028, 1, 1), dt.date(2028, 2, 29)).year_before() == m.Period(
        dt.date(2027, 1, 1), dt.date(2027, 2, 28))
    assert m.Period.month(2029, 2).year_before() == m.Period.month(2028, 2)
    assert m.Period(dt.date(2028, 2, 29), dt.date(2028, 3, 5)).year_before() == m.Period(
        dt.date(2027, 2, 28), dt.date(2027, 3, 5))


def test_the_kpi_table_has_complaints_per_10k_customers_of_each_group(world: World, history: list[Ticket]) -> None:
    """Per branch, tier, brand or region the complaints are divided by that group's customers (the branch's home
    customers ...), per category or department by the customers of the scope; the table, its export and the
    filter on the group give the same figure."""
    from loopdesk.customers.choices import VipLevel
    from loopdesk.customers.models import Customer
    from loopdesk.reports import exports

    supervisor = world.user("supervisor")
    world.customer(home_branch=None, vip_level=VipLevel.GOLD)
    jm = Customer.objects.filter(region="JM")
    checked = 0
    for group_by, count in (("tier", lambda k: jm.filter(vip_level=VipLevel.NONE).count() if k == "regular"
                             else jm.exclude(vip_level=VipLevel.NONE).count()),
                            ("branch", lambda k: jm.filter(home_branch_id=k).count()),
                            ("brand", lambda k: jm.filter(brand=k).count()),
                            ("category_root", lambda k: jm.count())):
        for row in m.table(supervisor, NOV, group_by):
            if not row.values["complaints"] or not count(row.key):
                continue
            expected = row.values["complaints"] * 10000 / count(row.key)
            assert row.values["per_10k"] == pytest.approx(expected), (group_by, row.key)
            if group_by != "category_root":
                assert m.report(supervisor, NOV, {group_by: row.key}).values["per_10k"] == pytest.approx(expected)
            checked += 1
    assert checked >= 4
    header = exports.measure_header("tier")
    rows = {r[0]: r for r in exports.measure_rows(m.table(supervisor, NOV, "tier"))}
    column = header.index(str(m.MEASURES["per_10k"][0]))
    regular = m.table(supervisor, NOV, "tier")[0]
    assert rows[regular.label][column] == round(regular.values["per_10k"], 2)


def test_a_supervisor_without_a_unit_counts_no_customers(world: World, history: list[Ticket]) -> None:
    """A supervisor whose account has no unit sees no figures (no scope): complaints per 10,000 customers is no
    figure either, not 0 complaints over every customer of the company (whose number it gave away)."""
    supervisor = world.user("supervisor")
    supervisor.unit = None
    supervisor.save()
    supervisor = world.user("supervisor")
    assert m.customers_in_scope(supervisor, {}) == 0
    assert m.report(supervisor, NOV).values["per_10k"] is None
    assert m.customers_by_group(supervisor, {}, "branch") == {}
