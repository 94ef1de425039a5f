"""Human-readable ticket numbers: region + date + sequence, e.g. JM-20261122-000123.

Unique under concurrent creation: the per-(region, day) counter row is incremented inside the
creating transaction, so a second creator waits for the first one's commit.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F

from loopdesk.tickets.models import TicketSequence


def next_ticket_number(region: str, day: dt.date) -> str:
    """Take the next number for `region` on `day`. Call inside the transaction that creates the ticket."""
    for _attempt in range(3):
        updated = TicketSequence.objects.filter(region=region, day=day).update(last_value=F("last_value") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    TicketSequence.objects.create(region=region, day=day, last_value=1)
            except IntegrityError:
                continue  # another creator made the row first: increment it
        value = TicketSequence.objects.filter(region=region, day=day).values_list("last_value", flat=True).get()
        return f"{region}-{day:%Y%m%d}-{value:06d}"
    raise RuntimeError("could not allocate a ticket number")
