"""SLA policies, calendars and routing rules have an optional English name, shown when the UI is in English (the
Chinese name otherwise, and when there is none); the seeded ones have English names."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.core.reference import CALENDARS, ROUTING_RULES, SLA_POLICIES
from loopdesk.routing.models import RoutingRule
from loopdesk.sla.models import BusinessCalendar, SlaPolicy
from loopdesk.tickets import services as s


def test_policy_page_and_ticket_show_english_names_in_english(world: World, client_for: Any) -> None:
    SlaPolicy.objects.filter(pk=world.policies["default"].pk).update(name="默认时限", name_en="Default limits")
    BusinessCalendar.objects.filter(pk=world.calendars["24x7"].pk).update(name="全天候", name_en="Around the clock")
    RoutingRule.objects.filter(name="基础通信→网维").update(name_en="Basic telecom → network maintenance")
    english = client_for("supervisor").get("/policies/").content.decode()
    assert "Default limits" in english and "Around the clock" in english
    assert "Basic telecom → network maintenance" in english and "基础通信→网维" not in english
    assert "覆盖→网优" in english  # no English name: the Chinese one
    chinese = client_for("supervisor", "zh-hans").get("/policies/").content.decode()
    assert "默认时限" in chinese and "Default limits" not in chinese and "基础通信→网维" in chinese
    preview = client_for("supervisor").get("/policies/preview/", {
        "category": world.categories["indoor"].pk, "contact_type": "complaint", "tier": "regular",
        "channel": "hotline", "priority": "normal"}).content.decode()
    assert "Basic telecom → network maintenance" in preview and "Default limits" in preview
    t = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    assert "Default limits" in client_for("agent").get(f"/tickets/{t.pk}/").content.decode()


def test_every_seeded_policy_calendar_and_rule_has_an_english_name() -> None:
    assert all(spec.get("name_en") for spec in CALENDARS)
    assert all(spec.get("name_en") for spec in SLA_POLICIES)
    assert all(len(rule) == 5 and rule[1] for rule in ROUTING_RULES)


def test_the_migrations_name_the_rows_seeded_before_in_english(world: World) -> None:
    import importlib

    from django.apps import apps

    rule = RoutingRule.objects.create(name="其它 → 综援室", position=90, target_unit=world.units["l2"])
    named = RoutingRule.objects.create(name="市场营销 → 支撑室", name_en="Ours", position=60,
                                       target_unit=world.units["l2"])
    policy = SlaPolicy.objects.create(name="VIP客户", position=20, calendar=world.calendars["24x7"])
    BusinessCalendar.objects.filter(pk=world.calendars["24x7"].pk).update(code="24x7", name_en="")
    importlib.import_module("loopdesk.routing.migrations.0003_name_en").fill_seeded(apps, None)
    importlib.import_module("loopdesk.sla.migrations.0006_name_en").fill_seeded(apps, None)
    assert RoutingRule.objects.get(pk=rule.pk).name_en == "Other → second-line support room"
    assert RoutingRule.objects.get(pk=named.pk).name_en == "Ours"  # one entered by hand is kept
    assert SlaPolicy.objects.get(pk=policy.pk).name_en == "VIP customers"
    assert BusinessCalendar.objects.get(pk=world.calendars["24x7"].pk).name_en == "Around the clock (24×7)"
