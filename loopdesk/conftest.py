"""Shared test fixtures: a compact Jiangmen-like world (units, staff in every role, categories,
SLA policies, routing) built through the real models, and a clock the tests move by hand."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import translation

from loopdesk.customers.models import Customer
from loopdesk.org.choices import Role, UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit, User
from loopdesk.routing.models import RoutingRule
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.sla.models import BusinessCalendar, CalendarKind, SlaPolicy
from loopdesk.tickets.choices import Channel, ContactType
from loopdesk.tickets.models import Category


@pytest.fixture(autouse=True)
def _site_language() -> Any:
    """Every test starts in the site's language: a request in English (the locale middleware activates it for
    the thread and leaves it active) must not turn the next test's labels English."""
    translation.deactivate()
    yield
    translation.deactivate()


T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday


def pytest_configure(config: Any) -> None:
    from django.conf import settings

    # Staff are created per test: a slow password hash would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests marked `postgres` need concurrent connections: they run in the PostgreSQL pass of CI."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    selected = [item for item in items if "postgres" not in item.keywords]
    deselected = [item for item in items if "postgres" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def post_admin_change(client: Any, url: str, data: dict[str, Any], **extra: Any) -> Any:
    """Post an admin change form as a browser does after opening it: with the fingerprint of what it showed
    (`loopdesk.core.adminedit`, without which the admin refuses the save as made over someone else's)."""
    page = client.get(url, **extra).content.decode()
    found = re.search(r'name="edit_state" value="([0-9a-f]{64})"', page)
    assert found is not None, f"no edit_state on {url}"
    return client.post(url, {**data, "edit_state": found.group(1)}, **extra)


def staff_client(world: World, key: str, *, language: str | None = None, superuser: bool = False) -> Any:
    """A test client signed in as the world's user `key`, made staff (and superuser when asked), asking for
    `language` ("en", "zh-hans") when given: the admin pages' tests."""
    from django.test import Client

    user = world.users[key]
    user.is_staff = True
    user.is_superuser = user.is_superuser or superuser
    user.save(update_fields=["is_staff", "is_superuser"])
    client = Client(headers={"accept-language": language} if language else None)
    client.force_login(user)
    return client


@pytest.fixture
def allow_loopback_callbacks(settings: Any) -> None:
    """Event callbacks to 127.0.0.1 / ::1 allowed, as a deployment allows them with LOOPDESK_WEBHOOK_ALLOWED_NETWORKS
    (refused by default: loopdesk.tmf.callbacks), for tests that deliver to a real listener on loopback."""
    settings.LOOPDESK_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]


_msisdns = itertools.count(13800000001)


@dataclass
class World:
    units: dict[str, OrgUnit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    policies: dict[str, SlaPolicy] = field(default_factory=dict)
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict)

    def customer(self, **kwargs: Any) -> Customer:
        values = {"msisdn": str(next(_msisdns)), "name": "张三", "province": "GD", "region": "JM",
                  "home_branch": self.units["branch_xh"]}
        values.update(kwargs)
        return Customer.objects.create(**values)

    def user(self, key: str) -> User:
        # Fresh instance: role caches and unit paths as a new request would see them.
        return User.objects.select_related("unit").get(pk=self.users[key].pk)

    def ticket_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "contact_type": ContactType.COMPLAINT,
            "category": self.categories["indoor"],
            "channel": Channel.HOTLINE,
            "description": "客户反映家中室内无信号，已持续三天。",
        }
        values.update(kwargs)
        if "customer" not in values:
            values["customer"] = self.customer()
        return values

    def replied_ticket(self, *, answered: bool = False) -> Any:
        """A complaint the agent registered at T0 and dispatched to network maintenance, accepted an hour later and
        replied ("已处理") at T0 + 2 h by the specialist; answered to the customer at T0 + 3 h when asked."""
        from loopdesk.tickets import services

        hour = dt.timedelta(hours=1)
        t = services.do_create_ticket(acting_user=self.user("agent"), now=T0, dispatch=True,
                                      dispatch_to=self.units["netmaint"], **self.ticket_kwargs())
        t = services.do_accept_ticket(acting_user=self.user("specialist"), ticket=t, now=T0 + hour)
        t = services.do_reply_ticket(acting_user=self.user("specialist"), ticket=t, resolution="已处理",
                                     now=T0 + 2 * hour)
        if answered:
            t = services.do_answer_customer(acting_user=self.user("agent"), ticket=t, answer="已告知",
                                            now=T0 + 3 * hour)
        return t


def _unit(world: World, key: str, name: str, parent: OrgUnit | None, level: str, function: str,
          region: str = "JM") -> OrgUnit:
    unit = OrgUnit.objects.create(code=key.upper(), name=name, name_en=key, parent=parent, level=level,
                                  function=function, province="GD", region=region)
    world.units[key] = unit
    return unit


def _staff(world: World, key: str, unit_key: str, *roles: str) -> User:
    user = User.objects.create_user(username=key, password="pw-" + key, unit=world.units[unit_key],
                                    display_name=key)
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    world.users[key] = user
    return user


