"""Measures checked against numbers worked out by hand from the history (tests/conftest.py make_full_history):
rates, handling-time means and percentiles, repeat / return / callback rates, month-on-month and year-on-year,
the dashboard's short boards, a branch scorecard, and an SLA crossing marked by the sweep reaching the figures.

November 2026 (make_history + one repeat complaint): 10 work orders; 7 dispatched (5 to netmaint replied after
5, 30, 50, 80, 10 h; the bill to IT after 3 h; the appeal returned by IT), 1 overtime (50 h) and 1 problem (80 h);
answered 1 h after the reply, the consultation at once: registration to answer 6, 31, 51, 81, 11, 4, 0 h;
callbacks: 3 satisfied, 1 dissatisfied, 1 unreachable; complaints 8 + 1 appeal, 1 repeat.
October 2026 and November 2025: the same history without the repeat complaint (9 work orders).
"""

from __future__ import annotations

import datetime as dt

import pytest

from loopdesk.conftest import T0, World
from loopdesk.reports import measures as m
from loopdesk.reports import rollups, scorecards, views
from loopdesk.reports.models import BUCKET_EDGES_HOURS
from loopdesk.tickets.models import Ticket

NOV = m.Period.month(2026, 11)
OCT = m.Period.month(2026, 10)
NOV_2025 = m.Period.month(2025, 11)


def _hours(tickets: list[Ticket], start: str, end: str) -> list[float]:
    return sorted((getattr(t, end) - getattr(t, start)).total_seconds() / 3600 for t in tickets if getattr(t, end))


def test_rates_and_handling_times(world: World, full_history: list[Ticket]) -> None:
    v = m.report(world.user("supervisor"), NOV).values
    assert (v["volume"], v["dispatched"], v["overtime"], v["problem"]) == (10, 7, 1, 1)
    assert v["overtime_rate"] == pytest.approx(1 / 7) and v["problem_rate"] == pytest.approx(1 / 7)
    # Registration to answer: mean of the hours; median and p90 interpolated in the histogram buckets
    # (0-2: 1, 4-8: 2, 8-12: 1, 24-36: 1, 48-72: 1, 72-96: 1).
    nov = [t for t in Ticket.objects.all() if NOV.start <= t.created_at.astimezone(T0.tzinfo).date() <= NOV.end]
    assert [round(h) for h in _hours(nov, "created_at", "answered_at")] == [0, 4, 6, 11, 31, 51, 81]
    assert v["answered"] == 7 and v["e2e_mean"] == pytest.approx(184 / 7)
    assert v["e2e_median"] == pytest.approx(8 + 4 * 0.5)  # the 3.5th of 7 in 8-12 h, after 3
    assert v["e2e_p90"] == pytest.approx(72 + 24 * 0.3)  # the 6.3rd in 72-96 h, after 6
    # Dispatch to reply, 3, 5, 10, 30, 50, 80 h (2-4, 4-8, 8-12, 24-36, 48-72, 72-96).
    assert v["reply_mean"] == pytest.approx(178 / 6)
    assert v["reply_median"] == pytest.approx(8 + 4 * 1)  # the 3rd of 6: the whole 8-12 bucket
    assert v["reply_p90"] == pytest.approx(72 + 24 * 0.4)  # the 5.4th in 72-96 h, after 5
    assert BUCKET_EDGES_HOURS[:9] == (2, 4, 8, 12, 24, 36, 48, 72, 96)  # what the numbers above assume
    assert (v["repeat"], v["complaints"], v["appeals"]) == (1, 8, 1)
    assert v["repeat_rate"] == pytest.approx(1 / 9)  # repeats / (complaints + appeals)
    assert v["return_rate"] == pytest.approx(1 / 7)  # returns / dispatched
    # satisfied + dissatisfied / answered after a department's reply (the first-contact resolution owes none)
    assert (v["callbacks"], v["callback_rate"]) == (4, pytest.approx(4 / 6))
    assert v["satisfaction"] == pytest.approx(3 / 4)


def test_month_on_month_and_year_on_year_values(world: World, full_history: list[Ticket]) -> None:
    user = world.user("supervisor")
    for period in (OCT, NOV_2025):
        before = m.report(user, period).values
        assert (before["volume"], before["repeat"], before["overtime"], before["answered"]) == (9, 0, 1, 7), period
        assert before["e2e_mean"] == pytest.approx(184 / 7)
    r = m.report(user, NOV)
    for changes in (r.mom, r.yoy):
        assert changes["volume"] == pytest.approx(1 / 9)  # 10 against 9: relative
        assert changes["complaints"] == pytest.approx(1 / 7)  # 8 against 7
        assert changes["repeat_rate"] == pytest.approx(1 / 9)  # 1/9 against 0: in points
        assert changes["timeliness"] == pytest.approx(0.0) and changes["callback_rate"] == pytest.approx(0.0)
        assert changes["e2e_mean"] == pytest.approx(0.0) and changes["reply_p90"] == pytest.approx(0.0)
    assert m.report(user, m.Period.month(2026, 9)).values["volume"] == 0
    assert m.report(user, OCT).yoy["volume"] is None  # nothing in October 2025


