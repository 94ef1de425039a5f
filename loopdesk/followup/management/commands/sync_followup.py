"""`manage.py sync_followup`: build the SLA watches, progress schedules and callback tasks open tickets lack.

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

from loopdesk.followup.models import CallbackTask, FollowupPolicy, SlaWatch
from loopdesk.followup.services import sync_watches
from loopdesk.notify.models import ProgressSchedule
from loopdesk.tickets.choices import Status
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
        called = self._callbacks(FollowupPolicy.current().callback_due_hours)
        self.stdout.write(f"SLA watches for {watched} open tickets; {scheduled} progress schedules created; "
                          f"{called} callback tasks created")

    def _callbacks(self, hours: int) -> int:
        """The callback (回访) the first responder owes on each replied or answered ticket of this cycle."""
        owed = (Ticket.objects.filter(is_open=True, status__in=[Status.REPLIED, Status.ANSWERED],
                                      replied_at__isnull=False)
                .exclude(Exists(CallbackTask.objects.filter(ticket_id=OuterRef("pk"), cycle=OuterRef("reopen_count"))))
                .only("pk", "first_responder_id", "replied_at", "reopen_count"))
        tasks = [CallbackTask(ticket_id=t.pk, cycle=t.reopen_count, assignee_id=t.first_responder_id,
                              due_at=t.replied_at + dt.timedelta(hours=hours), created_at=t.replied_at)
                 for t in owed.iterator(chunk_size=2000)]
        CallbackTask.objects.bulk_create(tasks, batch_size=2000, ignore_conflicts=True)
        return len(tasks)
