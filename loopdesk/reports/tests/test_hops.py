"""Per-hop figures: each period a department holds a work order, its outcome and handling time, by the department
that held it; returns attributed to the department that returned the work order; drill-downs listing hops."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.test import Client

from loopdesk.conftest import T0, World
from loopdesk.reports import measures as m
from loopdesk.reports import rollups
from loopdesk.reports.models import HopFact, HopOutcome
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket

NOV = m.Period.month(2026, 11)
H = dt.timedelta(hours=1)


def _travelled(world: World) -> Ticket:
    """netmaint holds it 5 h and transfers it to IT; IT returns it (退单) after 30 h; dispatched again to netopt,
    which replies after 10 h. The ticket's last department is netopt."""
    agent = world.user("agent")
    t = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    t = s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["netmaint"], now=T0)
    t = s.do_transfer_ticket(acting_user=world.user("specialist"), ticket=t, to_unit=world.units["it"], note="转IT",
                             now=T0 + 5 * H)
    t = s.do_return_ticket(acting_user=world.user("it_specialist"), ticket=t, reason="非本部门", now=T0 + 35 * H)
    t = s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["netopt"], now=T0 + 36 * H)
    optimiser = world.user("optimiser")
    t = s.do_accept_ticket(acting_user=optimiser, ticket=t, now=T0 + 36 * H)
    return s.do_reply_ticket(acting_user=optimiser, ticket=t, resolution="已优化", now=T0 + 46 * H)


def test_hops_are_counted_by_the_department_that_held_the_ticket(world: World) -> None:
    t = _travelled(world)
    # An open hop: dispatched to netmaint and not ended yet.
    open_one = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=open_one, to_unit=world.units["netmaint"],
                         now=T0 + H)
    rollups.fold_pending()
    hops = list(HopFact.objects.filter(ticket=t).order_by("seq").values_list("department_id", "outcome",
                                                                             "hop_minutes"))
    assert hops == [(world.units["netmaint"].pk, HopOutcome.TRANSFERRED, 5 * 60),
                    (world.units["it"].pk, HopOutcome.RETURNED, 30 * 60),
                    (world.units["netopt"].pk, HopOutcome.REPLIED, 10 * 60)]
    rows = {r.key: r.values for r in m.table(world.user("supervisor"), NOV, "department")}
    netmaint, it, netopt = (rows[world.units[u].pk] for u in ("netmaint", "it", "netopt"))
    assert (netmaint["hops"], netmaint["hops_transferred"], netmaint["hops_returned"], netmaint["hops_handled"]) == (
        2, 1, 0, 1)
    assert netmaint["return_rate"] == 0 and netmaint["hop_mean"] == pytest.approx(5)
    # The return is IT's, not netopt's (where the ticket went last).
    assert (it["hops"], it["hops_returned"], it["return_rate"]) == (1, 1, 1.0)
    assert it["hop_mean"] == pytest.approx(30) and it["hop_median"] == pytest.approx(24 + 12 * 0.5)
    assert (netopt["hops"], netopt["hops_returned"], netopt["return_rate"]) == (1, 0, 0)
    assert netopt["hop_mean"] == pytest.approx(10) and netopt["hop_p90"] == pytest.approx(8 + 4 * 0.9)
    # The ticket-level figure keeps its definition: first dispatch → reply of the cycle (46 h), by the last
    # department; the hops split it into 5 + 30 + 10 h (and the hour the ticket spent returned, with nobody).
    assert netopt["replied"] == 1 and netopt["reply_mean"] == pytest.approx(46)
    total = m.report(world.user("supervisor"), NOV).values
    assert (total["hops"], total["hops_returned"], total["hops_handled"]) == (4, 1, 3)
    assert total["return_rate"] == pytest.approx(1 / 4) and total["hop_mean"] == pytest.approx(45 / 3)
    assert rollups.check().ok