def test_short_boards(world: World, full_history: list[Ticket]) -> None:
    user = world.user("supervisor")
    departments = [r for r in m.table(user, NOV, "department", with_previous=True) if r.key]
    board = views._short_board(departments, "timeliness", NOV, {}, "department")
    # netmaint: 3 of 5 timely (50 h overtime, 80 h problem); IT: the bill and the returned appeal, both timely.
    assert [(i["label"], i["value"], i["previous"]) for i in board["items"]] == [
        ("网络维护中心", "60.0%", "60.0%"), ("信息技术中心", "100.0%", "100.0%")]
    assert board["items"][0]["change"] == {"text": "+0.0" + "个百分点", "up": False, "down": False,
                                           "better": False, "worse": False}
    assert f"group_by=department&group={world.units['netmaint'].pk}" in board["items"][0]["url"]
    categories = m.table(user, NOV, "category_root", with_previous=True)
    board = views._short_board(categories, "survey_satisfaction", NOV, {}, "category_root")
    values = [r.values["survey_satisfaction"] for r in categories if r.values["survey_satisfaction"] is not None]
    assert len(board["items"]) == len(values) > 0
    assert [i["value"] for i in board["items"]] == [f"{x * 100:.1f}%" for x in sorted(values)]
    assert all("measure=survey_unsatisfied" in i["url"] for i in board["items"])
    assert [i["previous"] for i in board["items"]] == [i["value"] for i in board["items"]]  # October: the same


def test_branch_scorecard(world: World, full_history: list[Ticket]) -> None:
    scheme = scorecards.active_scheme()
    assert scheme is not None
    card = scorecards.score(world.user("supervisor"), scheme, NOV, "branch")
    xh = next(u for u in card.units if u.unit_id == world.units["branch_xh"].pk)  # every customer's home branch
    by_name = {item.name: s for item, s in zip(card.items, xh.items, strict=True)}
    assert by_name["工单处理及时率"].value == pytest.approx(5 / 7)
    assert by_name["工单处理及时率"].points == round(20 * (5 / 7) / 0.95, 2)
    assert by_name["回访完成率"].value == pytest.approx(4 / 6)
    assert by_name["回访完成率"].points == round(10 * (4 / 6) / 0.9, 2)
    assert by_name["重复投诉率"].value == pytest.approx(1 / 9)  # lower is better: target / value
    assert by_name["重复投诉率"].points == round(10 * 0.05 / (1 / 9), 2)
    assert by_name["综合满意度改善"].points == 0  # the same as in October: no gain
    weights = {item.name: item.weight for item in card.items}
    scored = {name: s.points for name, s in by_name.items() if s.points is not None}
    assert xh.total == round(sum(scored.values()) * sum(weights.values()) / sum(weights[n] for n in scored), 2)
    assert xh.rank == 1 + sum(1 for u in card.units if u.rank is not None and u.total > xh.total)


def test_an_sla_crossing_marked_by_the_sweep_reaches_the_rollups(world: World, history: list[Ticket]) -> None:
    from loopdesk.followup.services import sweep_sla
    from loopdesk.tickets import services as s

    user = world.user("supervisor")
    at = T0 + dt.timedelta(days=5)
    ticket = s.do_create_ticket(acting_user=world.user("agent"), now=at, **world.ticket_kwargs())
    s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=ticket, to_unit=world.units["netmaint"], now=at)
    rollups.fold_pending()
    before = m.report(user, NOV).values
    assert (before["dispatched"], before["overtime"], before["problem"]) == (8, 1, 1)
    sweep_sla(now=at + dt.timedelta(hours=49))
    assert Ticket.objects.get(pk=ticket.pk).is_overtime
    rollups.fold_pending()  # what the worker does after the sweep's commit
    after = m.report(user, NOV).values
    # The new ticket is overtime; the history's returned appeal (退单 on T0 + 2.5 days, never dispatched again) is
    # marked a problem ticket by the same sweep: a return does not stop the clock (docs/sla.md, a060aca).
    returned = next(t for t in history if t.status == "returned")
    assert Ticket.objects.get(pk=returned.pk).is_problem
    assert (after["overtime"], after["problem"], after["timely"]) == (2, 2, 4)
    assert ticket.pk in set(m.drilldown(user, "overtime", NOV).values_list("pk", flat=True))
    sweep_sla(now=at + dt.timedelta(hours=73))
    rollups.fold_pending()
    after = m.report(user, NOV).values
    assert (after["overtime"], after["problem"]) == (1, 3)
    assert ticket.pk in set(m.drilldown(user, "problem", NOV).values_list("pk", flat=True))
    assert rollups.check().ok


