"""The timeline entry of an escalation reads in the reader's language: it was stored as text in the language of the
sweep (Chinese) or of the page that noticed the crossing, so an English page showed a Chinese line (and the other
way round), with the person's note of an escalation by hand kept as written."""

from __future__ import annotations

from typing import Any

from django.utils import translation

from loopdesk.conftest import World
from loopdesk.followup import services as f
from loopdesk.tickets import services as s


def _timeline(client: Any, pk: int) -> str:
    return client.get(f"/tickets/{pk}/").content.decode().split('id="timeline"')[1].split("</ol>")[0]


def test_an_escalation_reads_in_the_readers_language(world: World, client_for: Any) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), dispatch=True, dispatch_to=world.units["netmaint"],
                           **world.ticket_kwargs())
    with translation.override("zh-hans"):  # the sweep's language
        f.sweep_sla(now=t.problem_at)
    english = _timeline(client_for("supervisor"), t.pk)
    assert "Escalated to the service supervisors: Problem ticket" in english, english
    assert "已升级" not in english
    chinese = _timeline(client_for("agent", "zh-hans"), t.pk)
    assert "已升级至服务管理人员：问题工单" in chinese


def test_an_escalation_by_hand_keeps_the_persons_note(world: World, client_for: Any) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    with translation.override("en"):
        f.do_escalate_by_hand(acting_user=world.user("supervisor"), ticket=t, note="客户第三次来电")
    chinese = _timeline(client_for("agent", "zh-hans"), t.pk)
    assert "已升级至服务管理人员：手动升级。客户第三次来电" in chinese, chinese


def test_the_rest_apis_timeline_reads_the_escalation_in_the_callers_language(world: World) -> None:
    from django.core.cache import caches
    from rest_framework.test import APIClient

    caches["default"].clear()  # the API's rate counters
    t = s.do_create_ticket(acting_user=world.user("agent"), dispatch=True, dispatch_to=world.units["netmaint"],
                           **world.ticket_kwargs())
    with translation.override("zh-hans"):
        f.sweep_sla(now=t.problem_at)
    client = APIClient()
    client.force_login(world.users["supervisor"])
    timeline = client.get(f"/api/tickets/{t.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()["timeline"]
    notes = [e["note"] for e in timeline if e["kind"] == "note"]
    assert notes == ["Escalated to the service supervisors: Problem ticket (past its problem limit)"], notes
