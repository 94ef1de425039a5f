"""SLA clocks on business calendars: Chinese public holidays, make-up workdays (调休), overrides, pauses."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.checks import WARNING
from django.core.management import CommandError, call_command

from loopdesk.conftest import T0, World, post_admin_change
from loopdesk.sla import calendars, checks
from loopdesk.sla.calendars import (
    SHANGHAI,
    WorkingTime,
    _holidays_for,
    library_covers,
    national_workday,
    uncovered_years,
    working_time_for,
    year_covered,
)
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


def test_a_recompute_after_a_crossing_the_sweep_has_not_marked_yet_leaves_the_ticket_workable(world: World) -> None:
    """The due times did not move, but the ticket is past 48 h: the recompute's overtime event and flag are saved
    with the ticket (the event was written and the ticket was not: the next action's event took the same number)."""
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    later = T0 + dt.timedelta(hours=49)
    s.do_recompute_sla(ticket=t.pk, now=later)
    t.refresh_from_db()
    assert t.is_overtime and t.last_event_seq == t.events.count()
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t.pk, now=later)
    assert t.status == "in_progress" and t.events.filter(kind="overtime").count() == 1


def test_check_timelines_passes_on_service_made_tickets(world: World, capsys) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0)
    call_command("check_timelines")
    assert "0 differ" in capsys.readouterr().out
    Ticket.objects.filter(pk=t.pk).update(status="closed")  # a change that bypassed the services
    with pytest.raises(Exception, match="differ"):
        call_command("check_timelines")


# --- years chinesecalendar does not know yet ---------------------------------------------------------------
# chinesecalendar 1.11.0 covers 2004-2026; 2027's make-up workdays (调休) must be entered as overrides.


def test_library_coverage_by_year() -> None:
    assert library_covers(2026)
    assert not library_covers(2027)
    assert year_covered(2026) and not year_covered(2027)


def test_a_year_whose_notice_is_entered_drops_the_fallback_s_guessed_days_off() -> None:
    """The fallback library guesses "observed" days off for 2027+ (2027-02-10, a Wednesday after the Spring Festival
    weekend; 2027-10-05). Once the year's notice is entered as overrides (a make-up Saturday or Sunday), such a
    guessed day is no day off: docs/sla.md says the entered notice makes the calendar independent of the fallback,
    but the guesses kept counting as days off unless each was entered again as a working day."""
    guessed, statutory, ordinary = dt.date(2027, 2, 10), dt.date(2027, 2, 8), dt.date(2027, 3, 3)
    assert not national_workday(guessed) and not national_workday(dt.date(2027, 10, 5))
    unentered = WorkingTime(CalendarKind.WORKDAYS, dt.time(9), dt.time(18), {dt.date(2027, 7, 14): False})
    assert not unentered.is_workday(guessed)  # nothing entered for 2027: the fallback as before
    notice = {dt.date(2027, 2, 20): True, dt.date(2027, 2, 11): False}  # a make-up Saturday, a weekday off
    wt = WorkingTime(CalendarKind.WORKDAYS, dt.time(9), dt.time(18), notice)
    assert wt.is_workday(guessed) and wt.is_workday(dt.date(2027, 10, 5)) and wt.is_workday(ordinary)
    assert not wt.is_workday(statutory)  # the statutory holidays stay days off
    assert wt.is_workday(dt.date(2027, 2, 20)) and not wt.is_workday(dt.date(2027, 2, 11))  # the overrides win
    assert not wt.is_workday(dt.date(2027, 2, 13))  # an ordinary Saturday
    assert wt.is_workday(dt.date(2028, 5, 4)) is national_workday(dt.date(2028, 5, 4))  # other years as before
    # A clock over the guessed days counts them: Tuesday 2027-02-09 17:00 + 2 working hours = Wednesday 10:00
    # (the fallback alone: Tuesday and Wednesday off, Thursday 11:00).
    assert wt.add(at(2027, 2, 9, 17, 0), 120) == at(2027, 2, 10, 10, 0)
    assert unentered.add(at(2027, 2, 9, 17, 0), 120) == at(2027, 2, 11, 11, 0)


