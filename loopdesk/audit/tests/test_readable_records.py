"""An auditor reading the audit log in the admin saw each record titled with its time in UTC (a ticket closed at
14:00 in Jiangmen read '06:00') and the stored codes ('ticket.close', 'tickets.ticket') in the list, the record's
page and its title, in the Chinese admin too. Times are Asia/Shanghai now, actions and object types named in the
reader's language."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Group

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import T0, World, staff_client
from loopdesk.core.reference import _permissions_for_role
from loopdesk.org.choices import Role
from loopdesk.tickets import services


def _closed_record(world: World) -> AuditLog:
    Group.objects.get_or_create(name=Role.AUDITOR)[0].permissions.add(*_permissions_for_role(Role.AUDITOR))
    ticket = world.replied_ticket(answered=True)
    ticket = services.do_callback(acting_user=world.user("agent"), ticket=ticket, verdict="satisfied",
                                  now=T0 + dt.timedelta(hours=4))
    services.do_close_ticket(acting_user=world.user("agent"), ticket=ticket, now=T0 + dt.timedelta(hours=5))
    return AuditLog.objects.get(action="ticket.close")


def test_the_audit_record_page_names_the_action_in_shanghai_time(world: World) -> None:
    entry = _closed_record(world)  # 14:00 in Asia/Shanghai, 06:00 UTC
    page = staff_client(world, "auditor", language="zh-hans").get(f"/admin/audit/auditlog/{entry.pk}/change/")
    text = page.content.decode()
    assert page.status_code == 200
    assert f"2026-11-02 14:00 已关闭 {entry.object_repr}" in text
    assert "06:00" not in text
    assert "ticket.close" not in text and "tickets.ticket" not in text
    assert "工单" in text  # the object type: the work order model's name


def test_the_audit_list_names_actions_and_object_types_in_the_readers_language(world: World) -> None:
    entry = _closed_record(world)
    record_audit_reveal = AuditLog.objects.filter(action="ticket.create").first()
    assert record_audit_reveal is not None
    for language, closed, created, kind in (("zh-hans", "已关闭", "已受理", "工单"),
                                             ("en", "Closed", "Registered", "work order")):
        listing = staff_client(world, "auditor", language=language).get("/admin/audit/auditlog/")
        text = listing.content.decode()
        assert entry.pk in {row.pk for row in listing.context["cl"].result_list}
        assert f">{closed}<" in text and f">{created}<" in text, language
        assert f">{kind}<" in text, language
        assert ">ticket.close<" not in text and ">tickets.ticket<" not in text, language


def test_the_audit_record_page_shows_statuses_by_name_and_times_in_shanghai(world: World) -> None:
    """The details were the stored JSON: {"from": "called_back", "to": "closed"}, and a changed committed time in
    UTC ("2026-11-06T02:00:00+00:00" for 10:00 in Jiangmen)."""
    entry = _closed_record(world)
    ticket = world.replied_ticket()
    services.do_set_committed_time(acting_user=world.user("agent"), ticket=ticket,
                                   committed_at=dt.datetime(2026, 11, 6, 10, 0, tzinfo=T0.tzinfo), reason="客户同意",
                                   now=T0 + dt.timedelta(hours=3))
    moved = AuditLog.objects.get(action="ticket.commit_time")
    zh = staff_client(world, "auditor", language="zh-hans")
    text = zh.get(f"/admin/audit/auditlog/{entry.pk}/change/").content.decode()
    assert "from: 已回访" in text and "to: 已关闭" in text
    assert "called_back" not in text and "&quot;closed&quot;" not in text
    text = zh.get(f"/admin/audit/auditlog/{moved.pk}/change/").content.decode()
    assert "to: 2026-11-06 10:00" in text
    assert "02:00" not in text
    text = staff_client(world, "auditor", language="en").get(f"/admin/audit/auditlog/{entry.pk}/change/").content
    assert "to: Closed" in text.decode()
