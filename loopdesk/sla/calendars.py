"""Working time: which minutes an SLA clock counts.

Working days come from `chinesecalendar` (the State Council's holidays *and* make-up workdays, 调休);
for years it does not cover yet, from the `holidays` package's Chinese calendar (public holidays, and its guessed
"observed" days off while the year's notice is not entered; see `WorkingTime.notice_years`);
a calendar's own `CalendarDay` rows override both.

The fallback knows no make-up workdays, so a year past `chinesecalendar` is *covered* only once the
State Council's arrangement has been entered as overrides (`year_covered`); `uncovered_years` lists the
working-day calendars that are not, for the system check (`manage.py check`, loopdesk.sla.W001) and the
calendar admin's warning. See docs/sla.md, "A year chinesecalendar does not know yet".
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable, Iterator
from typing import TypeVar
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

from loopdesk.sla.models import BusinessCalendar, CalendarDay, CalendarKind

logger = logging.getLogger(__name__)

T = TypeVar("T", dt.datetime, int)  # datetimes here, epoch seconds in the bulk generator
SHANGHAI = ZoneInfo("Asia/Shanghai")
FAR_FUTURE_DAYS = 3 * 366  # no clock looks further ahead than this


@functools.lru_cache(maxsize=8192)
def national_workday(day: dt.date) -> bool:
    """Whether `day` is a working day in mainland China, make-up workdays included."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # Year not (yet) covered by chinesecalendar: public holidays from `holidays`; weekends off.
        if day in _holidays_for(day.year):
            return False
        return day.weekday() < 5


@functools.lru_cache(maxsize=8192)
def statutory_holiday(day: dt.date) -> bool:
    """Whether `day` is one of the statutory holidays (《全国年节及纪念日放假办法》) in a year `chinesecalendar`
    does not cover: the fallback's days without its guesses (`holidays` adds "observed" days after a holiday that
    falls on a weekend, which the State Council's notice usually arranges otherwise)."""
    return day in _statutory_for(day.year)


@functools.lru_cache(maxsize=64)
def _statutory_for(year: int) -> holidays.HolidayBase:
    return holidays.China(years=[year], observed=False)


@functools.lru_cache(maxsize=64)
def _holidays_for(year: int) -> holidays.HolidayBase:
    logger.warning(
        "chinesecalendar has no data for %s: working days of %s fall back to public holidays only, without "
        "make-up workdays (调休), unless entered as calendar overrides (docs/sla.md)",
        year,
        year,
    )
    return holidays.China(years=[year])


@functools.lru_cache(maxsize=64)
def library_covers(year: int) -> bool:
    """Whether `chinesecalendar` knows the State Council's arrangement (holidays and make-up days) of `year`."""
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _has_make_up_day(calendar_id: int, year: int) -> bool:
    """Whether the calendar has at least one make-up working day entered for `year`: a Saturday or Sunday
    overridden as a working day. A single day off (a typhoon) does not make a year covered."""
    return CalendarDay.objects.filter(
        calendar_id=calendar_id, date__year=year, is_workday=True, date__week_day__in=(1, 7)
    ).exists()


def year_covered(year: int, calendar: BusinessCalendar | None = None) -> bool:
    """Whether working days of `year` are known, make-up workdays (调休) included: `chinesecalendar` has the
    year, or (for `calendar`) its overrides hold the year's make-up working days. 24×7 calendars always are."""
    if library_covers(year) or (calendar is not None and calendar.kind == CalendarKind.ALWAYS):
        return True
    return calendar is not None and _has_make_up_day(calendar.pk, year)


def china_today() -> dt.date:
    """Today in China: the date whose year and the next `uncovered_years` checks by default."""
    return dt.datetime.now(SHANGHAI).date()


def uncovered_years(today: dt.date | None = None) -> list[tuple[BusinessCalendar, int]]:
    """(calendar, year) for every working-day calendar whose current or next year is not covered."""
    today = today or china_today()
    years = [y for y in (today.year, today.year + 1) if not library_covers(y)]
    if not years:
        return []
    calendars = list(BusinessCalendar.objects.filter(kind=CalendarKind.WORKDAYS).order_by("code"))
    return [(c, y) for y in years for c in calendars if not year_covered(y, c)]