@pytest.mark.django_db
def test_a_year_is_covered_by_its_make_up_working_days_not_by_any_override() -> None:
    cal = BusinessCalendar.objects.create(code="local", name="本地", kind=CalendarKind.WORKDAYS)
    always = BusinessCalendar.objects.create(code="always", name="全天", kind=CalendarKind.ALWAYS)
    assert year_covered(2026, cal) and year_covered(2027, always)
    assert not year_covered(2027, cal)
    CalendarDay.objects.create(calendar=cal, date=dt.date(2027, 7, 14), is_workday=False, note="台风停工")
    CalendarDay.objects.create(calendar=cal, date=dt.date(2027, 3, 3), is_workday=True, note="a Wednesday")
    assert not year_covered(2027, cal)  # a day off, or a weekday marked working, is no State Council arrangement
    other = BusinessCalendar.objects.create(code="other", name="其他", kind=CalendarKind.WORKDAYS)
    CalendarDay.objects.create(calendar=other, date=dt.date(2027, 2, 20), is_workday=True, note="调休上班")
    assert not year_covered(2027, cal)  # another calendar's overrides do not count
    CalendarDay.objects.create(calendar=cal, date=dt.date(2027, 2, 20), is_workday=True, note="调休上班")  # Saturday
    assert year_covered(2027, cal) and not year_covered(2028, cal)


@pytest.mark.django_db
def test_uncovered_years_lists_working_day_calendars_for_this_and_next_year() -> None:
    cal = BusinessCalendar.objects.create(code="workdays", name="工作日", kind=CalendarKind.WORKDAYS)
    BusinessCalendar.objects.create(code="24x7", name="全天", kind=CalendarKind.ALWAYS)
    assert uncovered_years(dt.date(2025, 12, 31)) == []  # 2025 and 2026 known to chinesecalendar
    assert uncovered_years(dt.date(2026, 1, 2)) == [(cal, 2027)]  # next year matters: clocks look ahead
    assert uncovered_years(dt.date(2027, 1, 2)) == [(cal, 2027), (cal, 2028)]
    CalendarDay.objects.create(calendar=cal, date=dt.date(2027, 2, 7), is_workday=True, note="调休上班")  # Sunday
    assert uncovered_years(dt.date(2027, 1, 2)) == [(cal, 2028)]


@pytest.mark.django_db
def test_system_check_warns_about_an_uncovered_year(monkeypatch) -> None:
    cal = BusinessCalendar.objects.create(code="workdays", name="工作日", kind=CalendarKind.WORKDAYS)
    monkeypatch.setattr(calendars, "china_today", lambda: dt.date(2026, 12, 4))
    warnings = checks.calendar_years_covered()
    assert [(w.id, w.obj, w.level) for w in warnings] == [("loopdesk.sla.W001", cal, WARNING)]
    assert "2027" in warnings[0].msg and "make-up" in warnings[0].msg
    err = io.StringIO()
    call_command("check", stderr=err)
    assert "loopdesk.sla.W001" in err.getvalue() and "'workdays'" in err.getvalue()
    CalendarDay.objects.create(calendar=cal, date=dt.date(2027, 2, 20), is_workday=True, note="调休上班")
    assert checks.calendar_years_covered() == []


@pytest.mark.django_db
def test_fallback_year_is_logged(caplog) -> None:
    national_workday.cache_clear()
    _holidays_for.cache_clear()
    with caplog.at_level("WARNING", logger="loopdesk.sla.calendars"):
        national_workday(dt.date(2031, 5, 1))
    assert "no data for 2031" in caplog.text and "调休" in caplog.text


