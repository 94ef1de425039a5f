"""Supervisor board: grouping by department and branch, ageing buckets, reassign only where allowed, auto-refresh,
the department head's own board, and bounded queries (also on the policy page)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loopdesk.conftest import World
from loopdesk.followup.models import Escalation, EscalationReason
from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.routing.models import RoutingRule
from loopdesk.sla.models import SlaPolicy
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_create_ticket

H = dt.timedelta(hours=1)


def _late(world: World, *, unit: str = "netmaint", age_hours: float = 50, problem: bool = False,
          overtime: bool = True, branch: OrgUnit | None = None, **kwargs: Any) -> Ticket:
    """A ticket dispatched to `unit`, created `age_hours` ago, marked overtime/problem as the SLA sweep would."""
    t = do_create_ticket(acting_user=world.user("agent"), dispatch=True, dispatch_to=world.units[unit],
                         **world.ticket_kwargs(**kwargs))
    now = timezone.now()
    Ticket.objects.filter(pk=t.pk).update(
        created_at=now - age_hours * H, is_overtime=overtime or problem, is_problem=problem,
        overtime_at=now - H if overtime or problem else None, branch=branch or t.branch)
    return Ticket.objects.get(pk=t.pk)


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _flat(client: Any, url: str, add: Callable[[], Any], more: int = 5) -> None:
    add()
    few = _queries(client, url)
    for _ in range(more):
        add()
    assert _queries(client, url) == few


def test_board_groups_late_tickets_by_department_and_branch_and_buckets_open_ones_by_age(
        world: World, client_for: Any) -> None:
    heshan = OrgUnit.objects.create(code="BRANCH_HS", name="鹤山分公司", name_en="Heshan", parent=world.units["jm"],
                                    level=UnitLevel.CENTRE, function=UnitFunction.FRONT_LINE, province="GD",
                                    region="JM")
    _late(world, age_hours=50)  # 48–72 h
    _late(world, age_hours=80, problem=True)  # 3–7 days
    _late(world, unit="mkt", age_hours=10, branch=heshan)  # under 24 h
    _late(world, age_hours=200, overtime=False)  # over 7 days, on time: counted in the ageing only
    response = client_for("supervisor").get("/board/")
    assert response.status_code == 200
    ctx = response.context
    assert (ctx["totals"]["open"], ctx["totals"]["overtime"], ctx["totals"]["problem"]) == (4, 2, 1)
    assert [(r["name"], r["overtime"], r["problem"]) for r in ctx["by_department"]] == [
        ("netmaint", 1, 1), ("mkt", 1, 0)]  # English names: the supervisor works in English
    assert [(r["name"], r["overtime"], r["problem"]) for r in ctx["by_branch"]] == [
        ("branch_xh", 1, 1), ("Heshan", 1, 0)]
    assert [(str(label), n) for label, n, _pct in ctx["ageing"]] == [
        ("Under 24 h", 1), ("24–48 h", 0), ("48–72 h", 1), ("3–7 days", 1), ("Over 7 days", 1)]
    assert [pct for _label, _n, pct in ctx["ageing"]] == [100, 0, 100, 100, 100]
    html = response.content.decode()
    department = html[html.index('id="by-department"'):html.index('id="ageing"')]
    assert "netmaint" in department and "mkt" in department
    assert "Heshan" in html[html.index('id="by-branch"'):html.index('id="board-late"')]
    late = html[html.index('id="board-late"'):]
    assert late.count('class="num"') == 3  # the on-time ticket is not listed


def test_reassign_is_offered_only_where_the_user_may_transfer(world: World, client_for: Any,
                                                                monkeypatch: Any) -> None:
    movable = _late(world)
    waiting = _late(world, unit="l2", category=world.categories["other"])
    Ticket.objects.filter(pk=waiting.pk).update(status=Status.RETURNED)  # back for dispatch: not transferable
    client = client_for("supervisor")
    html = client.get("/board/").content.decode()
    assert f'data-action="reassign" href="/tickets/{movable.pk}/act/transfer/"' in html
    assert f"/tickets/{waiting.pk}/act/transfer/" not in html and waiting.number in html
    # The button follows the policy's allowed actions, not the status alone.
    monkeypatch.setattr("loopdesk.workbench.views.board.allowed_actions", lambda user, ticket: [])
    html = client.get("/board/").content.decode()
    assert 'data-action="reassign"' not in html and movable.number in html


def test_board_refreshes_itself_every_minute_with_its_body_only(world: World, client_for: Any) -> None:
    _late(world)
    client = client_for("supervisor")
    html = client.get("/board/").content.decode()
    assert 'id="board-body" hx-get="/board/" hx-trigger="every 60s"' in html
    body = client.get("/board/", headers={"HX-Request": "true", "HX-Target": "board-body"})
    assert body.status_code == 200
    text = body.content.decode()
    assert "<html" not in text and 'id="by-department"' in text and 'id="board-body"' not in text


def test_board_query_count_does_not_grow_with_rows(world: World, client_for: Any) -> None:
    counter = iter(range(100))
    client = client_for("supervisor")
    _flat(client, "/board/", lambda: _late(world, problem=next(counter) % 2 == 0,
                                           unit="mkt" if next(counter) % 3 == 0 else "netmaint"))


def test_policies_query_count_does_not_grow_with_rules_and_policies(world: World, client_for: Any) -> None:
    n = iter(range(100))

    def add() -> None:
        i = next(n)
        RoutingRule.objects.create(name=f"规则{i}", position=100 + i, category=world.categories["billing"],
                                   target_unit=world.units["it"], branch=world.units["branch_xh"])
        SlaPolicy.objects.create(name=f"时限{i}", position=500 + i, category=world.categories["calls"],
                                 calendar=world.calendars["workdays"])

    _flat(client_for("supervisor"), "/policies/", add)


def test_department_head_sees_the_board_of_their_own_department_only(world: World, client_for: Any) -> None:
    ours = _late(world, problem=True)
    theirs = _late(world, unit="mkt")
    response = client_for("head").get("/board/")
    assert response.status_code == 200
    html = response.content.decode()
    assert ours.number in html and theirs.number not in html
    assert response.context["totals"]["open"] == 1
    assert [r["name"] for r in response.context["by_department"]] == ["netmaint"]
    assert "Department board" in html and 'href="/board/"' in html
    assert 'id="board-escalations"' not in html  # escalations are the supervisors' list
    assert f'data-action="reassign" href="/tickets/{ours.pk}/act/transfer/"' in html
    for role in ("specialist", "agent", "dispatcher"):  # an auditor reads it (test_auditor_reads_supervision)
        assert client_for(role).get("/board/").status_code == 403, role
    assert 'href="/board/"' not in client_for("specialist").get("/").content.decode()


def test_escalate_from_the_board_asks_why_and_puts_it_on_the_escalation_list(world: World, client_for: Any) -> None:
    t = _late(world, problem=True)
    client = client_for("supervisor")
    html = client.get("/board/").content.decode()
    url = f"/board/escalate/{t.pk}/"
    assert f'data-action="escalate" href="{url}" hx-get="{url}" hx-target="#dialog-body"' in html
    dialog = client.get(url, headers={"HX-Request": "true"})
    assert dialog.status_code == 200 and 'name="note"' in dialog.content.decode()
    assert "<html" not in dialog.content.decode()
    response = client.post(url, {"note": " "}, headers={"HX-Request": "true"})
    assert response.status_code == 422 and response.context["form"].errors["note"]
    assert not Escalation.objects.exists()
    response = client.post(url, {"note": "客户第三次来电，请督办"}, headers={"HX-Request": "true"})
    assert response.status_code == 204 and response["HX-Redirect"] == "/board/"
    escalation = Escalation.objects.get(ticket=t, reason=EscalationReason.MANUAL)
    assert escalation.escalated_by_id == world.users["supervisor"].pk and escalation.note == "客户第三次来电，请督办"
    html = client.get("/board/").content.decode()
    assert f"{t.number} escalated to the service supervisors." in html
    assert f'data-escalated="{t.pk}"' in html and url not in html  # no second escalation while it is open
    listed = client.get("/escalations/").content.decode()
    assert "Escalated by hand" in listed and "客户第三次来电，请督办" in listed
    assert '<span class="escalated-by">supervisor</span>' in listed
    response = client.post(url, {"note": "再次"})  # a plain form post, e.g. from a stale page
    assert response.status_code == 422 and "already escalated by hand" in response.content.decode()
    assert Escalation.objects.filter(ticket=t).count() == 1


def test_escalate_is_offered_and_allowed_to_supervisors_and_heads_only(world: World, client_for: Any) -> None:
    t = _late(world)
    assert 'data-action="escalate"' in client_for("head").get("/board/").content.decode()
    assert client_for("specialist").get(f"/board/escalate/{t.pk}/").status_code == 403
    assert client_for("specialist").post(f"/board/escalate/{t.pk}/", {"note": "x"}).status_code == 403
    assert client_for("zh_agent").get(f"/board/escalate/{t.pk}/").status_code == 404
    response = client_for("head").post(f"/board/escalate/{t.pk}/", {"note": "需要公司层面协调"})
    assert response.status_code == 302 and response["Location"] == "/board/"
    assert Escalation.objects.get(ticket=t).escalated_by_id == world.users["head"].pk


def test_escalating_a_work_order_closed_meanwhile_says_so_and_keeps_the_note(world: World, client_for: Any) -> None:
    from loopdesk.tickets.models import Ticket

    t = _late(world)
    url = f"/board/escalate/{t.pk}/"
    client = client_for("supervisor", "zh-hans")
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 200  # the dialog, opened while open
    Ticket.objects.filter(pk=t.pk).update(is_open=False, status="closed")  # closed by someone else meanwhile
    response = client.post(url, {"note": "请督办"}, headers={"HX-Request": "true"})
    assert response.status_code == 409
    page = response.content.decode()
    assert t.number in page and "不再处于处理中" in page and "请督办" in page
    assert not Escalation.objects.exists()
    assert client_for("specialist").post(url, {"note": "x"}).status_code == 403  # not theirs to escalate, open or not


def test_board_figures_come_from_the_open_ticket_indexes_not_the_ticket_rows(world: Any) -> None:
    """The board's totals and ageing read the covering index tkt_open_region; its late list (in board order,
    no sort) and its counts by department and branch read tkt_open_late."""
    from django.db import connection
    from django.db.models import Count, Q

    from loopdesk.tickets.models import Ticket
    from loopdesk.tickets.policy import visible_tickets
    from loopdesk.tickets.services import do_create_ticket
    from loopdesk.workbench.views.board import board_context

    agent = world.user("agent")
    tickets = [do_create_ticket(acting_user=agent, **world.ticket_kwargs(), dispatch=True) for _ in range(30)]
    for i, t in enumerate(tickets):
        if i % 3 == 0:
            Ticket.objects.filter(pk=t.pk).update(is_open=False, status="closed")
        elif i % 3 == 1:
            Ticket.objects.filter(pk=t.pk).update(is_overtime=True, overtime_at=t.created_at, is_problem=i % 2 == 0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + connection.ops.quote_name(Ticket._meta.db_table))
    supervisor = world.user("supervisor")
    open_qs = visible_tickets(supervisor).filter(is_open=True)

    def plan(qs: Any) -> str:
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # a tiny table: ask whether the index can answer it at all
                for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                    cursor.execute(f"SET LOCAL {setting} = off")
                cursor.execute("EXPLAIN " + sql, params)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())

    totals = plan(open_qs.values("region").annotate(n=Count("id"), late=Count("id", filter=Q(is_problem=True)),
                                                    old=Count("id", filter=Q(created_at__lt=tickets[5].created_at)),
                                                    overdue=Count("id", filter=Q(sla_paused=False))))
    if connection.vendor == "sqlite":  # (PostgreSQL may take any partial index of open tickets on 30 rows)
        assert "COVERING INDEX tkt_open_region" in totals, totals  # no ticket row read
    late = open_qs.filter(Q(is_overtime=True) | Q(is_problem=True)).order_by("-is_problem", "overtime_at", "id")[:50]
    late_plan = plan(late)
    assert "tkt_open_late" in late_plan and "TEMP B-TREE" not in late_plan and "Sort" not in late_plan, late_plan
    counts = plan(open_qs.filter(Q(is_overtime=True) | Q(is_problem=True)).values("handler_unit", "branch")
                  .annotate(n=Count("id")).order_by())
    if connection.vendor == "sqlite":  # (PostgreSQL takes any index of a 30-row table for a grouped count)
        assert "COVERING INDEX tkt_open_late" in counts, counts
    context = board_context(supervisor, tickets[-1].created_at)
    assert context["totals"]["open"] == 20
    assert sum(r["overtime"] + r["problem"] for r in context["by_department"]) == 10
    assert sum(r["overtime"] + r["problem"] for r in context["by_branch"]) == 10
    assert [t.pk for t in context["late"]] == [t.pk for t in late]


def test_board_names_its_overtime_and_problem_counts_as_what_they_count(world: World, client_for: Any) -> None:
    """The overtime figure leaves the problem tickets out (48–72 h, not "over 48 h"), and the columns say work
    orders: 问题工单, not 问题 ("a problem")."""
    _late(world, age_hours=50)
    _late(world, age_hours=80, problem=True)
    english = client_for("supervisor").get("/board/").content.decode()
    assert 'id="stat-overtime">1<' in english and "Overtime (over 48 h)" not in english
    assert "Overtime tickets (not yet problem tickets)" in english
    assert "Problem tickets (past their problem limit)" in english
    chinese = client_for("supervisor", "zh-hans").get("/board/").content.decode()
    headers = chinese.split('id="by-department"', 1)[1].split("</thead>", 1)[0]
    assert "<th>问题工单（已超过问题工单时限）</th>" in headers and "<th>超时工单（尚未成为问题工单）</th>" in headers
    assert "<th>问题</th>" not in headers
