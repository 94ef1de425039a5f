"""System check: a working-day calendar whose current or next year is not covered (loopdesk.sla.W001).

`chinesecalendar` knows a year only once its maintainers have published the State Council's arrangement; past
that, the fallback has no make-up workdays (调休), which would count as days off. `manage.py check` (and every
command that runs the checks: migrate, runserver) warns until the year is entered as calendar overrides.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning
from django.db import DatabaseError


def calendar_years_covered(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from loopdesk.sla.calendars import uncovered_years

    try:
        missing = uncovered_years()
    except (DatabaseError, RuntimeError):
        # No database to read: tables not migrated yet (the checks `migrate` itself runs first), or database
        # access not allowed (pytest-django outside a database test, e.g. Celery's start-up checks).
        return []
    return [
        Warning(
            f"Business calendar {calendar.code!r}: chinesecalendar has no data for {year} and no make-up "
            f"working day (调休) of {year} is entered as an override, so make-up workdays would count as days off.",
            hint=f"Enter the State Council's {year} holidays and make-up working days as calendar overrides "
            "(admin: calendar overrides; docs/sla.md), or upgrade chinesecalendar once it knows the year.",
            obj=calendar,
            id="loopdesk.sla.W001",
        )
        for calendar, year in missing
    ]