def test_admin_calendar_pages_show_the_warning(world: World, client, monkeypatch) -> None:
    monkeypatch.setattr(calendars, "china_today", lambda: dt.date(2026, 12, 4))
    admin = world.user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    cal = world.calendars["workdays"]
    pages = ["/admin/sla/businesscalendar/", f"/admin/sla/businesscalendar/{cal.pk}/change/",
             "/admin/sla/calendarday/"]
    for url in pages:
        page = client.get(url, headers={"accept-language": "en"})
        assert page.status_code == 200
        assert "no make-up working day (调休) of 2027 is entered" in page.content.decode(), url
    page = client.get(pages[0], headers={"accept-language": "zh-hans"})
    assert "尚无 2027 年的数据" in page.content.decode()
    CalendarDay.objects.create(calendar=cal, date=dt.date(2027, 2, 20), is_workday=True, note="调休上班")
    assert "2027" not in client.get(pages[0]).content.decode()


# --- an admin edit recomputes the open tickets on the calendar / policy by itself ---------------------------


def _overtime_ticket_on_workdays(world: World) -> tuple[Ticket, BusinessCalendar]:
    workdays = world.calendars["workdays"]
    SlaPolicy.objects.filter(pk=world.policies["default"].pk).update(calendar=workdays)
    t = s.do_create_ticket(acting_user=world.user("agent"), now=at(2026, 11, 6, 9, 0), dispatch=True,
                           **world.ticket_kwargs())
    assert t.overtime_at == at(2026, 11, 10, 9, 0)  # Friday 09:00 + 48 h of working days
    return t, workdays


def _admin_client(world: World, client: Any) -> Any:
    admin = world.user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    return client


def test_adding_an_override_in_the_admin_recomputes_open_tickets_after_commit(
    world: World, client, django_capture_on_commit_callbacks
) -> None:
    t, workdays = _overtime_ticket_on_workdays(world)
    closed, _ = _overtime_ticket_on_workdays(world)
    Ticket.objects.filter(pk=closed.pk).update(is_open=False)  # a closed ticket keeps its figures
    admin = _admin_client(world, client)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        page = admin.post("/admin/sla/calendarday/add/",
                          {"calendar": workdays.pk, "date": "2026-11-09", "is_workday": "", "note": "台风停工"},
                          headers={"accept-language": "zh-hans"}, follow=True)
    assert page.status_code == 200
    assert len(callbacks) == 1  # one background job for the edit
    assert "1 张未结工单的时限正在后台重新计算" in page.content.decode()
    assert Ticket.objects.get(pk=t.pk).overtime_at == at(2026, 11, 11, 9, 0)  # the Monday is a day off now
    assert Ticket.objects.get(pk=closed.pk).overtime_at == at(2026, 11, 10, 9, 0)
    assert t.events.filter(kind="sla_recomputed").count() == 1


def test_an_override_on_a_24x7_calendar_is_a_field_error(world: World, client) -> None:
    """A 24×7 calendar counts every minute and ignores overrides: a typhoon day entered on it was saved and had no
    effect on any clock."""
    always = world.calendars["24x7"]
    page = _admin_client(world, client).post("/admin/sla/calendarday/add/", {
        "calendar": always.pk, "date": "2026-11-09", "is_workday": "", "note": "台风停工"},
        headers={"accept-language": "zh-hans"})
    assert page.status_code == 200
    assert "24×7" in page.context["adminform"].form.non_field_errors()[0]
    assert "24×7" in page.content.decode()
    assert not CalendarDay.objects.filter(calendar=always).exists()


