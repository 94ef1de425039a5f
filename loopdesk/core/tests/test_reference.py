"""The seeded reference data: idempotent, consistent, and routing/SLA behave as domain.md §4–5 say."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import post_admin_change
from loopdesk.core.reference import (
    CATEGORY_TREE,
    COUNT_KEYS,
    ORG_UNITS,
    ROUTING_RULES,
    SLA_POLICIES,
    seed_reference,
)
from loopdesk.customers.choices import Tier
from loopdesk.customers.models import Customer
from loopdesk.org.choices import Role, UnitFunction
from loopdesk.org.models import OrgUnit, User
from loopdesk.routing.models import RoutingRule
from loopdesk.routing.services import route_ticket
from loopdesk.sla.models import BusinessCalendar, CalendarDay, SlaPolicy
from loopdesk.sla.services import select_policy
from loopdesk.tickets.choices import Channel, ContactType, EventKind, Priority
from loopdesk.tickets.models import Category, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded() -> dict[str, int]:
    return seed_reference()


def _route(category_code: str, tier: str = Tier.REGULAR) -> str | None:
    decision = route_ticket(
        region="JM",
        category=Category.objects.get(code=category_code),
        contact_type=ContactType.COMPLAINT,
        tier=tier,
        channel=Channel.HOTLINE,
    )
    return decision.unit.code if decision.unit else None


def _policy(category_code: str, *, contact_type: str = ContactType.COMPLAINT, tier: str = Tier.REGULAR) -> SlaPolicy:
    return select_policy(
        contact_type=contact_type,
        category=Category.objects.get(code=category_code),
        tier=tier,
        priority=Priority.NORMAL,
        channel=Channel.HOTLINE,
    )


def test_first_run_creates_everything_it_declares(seeded: dict[str, int]) -> None:
    assert set(seeded) == set(COUNT_KEYS)
    assert seeded["groups"] == len(Role)
    assert seeded["org_units"] == len(ORG_UNITS) == OrgUnit.objects.count()
    assert seeded["sla_policies"] == len(SLA_POLICIES) == SlaPolicy.objects.count()
    assert seeded["routing_rules"] == len(ROUTING_RULES) == RoutingRule.objects.count()
    assert seeded["calendars"] == 3
    assert seeded["categories"] == Category.objects.count() > 90
    assert seeded["group_permissions"] > 0


def test_second_run_creates_nothing(seeded: dict[str, int]) -> None:
    before = (OrgUnit.objects.count(), Category.objects.count(), SlaPolicy.objects.count(), Group.objects.count())
    again = seed_reference()
    assert again == dict.fromkeys(COUNT_KEYS, 0)
    after = (OrgUnit.objects.count(), Category.objects.count(), SlaPolicy.objects.count(), Group.objects.count())
    assert after == before


def test_reseeding_keeps_supervisor_edits(seeded: dict[str, int]) -> None:
    rule = RoutingRule.objects.get(category__code="FEE")
    rule.name = "费用类 → 信息技术中心（已改名）"
    rule.save()
    policy = SlaPolicy.objects.get(contact_type=ContactType.APPEAL)
    policy.first_response_minutes = 60
    policy.save()

    assert seed_reference()["routing_rules"] == 0
    assert RoutingRule.objects.filter(category__code="FEE").count() == 1
    assert SlaPolicy.objects.get(contact_type=ContactType.APPEAL).first_response_minutes == 60


def test_every_routing_rule_targets_a_specialist_or_second_line_unit(seeded: dict[str, int]) -> None:
    functions = {rule.name: rule.target_unit.function for rule in RoutingRule.objects.select_related("target_unit")}
    assert len(functions) == len(ROUTING_RULES)
    wrong = {name: f for name, f in functions.items() if f not in {UnitFunction.SPECIALIST, UnitFunction.SECOND_LINE}}
    assert wrong == {}


def test_category_tree_has_the_eight_jiangmen_roots(seeded: dict[str, int]) -> None:
    roots = list(Category.objects.filter(parent=None).order_by("position").values_list("name", flat=True))
    assert roots == ["基础通信", "服务质量", "通信费用", "市场营销", "集团业务", "梦网业务", "业务支撑", "其它"]
    assert len(CATEGORY_TREE) == 8


def test_category_codes_are_dotted_paths_of_their_ancestors(seeded: dict[str, int]) -> None:
    for category in Category.objects.select_related("parent"):
        if category.parent is None:
            assert "." not in category.code
        else:
            assert category.code.startswith(category.parent.code + ".")
            assert category.depth == category.parent.depth + 1
        assert category.keywords, category.code
        assert category.name_en, category.code
    assert Category.objects.filter(depth=2).count() >= 50


def test_default_sla_policy_exists_without_conditions(seeded: dict[str, int]) -> None:
    defaults = SlaPolicy.objects.filter(
        contact_type="", category=None, tier="", priority="", channel="", is_active=True
    )
    assert defaults.count() == 1
    default = defaults.get()
    assert default.position == SlaPolicy.objects.order_by("-position").values_list("position", flat=True).first()
    assert (default.first_response_minutes, default.hop_reply_minutes, default.resolution_minutes) == (120, 2880, 4320)
    assert _policy("OTHER.MISC", contact_type=ContactType.CONSULTATION) == default


def test_appeal_vip_and_coverage_policies_win_in_that_order(seeded: dict[str, int]) -> None:
    appeal = _policy("BASIC.COVERAGE.INDOOR", contact_type=ContactType.APPEAL, tier=Tier.VIP)
    assert appeal.contact_type == ContactType.APPEAL
    assert (appeal.resolution_minutes, appeal.overtime_minutes, appeal.problem_minutes) == (14400, 1440, 2880)

    vip = _policy("BASIC.COVERAGE.INDOOR", tier=Tier.VIP)
    assert vip.tier == Tier.VIP
    assert vip.first_response_minutes == 30

    coverage = _policy("BASIC.COVERAGE.NEW_ESTATE")
    assert coverage.calendar.code == "workdays-full"
    assert (coverage.first_response_minutes, coverage.resolution_minutes) == (3 * 1440, 7 * 1440)

    complaint = _policy("FEE.DISPUTE.CALL_CHARGE")
    assert complaint.contact_type == ContactType.COMPLAINT


def test_calendars_are_seeded_with_their_hours(seeded: dict[str, int]) -> None:
    calendars = {c.code: (c.kind, c.work_start, c.work_end) for c in BusinessCalendar.objects.all()}
    assert calendars == {
        "24x7": ("24x7", dt.time(0), None),
        "workdays": ("workdays", dt.time(8, 30), dt.time(17, 30)),
        "workdays-full": ("workdays", dt.time(0), None),
    }


@pytest.mark.parametrize(
    ("category_code", "unit_code"),
    [
        ("BASIC.COVERAGE.INDOOR", "JM-NET-OPT"),  # coverage before the general basic-communication rule
        ("BASIC.CALL.DROP", "JM-NET-MAINT"),
        ("MONTERNET.UNCONFIRMED.SMS", "JM-MKT-DATA"),
        ("FEE.ROAMING.HIGH", "JM-NET-IT"),
        ("SUPPORT.HANDLING.OPEN_FAIL", "JM-NET-IT"),
        ("MARKETING.OFFER.NOT_EFFECTIVE", "JM-MKT-SUP"),
        ("GROUP.VPMN.SHORT_NUMBER", "JM-MKT-GROUP"),
        ("SERVICE.HALL.RUDE", "JM-MKT-CHN"),
        ("OTHER.MISC", "JM-L2"),
    ],
)
def test_seeded_routing_sends_each_top_category_where_jiangmen_does(
    seeded: dict[str, int], category_code: str, unit_code: str
) -> None:
    assert _route(category_code) == unit_code


def test_every_role_has_its_group(seeded: dict[str, int]) -> None:
    names = set(Group.objects.values_list("name", flat=True))
    assert {role.value for role in Role} <= names


def test_role_permissions(seeded: dict[str, int]) -> None:
    def perms(role: str) -> set[str]:
        group = Group.objects.get(name=role)
        return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}

    supervisor = perms(Role.SUPERVISOR)
    assert {"routing.change_routingrule", "sla.add_slapolicy", "sla.change_calendarday"} <= supervisor
    assert {"tickets.reveal_customer", "tickets.view_all_tickets", "tickets.change_category"} <= supervisor
    assert "tickets.change_ticket" not in supervisor
    assert not any(p.startswith("auth.") for p in supervisor)

    auditor = perms(Role.AUDITOR)
    assert "audit.view_auditlog" in auditor
    assert "tickets.view_ticket" in auditor
    assert all(p.split(".", 1)[1].startswith("view_") for p in auditor)

    administrator = perms(Role.ADMINISTRATOR)
    assert {"auth.change_group", "org.add_user", "tickets.reveal_customer", "sla.delete_slapolicy"} <= administrator
    assert perms(Role.HOTLINE_AGENT) == set()


def test_org_unit_paths_are_consistent(seeded: dict[str, int]) -> None:
    units = list(OrgUnit.objects.select_related("parent"))
    assert len(units) == len(ORG_UNITS)
    for unit in units:
        if unit.parent is None:
            assert unit.path == f"/{unit.pk}/"
            assert unit.code == "HQ"
        else:
            assert unit.path == f"{unit.parent.path}{unit.pk}/"
            assert unit.depth == unit.parent.depth + 1
    jiangmen = OrgUnit.objects.get(code="JM")
    assert jiangmen.subtree().count() == len(ORG_UNITS) - 2  # all but HQ and the province company


def test_jiangmen_has_one_second_line_room_and_six_branches(seeded: dict[str, int]) -> None:
    second_line = OrgUnit.objects.filter(function=UnitFunction.SECOND_LINE, region="JM")
    assert list(second_line.values_list("code", flat=True)) == ["JM-L2"]
    branches = OrgUnit.objects.filter(code__startswith="JM-BR-", level="centre")
    assert branches.count() == 6
    for branch in branches:
        assert sorted(child.code for child in branch.children.all()) == [f"{branch.code}-CH", f"{branch.code}-CS"]


def test_management_command_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("seed_reference")
    first = capsys.readouterr().out
    assert f"organisation units: {len(ORG_UNITS)} created" in first
    call_command("seed_reference")
    assert "nothing created" in capsys.readouterr().out


# --- the admin on top of the seeded data ---------------------------------------------------------------


@pytest.fixture
def admin_client_with_data(client, seeded):  # type: ignore[no-untyped-def]
    user = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_admin_pages_render(admin_client_with_data) -> None:  # type: ignore[no-untyped-def]
    ticket = _ticket(User.objects.get(username="root"))
    objects = {
        "admin:org_orgunit_change": OrgUnit.objects.get(code="JM-L2").pk,
        "admin:org_user_change": ticket.first_responder_id,
        "admin:tickets_category_change": ticket.category_id,
        "admin:tickets_ticketevent_change": ticket.events.get().pk,
        "admin:sla_slapolicy_change": SlaPolicy.objects.first().pk,
        "admin:sla_businesscalendar_change": BusinessCalendar.objects.first().pk,
        "admin:routing_routingrule_change": RoutingRule.objects.first().pk,
        "admin:customers_customer_change": ticket.customer_id,
    }
    for name, pk in objects.items():
        assert admin_client_with_data.get(reverse(name, args=[pk])).status_code == 200, name
    assert admin_client_with_data.get(reverse("admin:org_user_add")).status_code == 200
    assert admin_client_with_data.get(reverse("admin:tickets_ticket_changelist") + "?region=JM").status_code == 200
    for name in [
        "admin:org_orgunit_changelist",
        "admin:org_user_changelist",
        "admin:tickets_category_changelist",
        "admin:tickets_ticket_changelist",
        "admin:tickets_ticketevent_changelist",
        "admin:audit_auditlog_changelist",
        "admin:sla_slapolicy_changelist",
        "admin:sla_businesscalendar_changelist",
        "admin:sla_calendarday_changelist",
        "admin:routing_routingrule_changelist",
        "admin:customers_customer_changelist",
        "admin:customers_area_changelist",
    ]:
        response = admin_client_with_data.get(reverse(name))
        assert response.status_code == 200, name


def test_admin_cannot_add_tickets_or_audit_records(admin_client_with_data) -> None:  # type: ignore[no-untyped-def]
    assert admin_client_with_data.get(reverse("admin:tickets_ticket_add")).status_code == 403
    assert admin_client_with_data.get(reverse("admin:tickets_ticketevent_add")).status_code == 403
    assert admin_client_with_data.get(reverse("admin:audit_auditlog_add")).status_code == 403


def test_saving_a_calendar_override_bumps_the_calendar_version(admin_client_with_data) -> None:  # type: ignore[no-untyped-def]
    calendar = BusinessCalendar.objects.get(code="workdays")
    version = calendar.version
    response = admin_client_with_data.post(
        reverse("admin:sla_calendarday_add"),
        {"calendar": calendar.pk, "date": "2026-12-24", "is_workday": "", "note": "local holiday"},
    )
    assert response.status_code == 302
    assert CalendarDay.objects.filter(calendar=calendar, date=dt.date(2026, 12, 24), is_workday=False).exists()
    calendar.refresh_from_db()
    assert calendar.version == version + 1


def test_saving_a_calendar_with_an_inline_override_bumps_its_version(admin_client_with_data) -> None:  # type: ignore[no-untyped-def]
    calendar = BusinessCalendar.objects.get(code="workdays-full")
    version = calendar.version
    response = post_admin_change(
        admin_client_with_data, reverse("admin:sla_businesscalendar_change", args=[calendar.pk]),
        {
            "code": calendar.code,
            "name": calendar.name,
            "kind": calendar.kind,
            "work_start": "00:00",
            "work_end": "",
            "days-TOTAL_FORMS": "1",
            "days-INITIAL_FORMS": "0",
            "days-MIN_NUM_FORMS": "0",
            "days-MAX_NUM_FORMS": "1000",
            "days-0-date": "2026-12-26",
            "days-0-is_workday": "on",
            "days-0-note": "make-up working day",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    calendar.refresh_from_db()
    assert calendar.version == version + 1
    assert calendar.days.get().is_workday is True


def _ticket(superuser: User) -> Ticket:
    # Built directly: this test is about the admin, not about the services that normally create tickets.
    now = timezone.now()
    customer = Customer.objects.create(msisdn="13912345678", name="李四", province="GD", region="JM")
    category = Category.objects.get(code="BASIC.CALL.DROP")
    unit = OrgUnit.objects.get(code="JM-CALL")
    ticket = Ticket.objects.create(
        number="JM-20261122-000001",
        province="GD",
        region="JM",
        contact_type=ContactType.COMPLAINT,
        category=category,
        category_root=Category.objects.get(code="BASIC"),
        channel=Channel.HOTLINE,
        customer=customer,
        description="通话经常掉线",
        first_responder=superuser,
        first_responder_unit=unit,
        handler_unit=OrgUnit.objects.get(code="JM-NET-MAINT"),
        committed_at=now,
        due_at=now,
        created_at=now,
        updated_at=now,
    )
    TicketEvent.objects.create(ticket=ticket, seq=1, kind=EventKind.CREATE, actor=superuser, created_at=now)
    return ticket


def test_ticket_change_page_is_read_only(admin_client_with_data) -> None:  # type: ignore[no-untyped-def]
    ticket = _ticket(User.objects.get(username="root"))
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    page = admin_client_with_data.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert "通话经常掉线".encode() in page.content
    assert b"139****5678" in page.content
    assert admin_client_with_data.post(url, {"description": "changed"}).status_code == 403
    ticket.refresh_from_db()
    assert ticket.description == "通话经常掉线"


def test_customer_numbers_are_masked_without_the_reveal_permission(client, seeded) -> None:  # type: ignore[no-untyped-def]
    customer = Customer.objects.create(msisdn="13912345678", name="李四", province="GD", region="JM")
    # A city's auditor: the customer admin lists the customers of the user's region (a user of no unit sees none).
    auditor = User.objects.create_user("auditor1", password="pw-for-tests-only", is_staff=True,
                                       unit=OrgUnit.objects.get(code="JM"))
    auditor.groups.add(Group.objects.get(name=Role.AUDITOR))
    client.force_login(auditor)
    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert page.status_code == 200
    assert b"13912345678" not in page.content
    assert b"139****5678" in page.content
    assert not AuditLog.objects.filter(action="customer.reveal").exists()


def test_revealing_a_customer_in_the_admin_is_audited(client, seeded) -> None:  # type: ignore[no-untyped-def]
    customer = Customer.objects.create(msisdn="13912345678", name="李四", province="GD", region="JM")
    supervisor = User.objects.create_user("supervisor1", password="pw-for-tests-only", is_staff=True,
                                          unit=OrgUnit.objects.get(code="JM"))
    supervisor.groups.add(Group.objects.get(name=Role.SUPERVISOR), Group.objects.get(name=Role.AUDITOR))
    client.force_login(supervisor)
    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert page.status_code == 200
    assert b"13912345678" in page.content
    record = AuditLog.objects.get(action="customer.reveal")
    assert (record.actor, record.object_id) == (supervisor, str(customer.pk))


def test_editing_a_routing_rule_in_the_admin_is_audited(admin_client_with_data) -> None:  # type: ignore[no-untyped-def]
    rule = RoutingRule.objects.get(category__code="MARKETING")
    response = post_admin_change(
        admin_client_with_data, reverse("admin:routing_routingrule_change", args=[rule.pk]),
        {
            "name": rule.name,
            "name_en": rule.name_en,
            "position": "65",
            "is_active": "on",
            "region": "JM",
            "category": rule.category_id,
            "contact_type": "",
            "tier": "",
            "channel": "",
            "branch": "",
            "target_unit": rule.target_unit_id,
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.position == 65
    record = AuditLog.objects.get(action="admin.change", object_type="routing.routingrule")
    assert record.data == {"fields": ["position"]}


def test_a_routing_rule_cannot_target_the_front_line(admin_client_with_data) -> None:  # type: ignore[no-untyped-def]
    response = admin_client_with_data.post(
        reverse("admin:routing_routingrule_add"),
        {
            "name": "错误规则",
            "position": "5",
            "is_active": "on",
            "region": "JM",
            "category": Category.objects.get(code="BASIC").pk,
            "target_unit": OrgUnit.objects.get(code="JM-CALL").pk,
        },
    )
    assert response.status_code == 200  # the form comes back with the error
    assert not RoutingRule.objects.filter(name="错误规则").exists()


def test_big_table_changelists_never_count_past_the_cap(admin_client_with_data, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from loopdesk.audit.admin import CappedCountPaginator
    from loopdesk.audit.services import record_audit

    for _ in range(3):
        record_audit(None, "test.action", OrgUnit.objects.get(code="JM"))
    monkeypatch.setattr(CappedCountPaginator, "CAP", 2)
    page = admin_client_with_data.get(reverse("admin:audit_auditlog_changelist"))
    assert page.status_code == 200
    assert page.context["cl"].result_count == 2
