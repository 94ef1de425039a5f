"""Recompute the SLA columns of open tickets from their timelines (after editing a calendar or policy)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_recompute_sla


class Command(BaseCommand):
    help = "Recompute due times of open work orders from their timelines (all, or one calendar's / policy's)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--calendar", help="only tickets whose SLA policy uses this calendar code")
        parser.add_argument("--policy", type=int, help="only tickets of this SLA policy id")
        parser.add_argument("--batch", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        qs = Ticket.objects.filter(is_open=True)
        if options["calendar"]:
            qs = qs.filter(sla_policy__calendar__code=options["calendar"])
        if options["policy"]:
            qs = qs.filter(sla_policy_id=options["policy"])
        changed = total = 0
        last_id = 0
        while True:
            ids = list(qs.filter(id__gt=last_id).order_by("id").values_list("id", flat=True)[: options["batch"]])
            if not ids:
                break
            for pk in ids:
                before = Ticket.objects.filter(pk=pk).values_list("due_at", "overtime_at").first()
                after_ticket = do_recompute_sla(ticket=pk)
                total += 1
                if before != (after_ticket.due_at, after_ticket.overtime_at):
                    changed += 1
            last_id = ids[-1]
        self.stdout.write(f"recomputed {total} open work orders, {changed} changed")