def test_kpi_table_with_month_on_month_and_year_on_year_per_group(world: World, full_history: list[Ticket]) -> None:
    """Top category 基础通信 (basic) in November: the five netmaint tickets, the consultation, the returned appeal,
    the new one and the repeat complaint: 9 work orders against 8 in October 2026 and November 2025; repeat rate
    1 / (7 complaints + 1 appeal) against 0."""
    import csv
    import io

    from django.test import Client

    client = Client()
    client.force_login(world.users["supervisor"])
    base = "/reports/table/?month=2026-11&group_by=category_root"
    page = client.get(base + "&compare=1")
    assert page.status_code == 200
    basic = next(r for r in page.context["rows"] if r["label"] == "基础通信")
    columns = [name for name, _label in page.context["columns"]]
    volume = basic["cells"][columns.index("volume")]
    assert (volume["text"], volume["mom"]["text"], volume["yoy"]["text"]) == ("9", "+12.5%", "+12.5%")
    repeat_rate = basic["cells"][columns.index("repeat_rate")]
    assert (repeat_rate["text"], repeat_rate["mom"]["text"]) == ("12.5%", "+12.5个百分点")
    assert "mom" not in client.get(base).context["rows"][0]["cells"][0]  # only when asked
    body = b"".join(client.get(base + "&compare=1&format=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    header, row = rows[0], next(r for r in rows if r[0] == "基础通信")
    at = header.index("工单数")
    assert header[at + 1:at + 3] == ["工单数 (环比, %)", "工单数 (同比, %)"]
    assert row[at:at + 3] == ["9", "12.5", "12.5"]
    at = header.index("重复投诉率 (%)")
    assert header[at + 1] == "重复投诉率 (环比, 个百分点)" and row[at:at + 3] == ["12.5", "12.5", "12.5"]
    plain = next(csv.reader(io.StringIO(b"".join(client.get(base + "&format=csv").streaming_content)
                                        .decode("utf-8-sig"))))
    assert len(header) == 1 + 3 * (len(plain) - 1)
    # Days have no month-on-month per group (their groups are dates): the switch is not offered.
    days = client.get("/reports/table/?month=2026-11&group_by=day&compare=1")
    assert not days.context["compare"] and "aria-pressed" not in days.content.decode()


def test_grouping_by_the_second_category_level_and_every_level_in_the_filter(world: World,
                                                                             full_history: list[Ticket]) -> None:
    from django.test import Client

    from loopdesk.tickets import services as s

    agent, user = world.user("agent"), world.user("supervisor")
    for key in ("other", "calls"):  # filed on a top category; on a second-level one
        s.do_create_ticket(acting_user=agent, now=T0 + dt.timedelta(days=6),
                           **world.ticket_kwargs(category=world.categories[key]))
    rollups.fold_pending()
    rows = {r.label: r for r in m.table(user, NOV, "category_mid") if r.key}  # 0: window surveys, no category
    # 信号覆盖 (coverage, under 基础通信): the nine work orders on 室内无信号; 话费争议 the bill;
    # 通话质量 and 其它 one each.
    assert {label: r.values["volume"] for label, r in rows.items()} == {
        "信号覆盖": 9, "话费争议": 1, "通话质量": 1, "其它": 1}
    assert rows["信号覆盖"].values["timely"] == 4 and rows["信号覆盖"].values["repeat"] == 1  # netmaint 3, appeal
    for row in rows.values():
        for measure in set(m.DRILLABLE) - {"dissatisfied", "unreachable"}:  # (callback verdicts: no measure)
            count = m.drilldown(user, measure, NOV, group_by="category_mid", group=row.key).count()
            assert count == row.values[measure], (row.label, measure)
    # The same figures from the facts (an agent's own tickets) as from the rollups.
    agent_rows = {r.label: r.values["volume"] for r in m.table(agent, NOV, "category_mid") if r.key}
    assert agent_rows == {"信号覆盖": 9, "话费争议": 1, "通话质量": 1, "其它": 1}
    client = Client()
    client.force_login(world.users["supervisor"])
    page = client.get("/reports/table/?month=2026-11&group_by=category_mid")
    assert page.status_code == 200 and "信号覆盖" in page.content.decode()
    options = [pk for pk, _name in page.context["options"]["categories"]]
    assert world.categories["indoor"].pk in options  # the third level too
    filtered = m.report(user, NOV, {"category": world.categories["indoor"].pk}).values["volume"]
    assert filtered == 9