def test_a_rolled_back_or_unrelated_edit_schedules_nothing(world: World, client,
                                                          django_capture_on_commit_callbacks) -> None:
    t, workdays = _overtime_ticket_on_workdays(world)
    other = BusinessCalendar.objects.create(code="other", name="其他", kind=CalendarKind.WORKDAYS)
    admin = _admin_client(world, client)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        admin.post("/admin/sla/calendarday/add/",
                   {"calendar": other.pk, "date": "2026-11-09", "is_workday": "", "note": "停电"})
    assert CalendarDay.objects.filter(calendar=other).count() == 1
    assert callbacks == []  # no open ticket is on that calendar
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        page = admin.post("/admin/sla/calendarday/add/", {"calendar": workdays.pk, "date": "not a date"})
    assert page.status_code == 200 and callbacks == []  # the form error: nothing saved, nothing scheduled
    assert Ticket.objects.get(pk=t.pk).overtime_at == at(2026, 11, 10, 9, 0)


def test_editing_a_policy_in_the_admin_recomputes_its_open_tickets(
    world: World, client, django_capture_on_commit_callbacks
) -> None:
    t, _ = _overtime_ticket_on_workdays(world)
    policy = SlaPolicy.objects.get(pk=world.policies["default"].pk)
    admin = _admin_client(world, client)
    form = admin.get(f"/admin/sla/slapolicy/{policy.pk}/change/").context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items()
            if name in form.fields and not form.fields[name].disabled}
    data.update(overtime_minutes=72 * 60, is_active="on")
    for name in ("contact_type", "category", "tier", "priority", "channel"):
        data[name] = data.get(name) or ""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        page = post_admin_change(admin, f"/admin/sla/slapolicy/{policy.pk}/change/", data,
                                 headers={"accept-language": "en"}, follow=True)
    assert page.status_code == 200, page.content.decode()[:2000]
    assert len(callbacks) == 1
    assert "The due times of 1 open work orders are being recomputed in the background." in page.content.decode()
    assert Ticket.objects.get(pk=t.pk).overtime_at == at(2026, 11, 11, 9, 0)  # 72 h of working days


@pytest.mark.parametrize(("options", "message"), [
    ({"policy": 0}, "no SLA policy with id 0"), ({"policy": 999999}, "no SLA policy with id 999999"),
    ({"batch": 0}, "--batch"), ({"batch": -1}, "--batch"),
])
def test_recompute_command_refuses_an_unknown_policy_or_a_batch_below_one(world: World, options: dict[str, int],
                                                                          message: str) -> None:
    """--policy 0 recomputed every open work order (0 read as no policy given), an unknown id reported 0 quietly;
    --batch 0 recomputed nothing and said so, --batch -1 was a traceback."""
    with pytest.raises(CommandError, match=message):
        call_command("recompute_sla", stdout=io.StringIO(), **options)


def test_recompute_command_refuses_an_unknown_calendar(world: World) -> None:
    with pytest.raises(CommandError, match="no calendar"):
        call_command("recompute_sla", calendar="nope")


@pytest.mark.parametrize(("start", "end"), [("18:00", "09:00"), ("09:00", "09:00"), ("09:00", "00:00")])
def test_a_working_day_ending_before_it_starts_is_a_field_error(world: World, client, start: str,
                                                                 end: str) -> None:
    workdays = world.calendars["workdays"]
    admin = _admin_client(world, client)
    form = {"code": workdays.code, "name": workdays.name, "kind": workdays.kind, "work_start": start,
            "work_end": end, "days-TOTAL_FORMS": "0", "days-INITIAL_FORMS": "0", "days-MIN_NUM_FORMS": "0",
            "days-MAX_NUM_FORMS": "1000"}
    page = post_admin_change(admin, f"/admin/sla/businesscalendar/{workdays.pk}/change/", form,
                             headers={"accept-language": "zh-hans"})
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["work_end"] == [
        "工作日结束时间必须晚于开始时间；如需计至当天 24:00（午夜），请将结束时间留空。"]
    workdays.refresh_from_db()
    assert workdays.work_end is None and workdays.work_start == dt.time(0, 0)
    form["work_end"] = "17:30"
    form["work_start"] = "08:30"
    assert post_admin_change(admin, f"/admin/sla/businesscalendar/{workdays.pk}/change/", form).status_code == 302
    workdays.refresh_from_db()
    assert (workdays.work_start, workdays.work_end) == (dt.time(8, 30), dt.time(17, 30))


