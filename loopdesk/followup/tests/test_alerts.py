"""Staff alerts: marking read is the owner's alone, and the /alerts/ list is read in index order."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from loopdesk.conftest import T0, World
from loopdesk.core.errors import NotFoundError, PermissionDeniedError
from loopdesk.followup import selectors
from loopdesk.followup.models import StaffAlert
from loopdesk.followup.services import do_mark_alerts_read


def _alerts(world: World, key: str, n: int) -> list[StaffAlert]:
    return [StaffAlert.objects.create(user=world.users[key], kind="due_soon", occasion=f"{key}:{i}",
                                      message=f"提醒{i}", created_at=T0 + dt.timedelta(minutes=i))
            for i in range(n)]


def _unread(world: World, key: str) -> int:
    return StaffAlert.objects.filter(user=world.users[key], read_at=None).count()


def test_owner_marks_one_alert_then_all_and_marking_again_changes_nothing(world: World) -> None:
    mine = _alerts(world, "specialist", 3)
    _alerts(world, "agent", 2)
    at = T0 + dt.timedelta(hours=1)
    assert do_mark_alerts_read(acting_user=world.user("specialist"), alert_ids=[mine[0].pk], now=at) == 1
    assert _unread(world, "specialist") == 2
    assert do_mark_alerts_read(acting_user=world.user("specialist"), alert_ids=[mine[0].pk],
                               now=at + dt.timedelta(hours=1)) == 0
    mine[0].refresh_from_db()
    assert mine[0].read_at == at  # the first reading is kept
    assert do_mark_alerts_read(acting_user=world.user("specialist"), now=at) == 2
    assert _unread(world, "specialist") == 0 and _unread(world, "agent") == 2  # all = the owner's only


def test_someone_elses_alert_is_not_found_and_nothing_is_marked(world: World) -> None:
    mine = _alerts(world, "specialist", 1)
    others = _alerts(world, "agent", 1)
    with pytest.raises(NotFoundError):
        do_mark_alerts_read(acting_user=world.user("specialist"), alert_ids=[mine[0].pk, others[0].pk])
    with pytest.raises(NotFoundError):
        do_mark_alerts_read(acting_user=world.user("specialist"), alert_ids=[10**9])
    assert _unread(world, "specialist") == 1 and _unread(world, "agent") == 1
    with pytest.raises(PermissionDeniedError):
        do_mark_alerts_read(acting_user=AnonymousUser())
    assert do_mark_alerts_read(acting_user=world.user("specialist"), alert_ids=[]) == 0


def test_marking_someone_elses_alert_in_the_workbench_is_a_404(world: World, client) -> None:
    others = _alerts(world, "agent", 1)
    client.force_login(world.user("specialist"))
    assert client.post("/alerts/read/", {"id": others[0].pk}).status_code == 404
    assert _unread(world, "agent") == 1


def _plan(sql: str, params: tuple) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A small test table: ask whether an index can deliver the rows in the list's order (the planner
            # would rather sort a few rows read by a bitmap scan, which is as good at this size).
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.parametrize(("unread_only", "index"), [(False, "followup_alert_list"),
                                                      (True, "followup_alert_unread")])
def test_alert_list_reads_an_index_in_its_order_without_sorting(world: World, unread_only: bool,
                                                                 index: str) -> None:
    _alerts(world, "specialist", 200)
    _alerts(world, "agent", 200)
    # As in use: most alerts were read, the unread ones are few.
    StaffAlert.objects.filter(created_at__lt=T0 + dt.timedelta(minutes=190)).update(read_at=T0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + connection.ops.quote_name(StaffAlert._meta.db_table))
    qs = selectors.my_alerts(world.user("specialist"), unread_only=unread_only)[:25]
    sql, params = qs.query.sql_with_params()
    plan = _plan(sql, params)
    assert index in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
