"""A small history of work orders, made through the services, shared by the reports tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from loopdesk.conftest import T0, World
from loopdesk.customers.choices import Brand
from loopdesk.reports import rollups
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import CallbackVerdict, Channel, ContactType
from loopdesk.tickets.models import Ticket


def make_history(world: World, start: dt.datetime = T0) -> list[Ticket]:
    """Nine tickets: timely, overtime and problem replies, a first-contact resolution, a return, callbacks."""
    agent, spec, it = world.user("agent"), world.user("specialist"), world.user("it_specialist")
    made = []

    def new(days: float, **kwargs: Any) -> Ticket:
        at = start + dt.timedelta(days=days)
        return s.do_create_ticket(acting_user=agent, now=at, **world.ticket_kwargs(**kwargs))

    def loop(t: Ticket, at: dt.datetime, hours: float, unit: str = "netmaint", verdict: str = "") -> Ticket:
        who = it if unit == "it" else spec
        t = s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units[unit], now=at)
        t = s.do_accept_ticket(acting_user=who, ticket=t, now=at)
        t = s.do_reply_ticket(acting_user=who, ticket=t, resolution="已处理", now=at + dt.timedelta(hours=hours))
        t = s.do_answer_customer(acting_user=agent, ticket=t, answer="答复", now=at + dt.timedelta(hours=hours + 1))
        if verdict:
            t = s.do_callback(acting_user=agent, ticket=t, verdict=verdict, now=at + dt.timedelta(hours=hours + 2))
            if verdict != CallbackVerdict.DISSATISFIED:
                t = s.do_close_ticket(acting_user=agent, ticket=t, now=at + dt.timedelta(hours=hours + 3))
        return t

    for i, (hours, verdict) in enumerate([(5, CallbackVerdict.SATISFIED), (30, CallbackVerdict.SATISFIED),
                                          (50, CallbackVerdict.DISSATISFIED), (80, CallbackVerdict.UNREACHABLE),
                                          (10, "")]):
        t = new(i * 0.5, channel=Channel.HALL if i % 2 else Channel.HOTLINE)
        made.append(loop(t, t.created_at, hours, verdict=verdict))
    bill = new(1, category=world.categories["dispute"], customer=world.customer(brand=Brand.GOTONE))
    made.append(loop(bill, bill.created_at, 3, unit="it", verdict=CallbackVerdict.SATISFIED))
    fcr = new(2, contact_type=ContactType.CONSULTATION)
    fcr = s.do_answer_customer(acting_user=agent, ticket=fcr, answer="解答", resolution="当场解答", now=fcr.created_at)
    made.append(s.do_close_ticket(acting_user=agent, ticket=fcr, now=fcr.created_at + dt.timedelta(minutes=3)))
    returned = new(2.5, contact_type=ContactType.APPEAL)
    returned = s.do_dispatch_ticket(acting_user=agent, ticket=returned, to_unit=world.units["it"],
                                    now=returned.created_at)
    made.append(s.do_return_ticket(acting_user=it, ticket=returned, reason="非本部门", now=returned.created_at))
    made.append(new(3))  # still new
    # Satisfaction surveys: the closed tickets got one each; two answered (5 and 2), and a window-service survey.
    rate_surveys(world, start)
    rollups.fold_pending()  # what the worker does within seconds of each commit
    return made


def rate_surveys(world: World, start: dt.datetime) -> None:
    from loopdesk.surveys import services as surveys
    from loopdesk.surveys.models import Survey, SurveyKind, SurveyStatus

    # This history's surveys only (an earlier period's history may have left some open).
    sent = list(Survey.objects.filter(kind=SurveyKind.TICKET, status=SurveyStatus.OPEN, sent_at__gte=start)
                .order_by("pk"))
    for survey, score in zip(sent, (5, 2), strict=False):
        surveys.do_rate_survey(survey=survey, score=score, via="sms", now=survey.sent_at + dt.timedelta(hours=1))
    window = surveys.do_create_window_survey(acting_user=world.user("agent"), msisdn="13900001111",
                                             channel=Channel.HOTLINE, contact_ref=f"CALL-{start:%m%d}", now=start)
    surveys.do_rate_survey(survey=window, score=4, via="sms", now=start + dt.timedelta(hours=2))


@pytest.fixture(autouse=True)
def _import_dir(settings: Any, tmp_path: Path) -> Path:
    """The import page keeps uploaded files between its steps: in the test's own directory, not var/."""
    settings.LOOPDESK_IMPORT_DIR = tmp_path / "imports"
    return settings.LOOPDESK_IMPORT_DIR


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """The customer count behind 'per 10,000 customers' is cached for an hour (locmem, per process): a test must
    not see the count of an earlier test's customers."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def history(world: World) -> list[Ticket]:
    return make_history(world)


YEAR_BEFORE = T0 - dt.timedelta(days=364)  # Monday 2025-11-03
MONTH_BEFORE = T0 - dt.timedelta(days=28)  # Monday 2026-10-05


def make_full_history(world: World) -> list[Ticket]:
    """make_history in November 2025, October 2026 and November 2026 (the last one returned), plus in November
    2026 a repeat complaint: the first ticket's customer again, same top category, four days later (not
    dispatched). Year-on-year and month-on-month have a base; the repeat rate is not zero."""
    make_history(world, YEAR_BEFORE)
    make_history(world, MONTH_BEFORE)
    made = make_history(world)
    repeat = s.do_create_ticket(acting_user=world.user("agent"), now=T0 + dt.timedelta(days=4),
                                **world.ticket_kwargs(customer=made[0].customer))
    assert repeat.is_repeat
    rollups.fold_pending()
    return [*made, repeat]


@pytest.fixture
def full_history(world: World) -> list[Ticket]:
    return make_full_history(world)