def test_the_calendar_page_says_what_an_empty_end_counts(world: World, client) -> None:
    """The end's help read "Empty: the whole working day counts." while its error said "until midnight": an empty
    end counts from the start time to 24:00. Both now say so, in English and in Chinese."""
    admin = _admin_client(world, client)
    url = f"/admin/sla/businesscalendar/{world.calendars['workdays'].pk}/change/"
    english = admin.get(url, headers={"accept-language": "en"}).content.decode()
    assert "Empty: until midnight (24:00) at the end of the day, from the start time above." in english
    assert "the whole working day counts" not in english
    assert "s clock starts at this time (00:00: at the start of the day)." in english
    chinese = admin.get(url, headers={"accept-language": "zh-hans"}).content.decode()
    assert "留空：从上面的开始时间计至当天 24:00（午夜）。" in chinese
    form = {"code": "workdays", "name": "工作日", "kind": "workdays", "work_start": "09:00", "work_end": "00:00",
            "days-TOTAL_FORMS": "0", "days-INITIAL_FORMS": "0", "days-MIN_NUM_FORMS": "0",
            "days-MAX_NUM_FORMS": "1000"}
    page = post_admin_change(admin, url, form, headers={"accept-language": "en"})
    assert page.context["adminform"].form.errors["work_end"] == [
        "The working day must end after it starts; to count until midnight (24:00), leave the end empty."]


def test_the_calendar_list_shows_24_hour_times(world: World, client) -> None:
    """The English list read "midnight" for a day starting at 00:00, "8:30 a.m." / "5:30 p.m.", and "-" for a day
    counted until its end."""
    admin = _admin_client(world, client)
    world.calendars["workdays"].work_start, world.calendars["workdays"].work_end = dt.time(8, 30), dt.time(17, 30)
    world.calendars["workdays"].save()
    html = admin.get("/admin/sla/businesscalendar/", headers={"accept-language": "en"}).content.decode()
    assert "midnight" not in html and "a.m." not in html and "p.m." not in html
    assert '<td class="field-starts">08:30</td><td class="field-ends">17:30</td>' in html
    assert '<td class="field-starts">00:00</td><td class="field-ends">24:00</td>' in html
    assert "Working day starts" in html


