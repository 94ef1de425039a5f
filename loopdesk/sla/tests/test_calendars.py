"""SLA clocks on business calendars: Chinese public holidays, make-up workdays (调休), overrides, pauses."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from loopdesk.conftest import T0, World
from loopdesk.sla.calendars import SHANGHAI, WorkingTime, national_workday, working_time_for
from loopdesk.sla.models import BusinessCalendar, CalendarDay, CalendarKind, SlaPolicy
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def test_national_holidays_and_make_up_workdays() -> None:
    assert not national_workday(dt.date(2026, 10, 1))  # National Day
    assert not national_workday(dt.date(2026, 10, 7))  # holiday week
    assert national_workday(dt.date(2026, 10, 10))  # a Saturday, worked to make up (调休)
    assert not national_workday(dt.date(2026, 10, 11))  # an ordinary Sunday
    assert not national_workday(dt.date(2027, 2, 8))  # Spring Festival, from the fallback library
    assert national_workday(dt.date(2027, 3, 3))  # an ordinary Wednesday in a year past chinesecalendar


def test_working_hours_skip_the_golden_week_and_count_the_make_up_saturday() -> None:
    wt = WorkingTime(CalendarKind.WORKDAYS, dt.time(9), dt.time(18), {})
    start = at(2026, 9, 30, 17, 0)
    assert wt.add(start, 60) == at(2026, 9, 30, 18, 0)
    assert wt.add(start, 120) == at(2026, 10, 8, 10, 0)  # 1 h on 30 Sep, next working hour is 8 Oct
    assert wt.add(start, 60 + 9 * 60 * 2 + 60) == at(2026, 10, 10, 10, 0)  # 8, 9 Oct, then Saturday 10 Oct
    assert wt.elapsed(at(2026, 9, 30, 9, 0), at(2026, 10, 8, 18, 0)) == 18 * 60


def test_whole_working_days_for_regulator_limits() -> None:
    wt = WorkingTime(CalendarKind.WORKDAYS, dt.time(0), None, {})
    # 5 working days from Friday 25 Sep 2026 (Mid-Autumn): Sep 28, 29, 30, Oct 8, 9 (Sep 26/27 weekend).
    assert wt.add(at(2026, 9, 25, 10, 0), 5 * 24 * 60) == at(2026, 10, 10, 0, 0)


def test_pauses_are_cut_out_of_the_count() -> None:
    wt = WorkingTime.always()
    start = at(2026, 11, 2, 9, 0)
    pause = (start + dt.timedelta(hours=1), start + dt.timedelta(hours=3))
    assert wt.add(start, 120, [pause]) == start + dt.timedelta(hours=4)
    assert wt.add(start, 120, [(start + dt.timedelta(hours=1), None)]) is None  # still paused: no due time
    assert wt.elapsed(start, start + dt.timedelta(hours=5), [pause]) == 180


@pytest.mark.django_db
def test_overrides_win_and_editing_a_calendar_invalidates_the_cache() -> None:
    cal = BusinessCalendar.objects.create(code="local", name="本地", kind=CalendarKind.WORKDAYS)
    assert working_time_for(cal).is_workday(dt.date(2026, 11, 2))
    CalendarDay.objects.create(calendar=cal, date=dt.date(2026, 11, 2), is_workday=False, note="台风停工")
    BusinessCalendar.objects.filter(pk=cal.pk).update(version=cal.version + 1)
    cal.refresh_from_db()
    assert not working_time_for(cal).is_workday(dt.date(2026, 11, 2))


def test_calendar_change_recomputes_open_tickets_from_their_timelines(world: World) -> None:
    workdays = world.calendars["workdays"]
    SlaPolicy.objects.filter(pk=world.policies["default"].pk).update(calendar=workdays)
    # Friday 09:00; 48 h of whole working days → Tuesday 09:00.
    friday = at(2026, 11, 6, 9, 0)
    t = s.do_create_ticket(acting_user=world.user("agent"), now=friday, dispatch=True, **world.ticket_kwargs())
    assert t.overtime_at == at(2026, 11, 10, 9, 0)
    CalendarDay.objects.create(calendar=workdays, date=dt.date(2026, 11, 9), is_workday=False, note="停电")
    BusinessCalendar.objects.filter(pk=workdays.pk).update(version=workdays.version + 1)
    out = io.StringIO()
    call_command("recompute_sla", calendar="workdays-full", stdout=out)
    assert "1 changed" in out.getvalue()
    assert Ticket.objects.get(pk=t.pk).overtime_at == at(2026, 11, 11, 9, 0)


def test_check_timelines_passes_on_service_made_tickets(world: World, capsys) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0)
    call_command("check_timelines")
    assert "0 differ" in capsys.readouterr().out
    Ticket.objects.filter(pk=t.pk).update(status="closed")  # a change that bypassed the services
    with pytest.raises(Exception, match="differ"):
        call_command("check_timelines")
