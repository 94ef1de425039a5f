"""The Django admin speaks the signed-in user's language: Chinese for a zh-hans user whatever the browser says,
English for an English one (our models' names from our catalogue, Django's own words from Django's)."""

from __future__ import annotations

import pytest
from django.test import Client

from loopdesk.conftest import World


def _admin_client(world: World, language: str) -> Client:
    user = world.user("admin")
    user.is_staff = user.is_superuser = True
    user.language = language
    user.save()
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("language", "browser", "words", "not_words"), [
    ("zh-hans", "en", ["组织机构", "组织单位", "派单规则", "工作日历", "时限策略", "审计日志", "基础数据与人员",
                       "最近动作"],
     ["Organisation units", "Routing rules", "Reference data and staff", "Recent actions"]),
    ("en", "zh-hans", ["Organisation", "Organisation units", "Routing rules", "Business calendars", "SLA policies",
                       "Reference data and staff", "Recent actions"], ["组织单位", "派单规则", "最近动作"]),
])
def test_admin_index_in_the_users_language(world: World, language: str, browser: str, words: list[str],
                                           not_words: list[str]) -> None:
    page = _admin_client(world, language).get("/admin/", headers={"accept-language": browser})
    assert page.status_code == 200
    html = page.content.decode()
    assert all(word in html for word in words), [w for w in words if w not in html]
    assert not any(word in html for word in not_words), [w for w in not_words if w in html]


def test_admin_change_list_and_form_in_chinese(world: World) -> None:
    client = _admin_client(world, "zh-hans")
    listing = client.get("/admin/routing/routingrule/").content.decode()
    assert "派单规则" in listing and "派往" in listing and "基础通信→网维" in listing
    form = client.get("/admin/routing/routingrule/add/").content.decode()
    assert "客户层级" in form and "保存" in form and "customer tier" not in form


def _text(html: str) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_roles_and_their_permissions_in_chinese(world: World) -> None:
    from django.contrib.auth.models import Group

    client = _admin_client(world, "zh-hans")
    listing = _text(client.get("/admin/auth/group/").content.decode())
    assert "话务员" in listing or "热线" in listing, listing[-600:]
    group = Group.objects.get(name="hotline_agent")
    form = _text(client.get(f"/admin/auth/group/{group.pk}/change/").content.decode())
    assert "工单 | 工单 | " in form
    assert "Can add" not in form and "Can view" not in form


def test_roles_and_their_permissions_in_english(world: World) -> None:
    from django.contrib.auth.models import Group

    client = _admin_client(world, "en")
    assert "Hotline agent" in _text(client.get("/admin/auth/group/").content.decode())
    group = Group.objects.get(name="hotline_agent")
    assert "Can view work order" in _text(client.get(f"/admin/auth/group/{group.pk}/change/").content.decode())


def test_ticket_number_sequences_in_chinese(world: World) -> None:
    from loopdesk.tickets.services import do_create_ticket

    do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    client = _admin_client(world, "zh-hans")
    listing = _text(client.get("/admin/tickets/ticketsequence/").content.decode())
    assert "Ticket sequence" not in listing and "ticket sequence" not in listing
    assert "Last value" not in listing and "Day" not in listing
    assert "工单编号序列" in listing
    assert "工单编号序列" in _text(client.get("/admin/").content.decode())


def test_staff_roles_calendar_overrides_and_djangos_newer_admin_texts_in_chinese(world: World) -> None:
    client = _admin_client(world, "zh-hans")
    users = _text(client.get("/admin/org/user/?role=hotline_agent").content.decode())
    assert "话务员" in users and "Model name" not in users and "模型名称" in users
    agent = world.users["agent"]
    form = client.get(f"/admin/org/user/{agent.pk}/change/").content.decode()
    assert ">话务员</option>" in form and ">hotline_agent</option>" not in form
    assert "you’ll be able to edit more user options" not in client.get("/admin/org/user/add/").content.decode()
    day = _text(client.get("/admin/sla/calendarday/add/").content.decode())
    assert "Calendar" not in day and "日历" in day


def test_every_field_of_the_work_order_admin_pages_has_a_translated_name() -> None:
    from django.contrib import admin
    from django.utils.functional import Promise

    untranslated = [
        f"{model._meta.label}.{f.name}" for model in admin.site._registry
        if model._meta.app_label in ("tickets", "org", "sla", "routing", "audit", "customers")
        for f in model._meta.get_fields() if getattr(f, "concrete", False) and not f.auto_created
        and not isinstance(f.verbose_name, Promise)]
    assert untranslated == []