@pytest.mark.parametrize("field", ["resolution_minutes", "hop_reply_minutes", "callback_minutes"])
def test_a_time_limit_longer_than_the_calendar_counts_is_a_field_error(world: World, client, field: str) -> None:
    """Clocks look up to three years ahead: a limit beyond (2,000,000 minutes, a typo for 2,000) left every due
    time empty and registering a work order under the policy failed (its committed time could not be computed)."""
    policy = SlaPolicy.objects.get(pk=world.policies["default"].pk)
    changes = {field: 2_000_000, "overtime_minutes": 2_000_000, "problem_minutes": 2_000_000}
    response = post_admin_change(_admin_client(world, client), f"/admin/sla/slapolicy/{policy.pk}/change/",
                                 _policy_form(policy, **changes), headers={"accept-language": "en"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "calendar" in errors[field][0] and "overtime_minutes" in errors, errors
    assert SlaPolicy.objects.get(pk=policy.pk).version == policy.version


def test_working_hours_too_short_for_the_policies_on_the_calendar_are_a_field_error(world: World, client) -> None:
    """One minute a working day cannot count a 72-hour limit within the clocks' three years: every work order
    under the policy would have failed to register."""
    workdays = world.calendars["workdays"]
    SlaPolicy.objects.filter(pk=world.policies["default"].pk).update(calendar=workdays)
    form = {"code": workdays.code, "name": workdays.name, "kind": workdays.kind, "work_start": "09:00",
            "work_end": "09:01", "days-TOTAL_FORMS": "0", "days-INITIAL_FORMS": "0", "days-MIN_NUM_FORMS": "0",
            "days-MAX_NUM_FORMS": "1000"}
    page = post_admin_change(_admin_client(world, client), f"/admin/sla/businesscalendar/{workdays.pk}/change/",
                             form, headers={"accept-language": "en"})
    assert page.status_code == 200
    assert "4320 minutes" in page.context["adminform"].form.errors["work_end"][0]
    workdays.refresh_from_db()
    assert workdays.work_end is None


def _policy_form(policy: SlaPolicy, **changes: Any) -> dict[str, Any]:
    form = {"name": policy.name, "position": policy.position, "is_active": "on", "contact_type": "",
            "category": "", "tier": "", "priority": "", "channel": "", "calendar": policy.calendar_id,
            "first_response_minutes": policy.first_response_minutes, "hop_reply_minutes": policy.hop_reply_minutes,
            "resolution_minutes": policy.resolution_minutes, "overtime_minutes": policy.overtime_minutes,
            "problem_minutes": policy.problem_minutes, "callback_minutes": policy.callback_minutes,
            "warn_before_minutes": policy.warn_before_minutes}
    form.update(changes)
    return form


def test_the_callback_time_limit_is_editable_in_the_admin(world: World, client) -> None:
    policy = SlaPolicy.objects.get(pk=world.policies["default"].pk)
    admin = _admin_client(world, client)
    page = admin.get(f"/admin/sla/slapolicy/{policy.pk}/change/").content.decode()
    assert 'name="callback_minutes"' in page
    response = post_admin_change(admin, f"/admin/sla/slapolicy/{policy.pk}/change/",
                                 _policy_form(policy, callback_minutes=1440))
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.callback_minutes == 1440


@pytest.mark.parametrize("changes, field", [
    ({"overtime_minutes": 4320, "problem_minutes": 2880}, "problem_minutes"),
    ({"hop_reply_minutes": 0}, "hop_reply_minutes"),
    ({"first_response_minutes": 0}, "first_response_minutes"),
])
def test_time_limits_that_make_no_sense_are_field_errors(world: World, client, changes: dict[str, int],
                                                         field: str) -> None:
    policy = SlaPolicy.objects.get(pk=world.policies["default"].pk)
    before = (policy.overtime_minutes, policy.problem_minutes, policy.hop_reply_minutes, policy.version)
    admin = _admin_client(world, client)
    response = post_admin_change(admin, f"/admin/sla/slapolicy/{policy.pk}/change/", _policy_form(policy, **changes),
                          headers={"accept-language": "zh-hans"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    policy.refresh_from_db()
    assert (policy.overtime_minutes, policy.problem_minutes, policy.hop_reply_minutes, policy.version) == before


@pytest.mark.django_db
def test_a_new_calendar_that_gets_a_deleted_ones_id_is_not_counted_by_the_old_rules() -> None:
    """The per-process copy of a calendar's rules was keyed by (id, version) only: a calendar deleted and another
    created with the same id (SQLite hands out the last id again; a rolled-back test too) kept the old one's kind
    and days off."""
    old = BusinessCalendar.objects.create(code="old", name="旧", kind=CalendarKind.WORKDAYS)
    CalendarDay.objects.create(calendar=old, date=dt.date(2026, 11, 2), is_workday=False, note="台风停工")
    old.refresh_from_db()
    assert not working_time_for(old).is_workday(dt.date(2026, 11, 2))
    pk, version = old.pk, old.version
    old.delete()
    new = BusinessCalendar.objects.create(pk=pk, code="new", name="新", kind=CalendarKind.ALWAYS)
    BusinessCalendar.objects.filter(pk=pk).update(version=version)
    new.refresh_from_db()
    assert (new.pk, new.version) == (pk, version)
    counted = working_time_for(new)
    assert counted.kind == CalendarKind.ALWAYS and counted.overrides == {}


def test_the_bulk_clock_counts_a_working_day_ending_on_seconds_like_the_live_clock() -> None:
    """The generator's and legacy import's FastClock must count what WorkingTime counts: a working day entered as
    ending at 17:30:30 (the admin takes seconds) lost its last 30 seconds there, so bulk-loaded due times were
    earlier than the ones a recompute gives."""
    from loopdesk.tickets.bulk import DAY, LOCAL_OFFSET, FastClock

    wt = WorkingTime(CalendarKind.WORKDAYS, dt.time(8, 30, 15), dt.time(17, 30, 30), {})
    start = at(2026, 11, 2, 17, 0)  # a Monday
    first = (int(start.timestamp()) + LOCAL_OFFSET) // DAY
    fast = FastClock(wt, first - 1, first + 30)
    for minutes in (30, 31, 60, 9 * 60, 10 * 60):
        expected = wt.add(start, minutes)
        assert expected is not None
        assert fast.add(int(start.timestamp()), minutes, []) == int(expected.timestamp()), minutes
    end = at(2026, 11, 4, 12, 0)
    assert fast.elapsed(int(start.timestamp()), int(end.timestamp()), []) == wt.elapsed(start, end)


def _calendar_form(calendar: BusinessCalendar, **changes: str) -> dict[str, str]:
    form = {"code": calendar.code, "name": calendar.name, "kind": calendar.kind, "work_start": "00:00",
            "work_end": "", "days-TOTAL_FORMS": "0", "days-INITIAL_FORMS": "0", "days-MIN_NUM_FORMS": "0",
            "days-MAX_NUM_FORMS": "1000"}
    form.update(changes)
    return form


def test_a_calendar_with_overrides_cannot_become_24x7_nor_get_them_on_the_calendar_page(world: World,
                                                                                         client) -> None:
    """docs/sla.md: overrides belong to working-day calendars, a 24×7 calendar refuses them. The override page
    refused them, but the calendar page did not: turning a working-day calendar with a typhoon day into 24×7 kept
    the day (listed, counted, and without effect), and a new 24×7 calendar took overrides in its inline rows."""
    workdays = world.calendars["workdays"]
    typhoon = CalendarDay.objects.create(calendar=workdays, date=dt.date(2026, 11, 9), is_workday=False, note="台风")
    admin = _admin_client(world, client)
    url = f"/admin/sla/businesscalendar/{workdays.pk}/change/"
    row = {"days-INITIAL_FORMS": "1", "days-TOTAL_FORMS": "1", "days-0-id": str(typhoon.pk),
           "days-0-calendar": str(workdays.pk), "days-0-date": "2026-11-09", "days-0-is_workday": "",
           "days-0-note": "台风"}
    page = post_admin_change(admin, url, _calendar_form(workdays, kind=CalendarKind.ALWAYS, **row),
                             headers={"accept-language": "zh-hans"})
    assert page.status_code == 200
    assert "请删除这些调整" in str(page.context["inline_admin_formsets"][0].formset.non_form_errors())
    assert "请删除这些调整" in page.content.decode()
    workdays.refresh_from_db()
    assert workdays.kind == CalendarKind.WORKDAYS
    # Deleting the overrides in the same save is fine.
    page = post_admin_change(admin, url, _calendar_form(workdays, kind=CalendarKind.ALWAYS, **row,
                                                        **{"days-0-DELETE": "on"}))
    assert page.status_code == 302
    workdays.refresh_from_db()
    assert workdays.kind == CalendarKind.ALWAYS and not workdays.days.exists()
    # A new 24×7 calendar with an override row: refused, nothing created.
    new = BusinessCalendar(code="new24", name="新全天", kind=CalendarKind.ALWAYS)
    page = admin.post("/admin/sla/businesscalendar/add/", _calendar_form(new, **{
        "days-TOTAL_FORMS": "1", "days-0-date": "2026-11-10", "days-0-is_workday": "", "days-0-note": "台风"}))
    assert page.status_code == 200
    assert not BusinessCalendar.objects.filter(code="new24").exists()
