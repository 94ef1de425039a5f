"""Recompute the SLA columns of open tickets from their timelines (after editing a calendar or policy).

The admin schedules the same recomputation on the background worker when a calendar, an override or a policy
is saved; this command runs it by hand (all open tickets, or one calendar's / policy's)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loopdesk.sla.models import BusinessCalendar, SlaPolicy
from loopdesk.sla.recompute import recompute_open_tickets


class Command(BaseCommand):
    help = "Recompute due times of open work orders from their timelines (all, or one calendar's / policy's)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--calendar", help="only tickets whose SLA policy uses this calendar code")
        parser.add_argument("--policy", type=int, help="only tickets of this SLA policy id")
        parser.add_argument("--batch", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        calendar_ids: list[int] = []
        if options["calendar"]:
            calendar_ids = list(BusinessCalendar.objects.filter(code=options["calendar"]).values_list("pk", flat=True))
            if not calendar_ids:
                raise CommandError(f"no calendar with code {options['calendar']!r}")
        if options["batch"] < 1:
            raise CommandError("--batch must be 1 or more.")
        policy_ids: list[int] = []
        if options["policy"] is not None:
            if not SlaPolicy.objects.filter(pk=options["policy"]).exists():
                raise CommandError(f"no SLA policy with id {options['policy']}")
            policy_ids = [options["policy"]]
        result = recompute_open_tickets(calendar_ids=calendar_ids, policy_ids=policy_ids, batch=options["batch"])
        self.stdout.write(f"recomputed {result.total} open work orders, {result.changed} changed")
