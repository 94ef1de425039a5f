"""Human-readable ticket numbers: region + date + sequence, e.g. JM-20261122-000123.

Unique under concurrent creation, and creation never queues behind another transaction for a number:
- PostgreSQL: one sequence per region and day (`tkt_no_jm_20261122`), created on first use. `nextval`
  is not transactional, so concurrent creators never wait for each other (only the day's first
  creations wait for the one that creates the sequence); a rolled-back creation leaves a gap, which is
  fine for a number whose job is to be unique and readable.
- SQLite: writers are serialised by the database anyway; a counter row per region and day.
A new sequence starts after the day's counter row, so numbers continue after bulk-loaded data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from loopdesk.tickets.models import TicketSequence

_SAFE_REGION = re.compile(r"^[A-Za-z0-9]{1,8}$")


def format_numbers(region: str, day: dt.date, values: Iterable[int]) -> list[str]:
    """The numbers of `region` on `day` with these sequence values (the date is formatted once)."""
    prefix = f"{region}-{day:%Y%m%d}-"
    return [f"{prefix}{value:06d}" for value in values]


def format_number(region: str, day: dt.date, value: int) -> str:
    return format_numbers(region, day, (value,))[0]


def next_ticket_number(region: str, day: dt.date) -> str:
    """Take the next number for `region` on `day`. Call inside the transaction that creates the ticket."""
    if connection.vendor == "postgresql" and _SAFE_REGION.match(region):
        return format_number(region, day, _next_from_sequence(region, day))
    return format_number(region, day, _next_from_counter_row(region, day))


def _sequence_name(region: str, day: dt.date) -> str:
    return f"tkt_no_{region.lower()}_{day:%Y%m%d}"


def _next_from_sequence(region: str, day: dt.date) -> int:
    name = _sequence_name(region, day)
    with connection.cursor() as cursor:
        # nextval(NULL) is NULL: a missing sequence is an answer, not an error, so no savepoint is needed.
        cursor.execute("SELECT nextval(to_regclass(%s))", [name])
        value = cursor.fetchone()[0]
        if value is not None:
            return int(value)
        # The day's sequence does not exist yet: create it.
        start = (TicketSequence.objects.filter(region=region, day=day).values_list("last_value", flat=True).first()
                 or 0) + 1
        try:
            with transaction.atomic():
                cursor.execute(f'CREATE SEQUENCE IF NOT EXISTS "{name}" START WITH {int(start)}')
        except IntegrityError:
            pass  # a concurrent creator made the same sequence first (a catalog race PostgreSQL reports so)
        cursor.execute("SELECT nextval(%s)", [name])
        return int(cursor.fetchone()[0])


def _next_from_counter_row(region: str, day: dt.date) -> int:
    for _attempt in range(3):
        updated = TicketSequence.objects.filter(region=region, day=day).update(last_value=F("last_value") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    TicketSequence.objects.create(region=region, day=day, last_value=1)
            except IntegrityError:
                continue  # another creator made the row first: increment it
        return TicketSequence.objects.filter(region=region, day=day).values_list("last_value", flat=True).get()
    raise RuntimeError("could not allocate a ticket number")
