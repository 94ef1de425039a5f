"""Regulator appeals have their own limits (domain.md §4: overtime after 24 h, problem after 48 h in the seeded
policy): the home page's blocks do not say "over 48 h / 72 h" of every late work order, and the alert of a
crossing names the ticket's own limit."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import T0, World
from loopdesk.followup import services as f
from loopdesk.followup.models import StaffAlert
from loopdesk.sla.models import SlaPolicy
from loopdesk.tickets import services as s


def test_home_blocks_name_the_limits_generically(world: World, client_for: Any) -> None:
    english = client_for("supervisor").get("/").content.decode()
    assert "over 72 h" not in english and "over 48 h" not in english
    assert "Problem tickets (past their problem limit)" in english
    assert "Overtime tickets (past their reply limit)" in english
    chinese = client_for("supervisor", "zh-hans").get("/").content.decode()
    assert "72 小时" not in chinese and "48 小时" not in chinese
    assert "问题工单（已超过问题工单时限）" in chinese


def test_the_alert_of_an_appeal_names_its_own_limit(world: World) -> None:
    SlaPolicy.objects.create(name="申诉", position=5, contact_type="appeal", calendar=world.calendars["24x7"],
                             overtime_minutes=24 * 60, problem_minutes=36 * 60)
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"],
                           **world.ticket_kwargs(contact_type="appeal", channel="regulator"))
    limit = t.sla_policy.overtime_minutes
    assert limit != 48 * 60
    f.sweep_sla(now=t.overtime_at)
    messages = set(StaffAlert.objects.filter(ticket=t, kind="overtime").values_list("message", flat=True))
    assert messages == {f"工单 {t.number} 已超时（超过 {limit // 60} 小时）。"}
    f.sweep_sla(now=t.problem_at)
    messages = set(StaffAlert.objects.filter(ticket=t, kind="problem").values_list("message", flat=True))
    assert messages == {f"工单 {t.number} 已成为问题工单（超过 {t.sla_policy.problem_minutes // 60} 小时）。"}


def test_the_escalation_reason_names_no_hours(world: World, client_for: Any) -> None:
    """An appeal becomes a problem ticket after 36 h here: the escalation list said "Problem ticket (over 72 h)"."""
    SlaPolicy.objects.create(name="申诉", position=5, contact_type="appeal", calendar=world.calendars["24x7"],
                             overtime_minutes=24 * 60, problem_minutes=36 * 60)
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"],
                           **world.ticket_kwargs(contact_type="appeal", channel="regulator"))
    f.sweep_sla(now=t.problem_at)
    english = client_for("supervisor").get("/escalations/").content.decode()
    assert t.number in english and "72 h" not in english
    assert "Problem ticket (past its problem limit)" in english
    chinese = client_for("supervisor", "zh-hans").get("/escalations/").content.decode()
    assert "72 小时" not in chinese and "问题工单（已超过问题工单时限）" in chinese