def test_every_hop_number_drills_down_to_as_many_hops(world: World) -> None:
    _travelled(world)
    _travelled(world)  # the same travel again: two hops per department
    rollups.fold_pending()
    checked = 0
    for who in ("supervisor", "agent", "it_specialist"):
        user = world.user(who)
        for group_by in ("department", "day", "category", "channel", None):
            rows = m.table(user, NOV, group_by) if group_by else [m.TableRow(None, "", m.report(user, NOV).values, {})]
            for row in rows:
                for measure in ("hops", "hops_returned", "hops_transferred", "hops_handled"):
                    tickets = m.drilldown(user, measure, NOV, group_by=group_by, group=row.key)
                    hops = m.hop_drilldown(user, measure, NOV, group_by=group_by, group=row.key)
                    assert tickets.count() == hops.count() == row.values[measure], (who, group_by, measure, row.key)
                    checked += row.values[measure]
    assert checked > 0


def test_the_department_view_links_each_hop_number_to_its_hops(world: World) -> None:
    _travelled(world)
    rollups.fold_pending()
    client = Client()
    client.force_login(world.user("supervisor"))
    page = client.get("/reports/?month=2026-11")
    assert page.status_code == 200
    table = page.context["department_hops"]
    assert [str(c) for c in table["columns"]][:3] == [str(m.MEASURES[n][0]) for n in ("hops", "hops_returned",
                                                                                      "return_rate")]
    it_row = next(r for r in table["rows"] if r["label"] == world.units["it"].display_name(None))
    links = 0
    for name, cell in zip(("hops", "hops_returned", "return_rate", "hops_transferred", "hops_handled", "hop_mean",
                           "hop_median", "hop_p90"), it_row["cells"], strict=True):
        if cell["url"] is None:
            continue
        links += 1
        listed = client.get(cell["url"])
        assert listed.status_code == 200
        expected = {"return_rate": 1, "hops_handled": 1, "hop_mean": 1, "hop_median": 1, "hop_p90": 1}.get(name, 1)
        assert listed.context["total"] == len(listed.context["hops"]) == expected, name
        assert all(h["department"] == world.units["it"].display_name(None) for h in listed.context["hops"])
        exported = client.get(cell["url"] + "&format=csv")
        rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
        assert len(rows) - 1 == expected, name
    assert links == 7  # all but hops transferred on (none for IT)
    table_page = client.get("/reports/table/?month=2026-11&group_by=department")
    assert table_page.status_code == 200
    assert {"hops", "hops_returned", "return_rate", "hop_mean", "hop_median", "hop_p90"} <= {
        name for name, _label in table_page.context["columns"]}


def test_check_finds_a_hop_fact_out_of_step_and_rebuild_repairs_it(world: World) -> None:
    _travelled(world)
    rollups.fold_pending()
    assert rollups.check().ok
    HopFact.objects.filter(outcome=HopOutcome.RETURNED).update(outcome=HopOutcome.REPLIED)
    report = rollups.check()
    assert not report.ok and any("outcome" in str(d[1]) for d in report.fact_differences)
    with pytest.raises(SystemExit):
        call_command("check_rollups", "--no-fold")
    call_command("rebuild_rollups")
    assert rollups.check().ok
    assert HopFact.objects.filter(outcome=HopOutcome.RETURNED).count() == 1


@pytest.mark.parametrize("measure", ["volume", "hops"])
def test_drill_down_lists_walk_their_pages_newest_first_each_row_once(world: World, monkeypatch, measure: str) -> None:
    monkeypatch.setattr("loopdesk.reports.views.PAGE", 2)
    for _ in range(3):
        _travelled(world)  # 3 work orders, 9 hops
    rollups.fold_pending()
    client = Client()
    client.force_login(world.users["supervisor"])
    url, seen, pages = f"/reports/tickets/?month=2026-11&measure={measure}", [], 0
    while url:
        response = client.get(url if url.startswith("/") else "/reports/tickets/" + url)
        rows = response.context["tickets"] if measure == "volume" else [r["hop"] for r in response.context["hops"]]
        assert len(rows) <= 2 and response.context["total"] == (3 if measure == "volume" else 9)
        seen += [row.pk for row in rows]
        url, pages = response.context["next_url"], pages + 1
    assert len(seen) == len(set(seen)) == (3 if measure == "volume" else 9)  # every row once, none lost
    assert seen == sorted(seen, reverse=True) and pages == (2 if measure == "volume" else 5)


