"""`manage.py sync_followup`: build the SLA watches and progress schedules of open tickets that have none.

Tickets written without the services (bulk imports, `generate_data`, `load_demo`) never passed the ticket-event
listeners; this gives them what the listeners would have. Idempotent; safe to run while the system is in use.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from loopdesk.followup.models import FollowupPolicy, SlaWatch
from loopdesk.followup.services import sync_watches
from loopdesk.notify.models import ProgressSchedule
from loopdesk.tickets.models import Ticket


class Command(BaseCommand):
    help = "Create SLA watches and progress schedules for open tickets that have none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=2000)

    def handle(self, *args: Any, batch: int, **options: Any) -> None:
        now = timezone.now()
        policy = FollowupPolicy.current()
        every = dt.timedelta(hours=policy.progress_every_hours)
        types = policy.progress_types()
        missing = (Ticket.objects.filter(is_open=True)
                   .exclude(Exists(SlaWatch.objects.filter(ticket_id=OuterRef("pk"))))
                   .select_related("sla_policy").order_by("pk"))
        last, watched, scheduled = 0, 0, 0
        while True:
            chunk = list(missing.filter(pk__gt=last)[:batch])
            if not chunk:
                break
            with transaction.atomic():
                for ticket in chunk:
                    sync_watches(ticket, None)
                    watched += 1
                    if ticket.contact_type in types and ticket.answered_at is None:
                        _obj, created = ProgressSchedule.objects.get_or_create(
                            ticket=ticket, defaults={"next_at": max(ticket.created_at + every, now)})
                        scheduled += created
            last = chunk[-1].pk
        self.stdout.write(f"SLA watches for {watched} open tickets; {scheduled} progress schedules created")
