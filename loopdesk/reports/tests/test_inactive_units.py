"""A unit deactivated after a period keeps its figures and its place in that period's scorecard, marked inactive."""

from __future__ import annotations

from django.test import Client
from django.utils import translation

from loopdesk.conftest import World
from loopdesk.reports import measures as m
from loopdesk.reports import scorecards
from loopdesk.tickets.models import Ticket


def test_a_deactivated_unit_is_scored_for_the_period_it_worked_and_marked(world: World,
                                                                           history: list[Ticket]) -> None:
    netmaint = world.units["netmaint"]
    supervisor = world.user("supervisor")
    november = m.Period.month(2026, 11)
    before = scorecards.score(supervisor, scorecards.scheme_for(supervisor), november, "department")
    was = next(u for u in before.units if u.unit_id == netmaint.pk)
    netmaint.is_active = False
    netmaint.save()
    with translation.override("zh-hans"):
        card = scorecards.score(supervisor, scorecards.scheme_for(supervisor), november, "department")
    now = next(u for u in card.units if u.unit_id == netmaint.pk)
    assert now.total == was.total and now.total is not None
    assert now.label == "网络维护中心（已停用）"
    client = Client()
    client.force_login(world.users["supervisor"])
    page = client.get("/reports/scorecard/?month=2026-11&unit_kind=department").content.decode()
    assert "网络维护中心（已停用）" in page
    english = client.get("/reports/scorecard/?month=2026-11&unit_kind=department&format=csv",
                         HTTP_ACCEPT_LANGUAGE="en")
    assert "netmaint (inactive)" in b"".join(english.streaming_content).decode("utf-8-sig")
    with translation.override("zh-hans"):
        rows = m.table(supervisor, november, "department")
    assert any(r.key == netmaint.pk and r.label.endswith("（已停用）") for r in rows)