def _late_then_quick(world: World) -> Ticket:
    """netmaint holds it 50 h (late) and transfers it to IT, which replies 10 h later: the work order is an
    overtime ticket (60 h), counted under IT, its last department; the late hop is netmaint's."""
    agent = world.user("agent")
    t = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    t = s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["netmaint"], now=T0)
    t = s.do_transfer_ticket(acting_user=world.user("specialist"), ticket=t, to_unit=world.units["it"],
                             note="转IT", now=T0 + 50 * H)
    t = s.do_accept_ticket(acting_user=world.user("it_specialist"), ticket=t, now=T0 + 51 * H)
    return s.do_reply_ticket(acting_user=world.user("it_specialist"), ticket=t, resolution="已处理", now=T0 + 60 * H)


def test_per_hop_timeliness_credits_the_department_that_was_late(world: World) -> None:
    _late_then_quick(world)
    _travelled(world)  # every hop within 48 h
    rollups.fold_pending()
    user = world.user("supervisor")
    rows = {r.key: r for r in m.table(user, NOV, "department")}
    netmaint, it = rows[world.units["netmaint"].pk].values, rows[world.units["it"].pk].values
    assert (netmaint["hops_handled"], netmaint["hops_late"], netmaint["hops_timely"]) == (2, 1, 1)
    assert netmaint["hop_timeliness"] == pytest.approx(1 / 2)
    assert (it["hops_late"], it["hop_timeliness"]) == (0, 1.0)  # IT replied in 10 h and returned in 30 h
    assert it["overtime"] == 1  # the ticket-level figure keeps its definition: the last department's row
    total = m.report(user, NOV).values
    assert (total["hops_handled"], total["hops_late"]) == (5, 1)
    assert total["hop_timeliness"] == pytest.approx(4 / 5)
    # Each number opens as many hops, and the late one is netmaint's 50 h hop.
    for key, row in rows.items():
        for measure in ("hops_late", "hops_timely"):
            assert m.hop_drilldown(user, measure, NOV, group_by="department", group=key).count() == \
                row.values[measure], (key, measure)
    late = m.hop_drilldown(user, "hops_late", NOV)
    assert list(late.values_list("department_id", "hop_minutes")) == [(world.units["netmaint"].pk, 50 * 60)]
    assert m.drill_measure("hop_timeliness") == "hops_timely"


def test_a_scorecard_item_may_score_per_hop_timeliness(world: World) -> None:
    from loopdesk.reports import scorecards
    from loopdesk.reports.models import AssessmentItem, AssessmentScheme, ScoreMethod, assessment_measures

    assert "hop_timeliness" in dict(assessment_measures())
    _late_then_quick(world)
    rollups.fold_pending()
    scheme = AssessmentScheme.objects.create(name="每跳及时率")
    AssessmentItem.objects.create(scheme=scheme, position=0, name="每跳及时率", measure="hop_timeliness",
                                  method=ScoreMethod.ATTAINMENT, target=1.0, weight=100)
    card = scorecards.score(world.user("supervisor"), scheme, NOV, "department")
    by_unit = {u.unit_id: u for u in card.units}
    assert not card.problems
    assert by_unit[world.units["netmaint"].pk].items[0].value == 0.0
    assert by_unit[world.units["it"].pk].items[0].value == 1.0


def test_check_reports_at_most_limit_differences_also_for_hops(world: World) -> None:
    """`check_rollups --limit 2`: a ticket whose hops differ in many fields listed every one of them."""
    _travelled(world)
    rollups.fold_pending()
    HopFact.objects.update(outcome=HopOutcome.WITHDRAWN, hop_minutes=None, hop_bucket=None)
    full = rollups.check()
    assert len(full.fact_differences) > 2
    assert len(rollups.check(limit=2).fact_differences) == 2