def cut_pauses(
    segments: Iterable[tuple[T, T]], start: T, pauses: Iterable[tuple[T, T | None]]
) -> Iterator[tuple[T, T]]:
    """The parts of `segments` (in order, from `start` on) outside the paused intervals.

    Works on any ordered time values (datetimes here, epoch seconds in the bulk generator). An open
    pause (end None) stops the clock for good: nothing after its start is yielded.
    """
    pending = sorted(p for p in pauses if p[1] is None or p[1] > start)  # type: ignore[operator]
    for seg_start, seg_end in segments:
        cursor = seg_start
        while pending and cursor < seg_end:
            p_start, p_end = pending[0]
            if p_end is not None and p_end <= cursor:
                pending.pop(0)
                continue
            if p_start >= seg_end:
                break
            if p_start > cursor:
                yield cursor, p_start
            if p_end is None:
                return
            cursor = max(cursor, p_end)
            if p_end <= seg_end:
                pending.pop(0)
        if cursor < seg_end:
            yield cursor, seg_end


class WorkingTime:
    """The counting rules of one calendar, with its overrides loaded once."""

    def __init__(self, kind: str, work_start: dt.time, work_end: dt.time | None, overrides: dict[dt.date, bool]):
        self.kind = kind
        self.work_start = work_start
        self.work_end = work_end
        self.overrides = overrides
        # Years chinesecalendar does not know whose State Council notice is entered as overrides (a make-up working
        # day on a Saturday or Sunday, as `year_covered`): the fallback's guessed days off ("observed") do not
        # apply to them, only the statutory holidays and the overrides, so a notice entered in full is all that
        # counts (a guessed day the notice does not give off was a day off nobody could see or had entered).
        self.notice_years = frozenset(day.year for day, workday in overrides.items()
                                      if workday and day.weekday() >= 5 and not library_covers(day.year))

    @classmethod
    def always(cls) -> WorkingTime:
        return cls(CalendarKind.ALWAYS, dt.time(0), None, {})

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.notice_years:
            return day.weekday() < 5 and not statutory_holiday(day)
        return national_workday(day)

    def segments(self, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Working intervals from `start` on, in order, as aware datetimes."""
        if self.kind == CalendarKind.ALWAYS:
            yield start, start + dt.timedelta(days=FAR_FUTURE_DAYS)
            return
        local = start.astimezone(SHANGHAI)
        day = local.date()
        for _ in range(FAR_FUTURE_DAYS):
            if self.is_workday(day):
                seg_start = dt.datetime.combine(day, self.work_start, SHANGHAI)
                if self.work_end is None:
                    seg_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), SHANGHAI)
                else:
                    seg_end = dt.datetime.combine(day, self.work_end, SHANGHAI)
                seg_start = max(seg_start, start)
                if seg_end > seg_start:
                    yield seg_start, seg_end
            day += dt.timedelta(days=1)

    def running(
        self, start: dt.datetime, pauses: list[tuple[dt.datetime, dt.datetime | None]]
    ) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Working intervals from `start` on with the paused intervals cut out. An open pause ends them."""
        return cut_pauses(self.segments(start), start, pauses)

    def add(
        self,
        start: dt.datetime,
        minutes: float,
        pauses: list[tuple[dt.datetime, dt.datetime | None]] = (),  # type: ignore[assignment]
    ) -> dt.datetime | None:
        """The moment `minutes` of counted time after `start`; None while an open pause stops the clock."""
        remaining = dt.timedelta(minutes=minutes)
        for seg_start, seg_end in self.running(start, list(pauses)):
            length = seg_end - seg_start
            if remaining <= length:
                return seg_start + remaining
            remaining -= length
        return None

    def elapsed(
        self,
        start: dt.datetime,
        end: dt.datetime,
        pauses: list[tuple[dt.datetime, dt.datetime | None]] = (),  # type: ignore[assignment]
    ) -> float:
        """Counted minutes between `start` and `end`."""
        total = dt.timedelta()
        if end <= start:
            return 0.0
        for seg_start, seg_end in self.running(start, list(pauses)):
            if seg_start >= end:
                break
            total += min(seg_end, end) - seg_start
        return total.total_seconds() / 60


def working_time_for(calendar: BusinessCalendar | None) -> WorkingTime:
    """The WorkingTime of a calendar, kept with the reference data (`loopdesk.sla.refcache`): valid while no
    calendar, override or other reference row changed, and for this calendar's version. Keyed by id and version
    alone, a calendar deleted and another created with the same id (SQLite hands out the last id again) kept the
    old one's kind and days off."""
    from loopdesk.sla import refcache

    if calendar is None:
        return WorkingTime.always()

    def load() -> WorkingTime:
        overrides = dict(calendar.days.values_list("date", "is_workday"))
        return WorkingTime(calendar.kind, calendar.work_start, calendar.work_end, overrides)

    return refcache.cached(f"working_time:{calendar.pk}:{calendar.version}:{calendar.kind}", load)