def build_world() -> World:
    w = World()
    hq = _unit(w, "hq", "集团总部", None, UnitLevel.HQ, UnitFunction.MANAGEMENT, region="HQ")
    gd = _unit(w, "gd", "广东公司", hq, UnitLevel.PROVINCE, UnitFunction.MANAGEMENT, region="GD")
    jm = _unit(w, "jm", "江门分公司", gd, UnitLevel.CITY, UnitFunction.MANAGEMENT)
    zh = _unit(w, "zh", "珠海分公司", gd, UnitLevel.CITY, UnitFunction.MANAGEMENT, region="ZH")
    csc = _unit(w, "csc", "客户服务中心", jm, UnitLevel.CENTRE, UnitFunction.FRONT_LINE)
    _unit(w, "call", "话务室", csc, UnitLevel.ROOM, UnitFunction.FRONT_LINE)
    _unit(w, "l2", "综援室", csc, UnitLevel.ROOM, UnitFunction.SECOND_LINE)
    branch = _unit(w, "branch_xh", "新会分公司", jm, UnitLevel.CENTRE, UnitFunction.FRONT_LINE)
    _unit(w, "hall_xh", "新会渠道室", branch, UnitLevel.ROOM, UnitFunction.FRONT_LINE)
    net = _unit(w, "net", "网络部", jm, UnitLevel.CENTRE, UnitFunction.SPECIALIST)
    _unit(w, "netmaint", "网络维护中心", net, UnitLevel.ROOM, UnitFunction.SPECIALIST)
    _unit(w, "netopt", "网络优化中心", net, UnitLevel.ROOM, UnitFunction.SPECIALIST)
    mkt = _unit(w, "mkt", "市场经营部", jm, UnitLevel.CENTRE, UnitFunction.SPECIALIST)
    _unit(w, "it", "信息技术中心", net, UnitLevel.ROOM, UnitFunction.SPECIALIST)
    _unit(w, "svcmgmt", "服务管理室", mkt, UnitLevel.ROOM, UnitFunction.MANAGEMENT)
    _unit(w, "zh_call", "珠海话务室", zh, UnitLevel.ROOM, UnitFunction.FRONT_LINE, region="ZH")

    _staff(w, "agent", "call", Role.HOTLINE_AGENT)
    _staff(w, "agent2", "call", Role.HOTLINE_AGENT)
    _staff(w, "clerk", "hall_xh", Role.HALL_CLERK)
    _staff(w, "manager", "hall_xh", Role.ACCOUNT_MANAGER)
    _staff(w, "dispatcher", "l2", Role.DISPATCHER)
    _staff(w, "specialist", "netmaint", Role.SPECIALIST)
    _staff(w, "specialist2", "netmaint", Role.SPECIALIST)
    _staff(w, "optimiser", "netopt", Role.SPECIALIST)
    _staff(w, "it_specialist", "it", Role.SPECIALIST)
    _staff(w, "head", "net", Role.DEPARTMENT_HEAD)
    _staff(w, "supervisor", "svcmgmt", Role.SUPERVISOR)
    _staff(w, "auditor", "jm", Role.AUDITOR)
    _staff(w, "admin", "jm", Role.ADMINISTRATOR)
    _staff(w, "zh_agent", "zh_call", Role.HOTLINE_AGENT)

    def cat(key: str, name: str, parent: str | None = None) -> Category:
        c = Category.objects.create(code=key.upper(), name=name, name_en=key,
                                    parent=w.categories[parent] if parent else None)
        w.categories[key] = c
        return c

    cat("basic", "基础通信")
    cat("coverage", "信号覆盖", "basic")
    cat("indoor", "室内无信号", "coverage")
    cat("calls", "通话质量", "basic")
    cat("billing", "通信费用")
    cat("dispute", "话费争议", "billing")
    cat("other", "其它")

    always = BusinessCalendar.objects.create(code="24x7", name="24×7", kind=CalendarKind.ALWAYS)
    workdays = BusinessCalendar.objects.create(code="workdays-full", name="工作日", kind=CalendarKind.WORKDAYS)
    w.calendars = {"24x7": always, "workdays": workdays}
    w.policies["vip"] = SlaPolicy.objects.create(
        name="VIP", position=10, tier="vip", calendar=always, first_response_minutes=30, hop_reply_minutes=1440,
        resolution_minutes=2880)
    w.policies["default"] = SlaPolicy.objects.create(name="Default", position=1000, calendar=always)

    RoutingRule.objects.create(name="覆盖→网优", position=10, category=w.categories["coverage"],
                               contact_type=ContactType.FAULT, target_unit=w.units["netopt"])
    RoutingRule.objects.create(name="基础通信→网维", position=20, category=w.categories["basic"],
                               target_unit=w.units["netmaint"])
    RoutingRule.objects.create(name="费用→IT", position=30, category=w.categories["billing"],
                               target_unit=w.units["it"])
    return w


@pytest.fixture
def world(db: Any) -> World:
    return build_world()
