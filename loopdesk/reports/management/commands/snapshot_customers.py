"""`manage.py snapshot_customers`: keep the customer base that "complaints per 10,000 customers" divides by."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loopdesk.reports import customerbase
from loopdesk.reports.models import CustomerBase
from loopdesk.sla.calendars import SHANGHAI


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = ("Keep the customer base as of the end of yesterday (Asia/Shanghai) unless kept already (what the hourly "
            "job does); --day D counts today's customers as the base of day D again; --since D back-fills the month "
            "ends from D's month up to the first base kept with today's customers (months reported before the base "
            "was kept then keep their figure).")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--day", type=_day, help="Count the base as of the end of this day again (YYYY-MM-DD).")
        parser.add_argument("--since", type=_day, help="Back-fill the month ends from this day's month (YYYY-MM-DD).")

    def handle(self, *args: Any, day: dt.date | None = None, since: dt.date | None = None, **options: Any) -> None:
        if day is not None and since is not None:
            raise CommandError("Give --day or --since, not both.")
        if since is not None:
            made = customerbase.backfill(since)
            self.stdout.write(f"Back-filled {len(made)} month end(s): "
                              + (", ".join(b.day.isoformat() for b in made) or "none missing") + ".")
            return
        if day is not None:
            if day >= customerbase.today():
                raise CommandError("The base of today or a later day is counted after it ends.")
            try:
                base = customerbase.take(day)
            except customerbase.KeptMeanwhile:
                kept = CustomerBase.objects.get(day=day)
                total = sum(kept.counts.values_list("customers", flat=True))
                self.stdout.write(f"The customer base as of the end of {day.isoformat()} was kept meanwhile by another "
                                  f"run (the hourly job?), counted at {kept.taken_at.astimezone(SHANGHAI):%H:%M:%S}: "
                                  f"{total:,} customers; it stays. Run again to count it anew.")
                return
        else:
            found = customerbase.take_due()
            if found is None:
                self.stdout.write("Yesterday's customer base is kept already.")
                return
            base = found
        total = sum(base.counts.values_list("customers", flat=True))
        self.stdout.write(f"Kept the customer base as of the end of {base.day.isoformat()}: {total:,} customers.")
